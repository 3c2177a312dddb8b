/// How a delimited text file is written: separator, quoting, header, spaces and missing-value tokens.
///
/// Defaults are RFC 4180 CSV with a header: `,` between fields, `"` quotes with `""` for a quote inside a quoted
/// field, CRLF or LF line ends, and the empty field as the only missing value.
public struct CSVDialect: Codable, Equatable, Sendable {
    /// The one-byte field separator: `","`, `"\t"` (TSV), `";"`, `"|"`.
    public var delimiter: String
    /// The one-byte quote character, or nil when fields are never quoted.
    public var quote: String?
    /// Whether the first record holds the column names.
    public var header: Bool
    /// Whether blanks right after a delimiter are dropped (Census-Income's `, ` separator).
    public var skipInitialSpace: Bool
    /// Field texts (compared after `skipInitialSpace`) that mean "no value". Numeric columns take the feature's
    /// fill value there, or fail; categorical columns treat them per the feature's `missing` setting.
    public var missingValues: [String]
    /// The most physical lines one quoted field may span. A quote opened and never closed would otherwise swallow
    /// the rest of the file as one field; past this bound the record is malformed and reading resumes on the next
    /// line after the opening quote's (so `badRows: skip` loses only that line).
    public var maxQuotedLines: Int

    public init(delimiter: String = ",", quote: String? = "\"", header: Bool = true, skipInitialSpace: Bool = false,
                missingValues: [String] = [""], maxQuotedLines: Int = 64) {
        self.delimiter = delimiter
        self.quote = quote
        self.header = header
        self.skipInitialSpace = skipInitialSpace
        self.missingValues = missingValues
        self.maxQuotedLines = maxQuotedLines
    }

    /// Tab-separated values with a header.
    public static let tsv = CSVDialect(delimiter: "\t")

    enum CodingKeys: String, CodingKey, CaseIterable { case delimiter, quote, header, skipInitialSpace, missingValues, maxQuotedLines }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = CSVDialect()
        delimiter = try c.decodeIfPresent(String.self, forKey: .delimiter) ?? defaults.delimiter
        quote = c.contains(.quote) ? try c.decodeIfPresent(String.self, forKey: .quote) : defaults.quote
        header = try c.decodeIfPresent(Bool.self, forKey: .header) ?? defaults.header
        skipInitialSpace = try c.decodeIfPresent(Bool.self, forKey: .skipInitialSpace) ?? defaults.skipInitialSpace
        missingValues = try c.decodeIfPresent([String].self, forKey: .missingValues) ?? defaults.missingValues
        maxQuotedLines = try c.decodeIfPresent(Int.self, forKey: .maxQuotedLines) ?? defaults.maxQuotedLines
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(delimiter, forKey: .delimiter)
        // Written even when nil: an absent key means the default quote.
        if let quote { try c.encode(quote, forKey: .quote) } else { try c.encodeNil(forKey: .quote) }
        try c.encode(header, forKey: .header)
        try c.encode(skipInitialSpace, forKey: .skipInitialSpace)
        try c.encode(missingValues, forKey: .missingValues)
        try c.encode(maxQuotedLines, forKey: .maxQuotedLines)
    }

    /// Checks that the delimiter and quote are single bytes and differ, and that `maxQuotedLines` ≥ 1.
    func validate(schemaName: String) throws {
        do { try RangeCheck.atLeast(1, maxQuotedLines, "format.maxQuotedLines") } catch {
            throw DataError.schema(schemaName, "\(error)")
        }
        guard delimiter.utf8.count == 1 else { throw DataError.schema(schemaName, "delimiter must be one byte, got \"\(delimiter)\"") }
        if let quote {
            guard quote.utf8.count == 1, quote != delimiter else {
                throw DataError.schema(schemaName, "quote must be one byte other than the delimiter, got \"\(quote)\"")
            }
        }
    }

    var delimiterByte: UInt8 { delimiter.utf8.first! }
    var quoteByte: UInt8? { quote?.utf8.first }
}

/// A coding key for any string, used to find keys a type does not know.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws when the object being decoded has a key that `Keys` does not list (a typo in a schema must not be
    /// silently ignored).
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let known = Set(Keys.allCases.map(\.stringValue))
        let container = try self.container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath,
                debugDescription: "unknown key '\(unknown.stringValue)'; known keys: \(Keys.allCases.map(\.stringValue).joined(separator: ", "))"))
        }
    }
}
