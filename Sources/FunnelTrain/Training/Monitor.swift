/// A scalar to early-stop on, parsed from text: a weighted sum of terms, each `task.metric` (one task's
/// metric), `mean(metric)` (the mean over tasks reporting that metric) or `metric` alone for a single-task
/// run. Examples: `mean(auc)`, `ctcvr.auc`, `amount.loss`, `0.5*ctr.auc + 0.5*ctcvr.auc`.
///
/// Whether larger is better follows from the metric names (AUC, GAUC, Gini, Spearman: larger; losses and
/// errors: smaller); mixing the two directions is an error.
public struct Monitor: Equatable, Sendable, CustomStringConvertible {
    public struct Term: Equatable, Sendable {
        public var coefficient: Double
        /// Task name, or nil for the mean over tasks.
        public var task: String?
        public var metric: String
    }

    public let terms: [Term]
    public let higherIsBetter: Bool
    public let description: String

    /// Metrics where larger values are better.
    public static let increasingMetrics: Set<String> = ["auc", "gauc", "gini", "spearman", "accuracy", "cvr_auc", "ctcvr_auc"]

    public init(_ text: String) throws {
        description = text
        var parsed: [Term] = []
        for raw in text.replacingOccurrences(of: " ", with: "").split(separator: "+") {
            var coefficient = 1.0, body = Substring(raw)
            if let star = body.firstIndex(of: "*") {
                guard let value = Double(body[..<star]) else { throw MonitorError.malformed(text, String(raw)) }
                coefficient = value
                body = body[body.index(after: star)...]
            }
            if body.hasPrefix("mean("), body.hasSuffix(")") {
                parsed.append(Term(coefficient: coefficient, task: nil, metric: String(body.dropFirst(5).dropLast())))
            } else if let dot = body.lastIndex(of: ".") {
                parsed.append(Term(coefficient: coefficient, task: String(body[..<dot]), metric: String(body[body.index(after: dot)...])))
            } else if !body.isEmpty {
                parsed.append(Term(coefficient: coefficient, task: nil, metric: String(body)))
            } else {
                throw MonitorError.malformed(text, String(raw))
            }
        }
        guard !parsed.isEmpty else { throw MonitorError.malformed(text, text) }
        let directions = Set(parsed.map { Self.increasingMetrics.contains($0.metric) })
        guard directions.count == 1 else { throw MonitorError.mixedDirections(text) }
        terms = parsed
        higherIsBetter = directions.first!
    }

    /// The monitor's value on evaluation results `[task: [metric: value]]`.
    public func value(of results: [String: [String: Double]]) throws -> Double {
        try terms.reduce(0) { total, term in
            if let task = term.task {
                guard let value = results[task]?[term.metric] else {
                    throw MonitorError.missing(description, "\(task).\(term.metric)", available: Self.names(results))
                }
                return total + term.coefficient * value
            }
            let values = results.values.compactMap { $0[term.metric] }
            guard !values.isEmpty else {
                throw MonitorError.missing(description, term.metric, available: Self.names(results))
            }
            return total + term.coefficient * values.reduce(0, +) / Double(values.count)
        }
    }

    /// Whether `candidate` improves on `best` by more than `minDelta`.
    public func improves(_ candidate: Double, on best: Double?, minDelta: Double) -> Bool {
        guard let best else { return candidate.isFinite }
        return higherIsBetter ? candidate > best + minDelta : candidate < best - minDelta
    }

    private static func names(_ results: [String: [String: Double]]) -> [String] {
        results.flatMap { task, metrics in metrics.keys.map { "\(task).\($0)" } }.sorted()
    }
}

public enum MonitorError: Error, CustomStringConvertible {
    case malformed(String, String)
    case mixedDirections(String)
    case missing(String, String, available: [String])

    public var description: String {
        switch self {
        case let .malformed(text, term): return "monitor '\(text)': cannot read term '\(term)'"
        case let .mixedDirections(text):
            return "monitor '\(text)' mixes metrics where larger is better with metrics where smaller is better"
        case let .missing(text, name, available):
            return "monitor '\(text)': no value '\(name)'; available: \(available.joined(separator: ", "))"
        }
    }
}
