import Foundation

/// A JSON document as a value: model configurations in registries and run files, kept as JSON so that a
/// partial configuration can be merged over a model's defaults.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON value of an encodable value.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// Parses a JSON document.
    public init(data: Data) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Decodes a value of type `T` from this JSON.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: data())
    }

    /// The JSON text (keys sorted, so equal values give equal bytes).
    public func data(prettyPrinted: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return try encoder.encode(self)
    }

    /// `overrides` merged into this value: objects key by key (recursively), anything else replaced. A key of
    /// `overrides` that this object lacks is an error (a misspelt option must not be silently ignored).
    /// `path` names the position in error messages.
    public func merging(_ overrides: JSONValue, path: String = "") throws -> JSONValue {
        guard case .object(var base) = self, case .object(let changes) = overrides else { return overrides }
        for (key, change) in changes {
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard let current = base[key] else {
                throw JSONMergeError.unknownKey(keyPath, known: base.keys.sorted())
            }
            base[key] = try current.merging(change, path: keyPath)
        }
        return .object(base)
    }
}

/// A partial configuration named an option the defaults do not have.
public enum JSONMergeError: Error, CustomStringConvertible, Equatable {
    case unknownKey(String, known: [String])

    public var description: String {
        switch self {
        case let .unknownKey(key, known): "unknown configuration key '\(key)' (known: \(known.joined(separator: ", ")))"
        }
    }
}
