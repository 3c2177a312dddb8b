/// A column of the input, by name (`income_50k`) or by 0-based position (`41`), as written in a schema.
public enum ColumnReference: Codable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral,
                             ExpressibleByIntegerLiteral {
    case name(String)
    case position(Int)

    public init(stringLiteral value: String) { self = .name(value) }
    public init(integerLiteral value: Int) { self = .position(value) }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let position = try? container.decode(Int.self) {
            self = .position(position)
        } else {
            self = .name(try container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .name(let name): try container.encode(name)
        case .position(let position): try container.encode(position)
        }
    }

    public var description: String {
        switch self {
        case .name(let name): return "'\(name)'"
        case .position(let position): return "#\(position)"
        }
    }

    /// The 0-based position of this column among `names` (`count` columns in all).
    func resolve(in names: [String], count: Int, schema: String, usedBy user: String) throws -> Int {
        switch self {
        case .position(let position):
            guard position >= 0 && position < count else {
                throw DataError.schema(schema, "\(user): column position \(position) is outside 0..<\(count)")
            }
            return position
        case .name(let name):
            guard let index = names.firstIndex(of: name) else {
                let known = names.isEmpty ? "the file has no header and the schema no `columns` list" : "columns: \(names.joined(separator: ", "))"
                throw DataError.schema(schema, "\(user): unknown column '\(name)' (\(known))")
            }
            return index
        }
    }
}
