import FunnelModels

extension BalancingMethod {
    /// The short names of the methods (each with its defaults), as the command line and run files write them.
    public static let names = ["fixed", "uncertainty", "gradnorm", "pcgrad", "metabalance", "htlnet"]

    /// The method called `name` (case-insensitive; see `names`) with its default settings.
    public init(named name: String) throws {
        switch name.lowercased() {
        case "fixed": self = .fixedWeights
        case "uncertainty": self = .uncertaintyWeighting
        case "gradnorm": self = .gradNormDefault
        case "pcgrad": self = .pcGradDefault
        case "metabalance": self = .metaBalanceDefault
        case "htlnet": self = .htlnet(adjustment: HTLNetGradientAdjustment(), coreTask: nil)
        default:
            throw RunConfigurationError.invalid("unknown balancing '\(name)' (\(Self.names.joined(separator: ", ")))")
        }
    }

    /// A method from a run file: a name (`pcgrad`) or the full Codable form (`{pcGrad: {reduction: sum, …}}`).
    public init(json: JSONValue) throws {
        if case .string(let name) = json {
            try self.init(named: name)
        } else {
            self = try json.decode(as: BalancingMethod.self)
        }
    }
}
