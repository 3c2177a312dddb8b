import Foundation

/// Request bodies built from CSV text: categorical features as JSON strings, `dense*` features as JSON numbers
/// with the CSV's literal text (what a client would send), and the scores read back from a response as the
/// literal text of each number (parsed as Float32, no detour through Double).
enum RequestBodies {
    static func predict(header: [String], rows: [[String]], features: [String], requestID: String = "test",
                        common: [String: String] = [:]) -> Data {
        func value(_ name: String, _ text: String) -> String { name.hasPrefix("dense") ? text : "\"\(text)\"" }
        let rowTexts = rows.map { fields in
            "{" + features.filter { common[$0] == nil }.map { name in "\"\(name)\":\(value(name, fields[header.firstIndex(of: name)!]))" }
                .joined(separator: ",") + "}"
        }
        let commonText = common.map { "\"\($0.key)\":\(value($0.key, $0.value))" }.joined(separator: ",")
        return Data(#"{"request_id":"\#(requestID)","common":{\#(commonText)},"rows":[\#(rowTexts.joined(separator: ","))]}"#.utf8)
    }

    /// The numbers of `"output":[…]` in a predict response body, as Float32 parsed from their text.
    static func scores(_ body: String, output: String) -> [Float]? {
        guard let start = body.range(of: "\"\(output)\":[") else { return nil }
        let rest = body[start.upperBound...]
        guard let end = rest.firstIndex(of: "]") else { return nil }
        return rest[..<end].split(separator: ",").map { Float(String($0)) ?? .nan }
    }
}
