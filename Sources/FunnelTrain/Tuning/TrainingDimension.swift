import FunnelModels

/// The training settings a search can vary besides a model's configuration keys.
public enum TrainingDimension: String, CaseIterable, Sendable {
    /// `optimizer.learningRate`.
    case learningRate
    /// `optimizer.weightDecay`.
    case weightDecay
    /// The loss-balancing method, by name (`BalancingMethod.names`).
    case balancing

    /// The default range: learning rate log-uniform on [1e-4, 1e-2], weight decay one of 0, 1e-6, 1e-5, 1e-4, and for
    /// more than one task the balancing methods that fit any model (fixed, uncertainty, GradNorm, PCGrad, MetaBalance).
    static func defaultDimensions(taskCount: Int) -> [String: SearchDimension] {
        var dimensions: [String: SearchDimension] = [
            learningRate.rawValue: .logUniform(low: 1e-4, high: 1e-2),
            weightDecay.rawValue: .choice([0, 1e-6, 1e-5, 1e-4].map(JSONValue.number)),
        ]
        if taskCount > 1 {
            dimensions[balancing.rawValue] = .choice(["fixed", "uncertainty", "gradnorm", "pcgrad", "metabalance"].map(JSONValue.string))
        }
        return dimensions
    }

    /// This setting's value in `training` (the value trial 0 takes when the dimension contains it).
    func value(in training: TrainingConfiguration) throws -> JSONValue {
        switch self {
        case .learningRate: return .number(Self.decimal(training.optimizer.learningRate))
        case .weightDecay: return .number(Self.decimal(training.optimizer.weightDecay))
        case .balancing:
            let name = try BalancingMethod.names.first { try BalancingMethod(named: $0) == training.balancing }
            return try name.map(JSONValue.string) ?? JSONValue(encoding: training.balancing)
        }
    }

    /// The Double whose shortest decimal is the Float's (0.001, not 0.0010000000474974513).
    private static func decimal(_ value: Float) -> Double { Double("\(value)")! }

    /// `training` with this setting set to `value`.
    func apply(_ value: JSONValue, to training: inout TrainingConfiguration) throws {
        switch (self, value) {
        case (.learningRate, .number(let rate)): training.optimizer.learningRate = Float(rate)
        case (.weightDecay, .number(let decay)): training.optimizer.weightDecay = Float(decay)
        case (.balancing, _): training.balancing = try BalancingMethod(json: value)
        default: throw SearchSpaceError.invalid(rawValue, "expects a number, got \(value.compactText)")
        }
    }
}
