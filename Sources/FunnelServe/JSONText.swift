/// A JSON writer for the server's responses: keys in the order written, floats in their shortest round-trip
/// form (`Float.description`, so a client parsing a score as Float32 gets the model's bits), non-finite as null.
struct JSONText {
    private(set) var text = ""
    private var needsComma = false

    init() { text.reserveCapacity(256) }

    private mutating func separate() {
        if needsComma { text += "," }
        needsComma = true
    }

    mutating func object(_ body: (inout JSONText) -> Void) {
        separate()
        text += "{"
        needsComma = false
        body(&self)
        text += "}"
        needsComma = true
    }

    mutating func array<S: Sequence>(_ elements: S, _ element: (inout JSONText, S.Element) -> Void) {
        separate()
        text += "["
        needsComma = false
        for value in elements { element(&self, value) }
        text += "]"
        needsComma = true
    }

    /// `"key":` followed by what `value` writes.
    mutating func field(_ key: String, _ value: (inout JSONText) -> Void) {
        separate()
        appendQuoted(key)
        text += ":"
        needsComma = false
        value(&self)
        needsComma = true
    }

    mutating func field(_ key: String, _ value: String?) { field(key) { $0.string(value) } }
    mutating func field(_ key: String, _ value: Int?) { field(key) { $0.raw(value.map(String.init) ?? "null") } }
    mutating func field(_ key: String, _ value: Bool) { field(key) { $0.raw(value ? "true" : "false") } }
    mutating func field(_ key: String, _ value: Double) { field(key) { $0.raw(value.isFinite ? "\(value)" : "null") } }

    mutating func string(_ value: String?) {
        separate()
        if let value { appendQuoted(value) } else { text += "null" }
    }

    mutating func float(_ value: Float) { raw(value.isFinite ? value.description : "null") }

    private mutating func raw(_ literal: String) {
        separate()
        text += literal
    }

    private mutating func appendQuoted(_ value: String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
