import Foundation
import FunnelData

/// The metrics of one task over its evaluation space: an ordered list of name → value.
public struct TaskMetrics: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var value: Double
    }

    /// A requested metric that is undefined on this data, with the reason.
    public struct Undefined: Codable, Equatable, Sendable {
        public var name: String
        public var reason: String
    }

    public var task: String
    public var kind: TaskKind
    /// Number of rows in the evaluation space.
    public var rows: Int
    /// Share of positive labels (binary tasks).
    public var positiveRate: Double?
    /// Values in the order requested.
    public var entries: [Entry]
    public var undefined: [Undefined]
    /// Diagnostics that do not stop the evaluation (e.g. constant predictions).
    public var warnings: [String]

    public init(task: String, kind: TaskKind, rows: Int, positiveRate: Double? = nil, entries: [Entry] = [],
                undefined: [Undefined] = [], warnings: [String] = []) {
        self.task = task
        self.kind = kind
        self.rows = rows
        self.positiveRate = positiveRate
        self.entries = entries
        self.undefined = undefined
        self.warnings = warnings
    }

    /// The value of metric `name`, or nil when it was not computed or is undefined.
    public subscript(name: String) -> Double? { entries.first { $0.name == name }?.value }

    /// The value of `metric`.
    public subscript(metric: MetricName) -> Double? { self[metric.rawValue] }

    /// Metric names in order.
    public var names: [String] { entries.map(\.name) }

    mutating func append(_ name: String, _ value: Double?, reason: @autoclosure () -> String = "") {
        if let value { entries.append(Entry(name: name, value: value)) } else { undefined.append(Undefined(name: name, reason: reason())) }
    }
}

/// The metrics of every task of one evaluation, with the settings they were computed under.
public struct MetricReport: Codable, Equatable, Sendable {
    public var tasks: [TaskMetrics]
    public var options: MetricOptions

    public init(tasks: [TaskMetrics], options: MetricOptions) {
        self.tasks = tasks
        self.options = options
    }

    /// The metrics of task `name`.
    public subscript(task name: String) -> TaskMetrics? { tasks.first { $0.task == name } }

    /// The mean AUC over tasks that report one: the default early-stopping monitor (metrics.md §11).
    public var meanAUC: Double? {
        let values = tasks.compactMap { $0[MetricName.auc] }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// One line naming the settings a reader needs to compare numbers (logloss ε, NRMSE/NMAE normaliser, Gini
    /// convention, GAUC weights, sample weights).
    public var settingsDescription: String {
        "logloss ε = \(options.loglossEpsilon) (probabilities clipped); NRMSE/NMAE ÷ \(options.normalization == .mean ? "mean(y)" : "population std(y)"); "
            + "Gini: \(options.gini.rawValue); GAUC ω = \(options.groupWeighting.rawValue); "
            + (options.useSampleWeights ? "sample-weighted" : "unweighted")
    }

    /// A Markdown table: one row per task, one column per metric (in first-seen order), `—` where a task has no
    /// value; then the settings and any undefined metrics and warnings as a list.
    public func markdownTable(digits: Int = 4) -> String {
        var columns: [String] = []
        for task in tasks { for name in task.names where !columns.contains(name) { columns.append(name) } }
        var lines = ["| task | rows | " + columns.joined(separator: " | ") + " |",
                     "|---|---:|" + String(repeating: "---:|", count: columns.count)]
        for task in tasks {
            let cells = columns.map { name in task[name].map { Self.format($0, name: name, digits: digits) } ?? "—" }
            lines.append("| \(task.task) | \(task.rows) | " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append("Settings: " + settingsDescription + ".")
        for task in tasks {
            for item in task.undefined { lines.append("- \(task.task): \(item.name) undefined (\(item.reason))") }
            for warning in task.warnings { lines.append("- \(task.task): warning: \(warning)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func format(_ value: Double, name: String, digits: Int) -> String {
        name == "gauc_groups" ? String(Int(value)) : String(format: "%.\(digits)f", value)
    }
}
