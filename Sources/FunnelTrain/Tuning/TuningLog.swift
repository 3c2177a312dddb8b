import Foundation
import FunnelData
import FunnelModels

/// `trials.jsonl`: the header line, then one line per finished trial and final run, in the order they finished. Each
/// append rewrites the file through a temporary file and a rename, so a killed tune leaves whole lines only; `resume`
/// reads them back and the search skips what they hold.
final class TuningLog {
    let url: URL
    private var lines: [Data]
    private(set) var trials: [String: TrialRecord] = [:]
    private(set) var finals: [String: FinalRecord] = [:]

    /// Opens the log at `url` for a search whose header is `header`. An existing log is continued with `resume` (its
    /// header must equal `header`: a different search cannot continue it) and refused without.
    init(url: URL, header: JSONValue, resume: Bool) throws {
        self.url = url
        lines = [try Self.encoder.encode(TuningLogLine(header: header))]
        guard FileManager.default.fileExists(atPath: url.path) else {
            try save()
            return
        }
        guard resume else {
            throw TuningError.invalid("\(url.path) exists: pass --resume to continue that tune, or choose another --out")
        }
        let text = try Data(contentsOf: url)
        let raw = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (number, line) in raw.enumerated() where !line.isEmpty {
            let decoded: TuningLogLine
            do { decoded = try Self.decoder.decode(TuningLogLine.self, from: Data(line)) } catch {
                if number == raw.count - 1 { break }  // a torn last line: that trial runs again
                throw TuningError.invalid("\(url.lastPathComponent):\(number + 1): not a tune record: \(error)")
            }
            if number == 0 {
                guard let saved = decoded.header else { throw TuningError.invalid("\(url.lastPathComponent):1: no header") }
                if saved != header {
                    throw TuningError.invalid("\(url.path) was written by a different tune (\(Self.difference(saved, header))); "
                        + "rerun with its settings or choose another --out")
                }
                continue
            }
            if let trial = decoded.trial { trials[Self.key(trial.model, trial.trial, trial.rung)] = trial }
            if let final = decoded.final { finals[Self.key(final.model, final.seed)] = final }
            lines.append(Data(line))
        }
    }

    /// The recorded trial of `model`, `trial` and `rung`, if any.
    func trial(_ model: String, _ trial: Int, rung: Int) -> TrialRecord? { trials[Self.key(model, trial, rung)] }

    /// The recorded final run of `model` with `seed`, if any.
    func final(_ model: String, seed: UInt64) -> FinalRecord? { finals[Self.key(model, seed)] }

    func append(_ record: TrialRecord) throws {
        trials[Self.key(record.model, record.trial, record.rung)] = record
        lines.append(try Self.encoder.encode(TuningLogLine(trial: record)))
        try save()
    }

    func append(_ record: FinalRecord) throws {
        finals[Self.key(record.model, record.seed)] = record
        lines.append(try Self.encoder.encode(TuningLogLine(final: record)))
        try save()
    }

    private func save() throws {
        try OutputFile.write(Data(lines.joined(separator: [UInt8(ascii: "\n")])) + Data("\n".utf8), to: url, overwrite: true)
    }

    private static func key(_ parts: CustomStringConvertible...) -> String { parts.map(\.description).joined(separator: "\u{1F}") }

    /// The first top-level key whose value differs between two headers.
    private static func difference(_ a: JSONValue, _ b: JSONValue) -> String {
        guard case .object(let x) = a, case .object(let y) = b else { return "header" }
        let key = Set(x.keys).union(y.keys).sorted().first { x[$0] != y[$0] }
        return key.map { "its \($0) differs" } ?? "header"
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }()
}

/// A tune that cannot start or continue.
public struct TuningError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public static func invalid(_ message: String) -> TuningError { TuningError(message: message) }

    public var description: String { message }
}
