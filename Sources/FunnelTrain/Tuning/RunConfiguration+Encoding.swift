import Foundation
import FunnelData
import FunnelModels
import Yams

extension RunConfiguration {
    /// The run file's JSON form, which `init(json:)` reads back to an equal configuration. Balancing methods equal to a
    /// named method's defaults are written by name.
    public func jsonDocument() throws -> JSONValue {
        var object: [String: JSONValue] = ["models": .array(try models.map { choice in
            guard case .object(var fields) = try JSONValue(encoding: choice) else { return try JSONValue(encoding: choice) }
            fields["balancing"] = try choice.balancing.map(Self.written)
            return .object(fields)
        })]
        guard case .object(var training) = try JSONValue(encoding: training) else { preconditionFailure("a training configuration encodes as an object") }
        training["balancing"] = try Self.written(self.training.balancing)
        object["training"] = .object(training)
        object["seeds"] = try JSONValue(encoding: seeds)
        if let data { object["data"] = try JSONValue(encoding: data) }
        if let output { object["output"] = .string(output) }
        return .object(object)
    }

    /// The run file as YAML (keys sorted, integers without exponents).
    public func yaml() throws -> String {
        try Yams.serialize(node: Self.node(try jsonDocument()))
    }

    /// The YAML node of a JSON value; strings that YAML would read as another type are quoted.
    private static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null")
        case .bool(let flag): return Node(flag ? "true" : "false")
        case .number(let x): return Node(x.rounded() == x && abs(x) < 0x1p53 ? String(Int64(x)) : "\(x)")
        case .string(let text):
            let ambiguous = Double(text) != nil || ["", "~", "null", "true", "false", "yes", "no", "on", "off"].contains(text.lowercased())
            return Node(text, Tag(.str), ambiguous ? .doubleQuoted : .plain)
        case .array(let items): return Node(items.map(node))
        case .object(let object): return Node(object.keys.sorted().map { (Node($0), node(object[$0]!)) })
        }
    }

    private static func written(_ method: BalancingMethod) throws -> JSONValue {
        try BalancingMethod.names.first { try BalancingMethod(named: $0) == method }.map(JSONValue.string) ?? JSONValue(encoding: method)
    }
}

extension DataSpecification {
    /// This specification with its relative paths (which resolve against `base`, nil: the current directory) rewritten
    /// to resolve against `directory` instead (where a run file that names it is written).
    public func relocated(from base: URL?, to directory: URL) -> DataSpecification {
        func move(_ path: String) -> String {
            if path.hasPrefix("/") { return path }
            let target = (base ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).appendingPathComponent(path)
            let to = target.standardizedFileURL.pathComponents, from = directory.standardizedFileURL.pathComponents
            let shared = zip(to, from).prefix { $0 == $1 }.count
            return (Array(repeating: "..", count: from.count - shared) + to.dropFirst(shared)).joined(separator: "/")
        }
        var moved = self
        moved.schema = schema.map(move)
        moved.dataDirectory = dataDirectory.map(move)
        return moved
    }
}
