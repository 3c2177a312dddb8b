import Foundation

/// A problem with input data or a schema, located as precisely as it is known: file, 1-based line, 0-based
/// column position (as in the schema) and column name.
///
/// The description is one line, e.g.
/// `census-income.data:1234: column 5 (wage_per_hour): cannot parse "abc" as a number`.
public struct DataError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, for programmatic handling (and for counting skipped rows).
    public enum Kind: String, Codable, Sendable {
        /// A record has a different number of fields than the header or the schema's column list.
        case fieldCount
        /// A numeric column holds text that is not a number.
        case number
        /// Broken quoting: an unterminated quoted field, or text after a closing quote.
        case quoting
        /// A missing value where the schema gives no fill value.
        case missingValue
        /// A label value the task's derivation cannot map (not 0/1, not in the positive/negative sets).
        case label
        /// A funnel relation is violated (a step is positive where its parent is not).
        case funnel
        /// A sample weight is negative.
        case weight
        /// The schema itself is invalid (unknown column, bad option, ...).
        case schema
        /// A file cannot be opened, read or decompressed.
        case io
    }

    public var kind: Kind
    /// File name (last path component) or another source label such as `request`.
    public var file: String
    /// 1-based line where the record starts, if known.
    public var line: Int?
    /// 0-based column position, if known.
    public var column: Int?
    /// Column name, if known.
    public var columnName: String?
    /// What is wrong, without the location.
    public var message: String

    public init(_ kind: Kind, file: String, line: Int? = nil, column: Int? = nil, columnName: String? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.columnName = columnName
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let column {
            text += "column \(column)"
            if let columnName { text += " (\(columnName))" }
            text += ": "
        }
        return text + message
    }

    public var errorDescription: String? { description }

    /// A schema error in `file` (the schema's name).
    static func schema(_ file: String, _ message: String) -> DataError { DataError(.schema, file: file, message: message) }
}

/// What to do with a row that cannot be read or encoded.
public enum BadRowPolicy: String, Codable, Sendable {
    /// Stop at the first bad row and throw its `DataError` (default).
    case fail
    /// Skip the row, count it in a `BadRowReport`, and go on.
    case skip
}

/// Rows skipped under `BadRowPolicy.skip`: how many, by kind, and the first few errors verbatim.
public struct BadRowReport: Equatable, Sendable {
    public private(set) var count = 0
    public private(set) var countsByKind: [DataError.Kind: Int] = [:]
    /// The first `exampleLimit` errors.
    public private(set) var examples: [DataError] = []
    public static let exampleLimit = 10

    public init() {}

    mutating func record(_ error: DataError) {
        count += 1
        countsByKind[error.kind, default: 0] += 1
        if examples.count < Self.exampleLimit { examples.append(error) }
    }

    mutating func merge(_ other: BadRowReport) {
        count += other.count
        for (kind, n) in other.countsByKind { countsByKind[kind, default: 0] += n }
        examples.append(contentsOf: other.examples.prefix(Self.exampleLimit - examples.count))
    }
}
