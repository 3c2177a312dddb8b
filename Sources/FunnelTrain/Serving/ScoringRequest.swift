// Foundation-free on purpose: this file compiles on its own into the libFuzzer harness (Fuzz/ScoringRequestFuzz.swift).

/// A raw feature value as a scoring request carries it: text, a JSON number kept as its literal text (so it is
/// read by the same number rules as a CSV field), or null (missing).
public enum RawValue: Equatable, Sendable {
    case text(String)
    case number(String)
    case null

    /// The value as a CSV field would hold it; nil for null.
    public var text: String? {
        switch self {
        case .text(let text), .number(let text): return text
        case .null: return nil
        }
    }
}

/// One `feature: value` pair of a request.
public struct RawField: Equatable, Sendable {
    public var name: String
    public var value: RawValue

    public init(name: String, value: RawValue) {
        self.name = name
        self.value = value
    }
}

/// What a scoring request says, decoded but not yet checked against a model:
/// `{"request_id"?: string, "common"?: {feature: value}, "rows": [{feature: value}], "tasks"?: [string]}`.
public struct ScoringRequest: Equatable, Sendable {
    public var requestID: String?
    /// Shared values (user, context) merged into every row; a row's own value wins.
    public var common: [RawField]
    /// Per-candidate values, in request order.
    public var rows: [[RawField]]
    /// The outputs to return (nil: all).
    public var tasks: [String]?

    public init(requestID: String? = nil, common: [RawField] = [], rows: [[RawField]], tasks: [String]? = nil) {
        self.requestID = requestID
        self.common = common
        self.rows = rows
        self.tasks = tasks
    }

    /// Decodes the JSON body `bytes`. Refuses malformed JSON, a value that is not a string, number or null, a
    /// number that is not finite (`1e999`), a repeated feature in one object, and more than `rowLimit` rows, each
    /// with a `ScoringError` naming the row index (0-based) and the feature where it has them. Unknown top-level
    /// keys are ignored. Never traps, whatever the bytes.
    public static func decode(json bytes: [UInt8], rowLimit: Int) throws(ScoringError) -> ScoringRequest {
        var parser = JSONScanner(bytes)
        var request = ScoringRequest(rows: [])
        var sawRows = false
        try parser.object { key, parser throws(ScoringError) in
            switch key {
            case "request_id": request.requestID = try parser.string(what: "request_id")
            case "common": request.common = try parser.fields(row: nil)
            case "tasks":
                var tasks: [String] = []
                try parser.array(what: "tasks") { parser throws(ScoringError) in tasks.append(try parser.string(what: "a task name")) }
                request.tasks = tasks
            case "rows":
                sawRows = true
                try parser.array(what: "rows") { parser throws(ScoringError) in
                    guard request.rows.count < rowLimit else {
                        throw ScoringError(.tooManyRows, row: request.rows.count, "more than \(rowLimit) rows in one request")
                    }
                    request.rows.append(try parser.fields(row: request.rows.count))
                }
            default: try parser.skipValue(depth: 0)
            }
        }
        try parser.end()
        guard sawRows else { throw ScoringError(.malformedJSON, "the body has no \"rows\" array") }
        return request
    }
}

/// A recursive-descent reader of the JSON a request may hold; positions in messages are byte offsets.
struct JSONScanner {
    private let bytes: [UInt8]
    private var position = 0
    private static let maximumDepth = 64

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private func malformed(_ message: String) -> ScoringError {
        ScoringError(.malformedJSON, "malformed JSON at byte \(position): \(message)")
    }

    private mutating func skipSpace() {
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x0D || bytes[position] == 0x09 {
            position += 1
        }
    }

    private mutating func peek() -> UInt8? {
        skipSpace()
        return position < bytes.count ? bytes[position] : nil
    }

    private mutating func expect(_ byte: UInt8) throws(ScoringError) {
        guard peek() == byte else { throw malformed("expected '\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    /// Only whitespace may follow the top-level value.
    mutating func end() throws(ScoringError) {
        if peek() != nil { throw malformed("text after the top-level object") }
    }

    /// Reads an object, calling `member` with each key while positioned at its value.
    mutating func object(_ member: (String, inout JSONScanner) throws(ScoringError) -> Void) throws(ScoringError) {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { position += 1; return }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a key") }
            let key = try rawString()
            try expect(UInt8(ascii: ":"))
            try member(key, &self)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return
            default: throw malformed("expected ',' or '}'")
            }
        }
    }

    /// Reads an array, calling `element` positioned at each element; `what` names it when it is not an array.
    mutating func array(what: String, _ element: (inout JSONScanner) throws(ScoringError) -> Void) throws(ScoringError) {
        guard peek() == UInt8(ascii: "[") else { throw ScoringError(.wrongType, "\(what): expected an array") }
        position += 1
        if peek() == UInt8(ascii: "]") { position += 1; return }
        while true {
            try element(&self)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return
            default: throw malformed("expected ',' or ']'")
            }
        }
    }

    mutating func string(what: String) throws(ScoringError) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw ScoringError(.wrongType, "\(what): expected a string") }
        return try rawString()
    }

    /// An object of `feature: value` pairs (`row` nil for the common block).
    mutating func fields(row: Int?) throws(ScoringError) -> [RawField] {
        let place = row.map { "row \($0)" } ?? "common"
        guard peek() == UInt8(ascii: "{") else { throw ScoringError(.wrongType, row: row, "\(place): expected an object of feature values") }
        var fields: [RawField] = []
        try object { name, parser throws(ScoringError) in
            if fields.contains(where: { $0.name == name }) {
                throw ScoringError(.malformedJSON, row: row, feature: name, "\(place): feature '\(name)' appears twice")
            }
            fields.append(RawField(name: name, value: try parser.value(row: row, feature: name)))
        }
        return fields
    }

    /// A feature value: string, finite number or null.
    private mutating func value(row: Int?, feature: String) throws(ScoringError) -> RawValue {
        let place = (row.map { "row \($0)" } ?? "common") + ", feature '\(feature)'"
        switch peek() {
        case UInt8(ascii: "\""): return .text(try rawString())
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            throw ScoringError(.wrongType, row: row, feature: feature, "\(place): expected a string, a number or null, found a boolean")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw ScoringError(.wrongType, row: row, feature: feature, "\(place): expected a string, a number or null, found \(bytes[position] == UInt8(ascii: "{") ? "an object" : "an array")")
        case let byte? where byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")):
            let text = try number()
            guard let parsed = Double(text), parsed.isFinite else {
                throw ScoringError(.invalidNumber, row: row, feature: feature, "\(place): \(text) is not a finite number")
            }
            return .number(text)
        default: throw malformed("expected a value")
        }
    }

    /// Skips any JSON value (an unknown top-level key's), refusing nesting deeper than `maximumDepth`.
    mutating func skipValue(depth: Int) throws(ScoringError) {
        guard depth < Self.maximumDepth else { throw malformed("nested deeper than \(Self.maximumDepth) levels") }
        switch peek() {
        case UInt8(ascii: "\""): _ = try rawString()
        case UInt8(ascii: "{"): try object { _, parser throws(ScoringError) in try parser.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try array(what: "value") { parser throws(ScoringError) in try parser.skipValue(depth: depth + 1) }
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        default: _ = try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws(ScoringError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw malformed("expected \(word)") }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] { throw malformed("expected \(word)") }
        position += count
    }

    /// A number's literal text, checked against JSON's grammar: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    private mutating func number() throws(ScoringError) -> String {
        let start = position
        func digits(_ scanner: inout JSONScanner) -> Int {
            let first = scanner.position
            while scanner.position < scanner.bytes.count, scanner.bytes[scanner.position] >= UInt8(ascii: "0"),
                  scanner.bytes[scanner.position] <= UInt8(ascii: "9") { scanner.position += 1 }
            return scanner.position - first
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else { throw malformed("invalid number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw malformed("invalid number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw malformed("invalid number") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A string at `position` (which holds its opening quote), escapes decoded.
    private mutating func rawString() throws(ScoringError) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flush(_ scanner: JSONScanner, upTo end: Int) {
            scalars.append(contentsOf: String(decoding: scanner.bytes[runStart..<end], as: UTF8.self).unicodeScalars)
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                flush(self, upTo: position)
                position += 1
                return String(scalars)
            }
            if byte < 0x20 { throw malformed("control character in a string") }
            guard byte == UInt8(ascii: "\\") else { position += 1; continue }
            flush(self, upTo: position)
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800 && code < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw malformed("unpaired surrogate")
                    }
                    position += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw malformed("unpaired surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw malformed("unpaired surrogate") }
                scalars.append(scalar)
            default: throw malformed("invalid escape")
            }
            runStart = position
        }
        throw malformed("unterminated string")
    }

    private mutating func hex4() throws(ScoringError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw malformed("short \\u escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw malformed("invalid \\u escape")
            }
            code = code << 4 | digit
            position += 1
        }
        return code
    }
}
