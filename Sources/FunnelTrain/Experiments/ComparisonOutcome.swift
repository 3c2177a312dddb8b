import Foundation
import FunnelData
import FunnelModels

/// Every run of a comparison, with aggregation (mean ± sample standard deviation over seeds) and rendering as
/// Markdown, JSON and an SVG chart.
public struct ComparisonOutcome: Codable, Sendable {
    /// What one entry of the comparison was: its registry model and configuration and its loss balancing.
    public struct EntryDescription: Codable, Equatable, Sendable {
        public var name: String
        /// Registry name and full configuration (nil for entries not built through a registry).
        public var specification: AnyMultiTaskModel.Configuration?
        public var balancing: BalancingMethod

        init(_ entry: Comparison.Entry, training: TrainingConfiguration) {
            self.init(name: entry.name, specification: entry.specification, balancing: entry.balancing ?? training.balancing)
        }

        init(name: String, specification: AnyMultiTaskModel.Configuration?, balancing: BalancingMethod) {
            self.name = name
            self.specification = specification
            self.balancing = balancing
        }
    }

    /// One aggregated cell: a test metric of one model on one task over every seed.
    public struct Cell: Codable, Equatable, Sendable {
        public var model: String
        public var task: String
        public var metric: String
        public var mean: Double
        /// Sample standard deviation (n − 1); 0 for a single run.
        public var std: Double
        /// The per-seed values, in seed order.
        public var values: [Double]
    }

    /// Entry names in order.
    public var models: [String]
    public var tasks: [String]
    public var seeds: [UInt64]
    public var runs: [ComparisonRun]
    public var entries: [EntryDescription]?
    public var training: TrainingConfiguration?
    /// A description of the data (set by the caller).
    public var data: String?
    /// Split sizes and label rates (set by the caller; the report's run summary).
    public var dataSummary: DataSummary?

    public init(models: [String], tasks: [String], seeds: [UInt64], runs: [ComparisonRun], specifications: [EntryDescription]? = nil,
                training: TrainingConfiguration? = nil, data: String? = nil) {
        self.models = models
        self.tasks = tasks
        self.seeds = seeds
        self.runs = runs
        self.entries = specifications
        self.training = training
        self.data = data
    }

    /// Mean and sample standard deviation of a test metric over seeds, or nil when no run reports it.
    public func aggregate(model: String, task: String, metric: String) -> (mean: Double, std: Double, values: [Double])? {
        let values = runs.filter { $0.model == model }.compactMap { $0.test[task]?[metric] }
        guard !values.isEmpty else { return nil }
        let (mean, std) = meanAndStd(values)
        return (mean, std, values)
    }

    /// Test metrics reported by any task, in a stable order (AUC and friends first).
    public var metricNames: [String] {
        let preferred = ["auc", "gauc", "logloss", "nrmse", "nmae", "gini", "spearman", "rmse", "mae", "mse", "calibration", "loss"]
        let present = Set(runs.flatMap { $0.test.values.flatMap(\.keys) })
        return preferred.filter(present.contains) + present.subtracting(preferred).sorted()
    }

    /// The metrics the Markdown table shows by default (the JSON has them all).
    public static let tableMetrics = ["auc", "gauc", "logloss", "nrmse", "gini", "spearman"]

    /// Every model × task × metric with at least one value.
    public var cells: [Cell] {
        models.flatMap { model in
            tasks.flatMap { task in
                metricNames.compactMap { metric in
                    aggregate(model: model, task: task, metric: metric).map {
                        Cell(model: model, task: task, metric: metric, mean: $0.mean, std: $0.std, values: $0.values)
                    }
                }
            }
        }
    }

    /// A Markdown table: one row per model, one column per task × metric, cells `mean ± std` over seeds, and the
    /// mean training seconds per run.
    public func markdown(metrics: [String]? = nil, digits: Int = 4) -> String {
        let chosen = metrics ?? Self.tableMetrics
        var columns: [(task: String, metric: String)] = []
        for task in tasks {
            for metric in chosen where runs.contains(where: { $0.test[task]?[metric] != nil }) { columns.append((task, metric)) }
        }
        var lines = ["| Model | " + columns.map { "\($0.task) \($0.metric)" }.joined(separator: " | ") + " | s/run |",
                     "|---|" + columns.map { _ in "---:|" }.joined() + "---:|"]
        for model in models {
            let cells = columns.map { column -> String in
                guard let a = aggregate(model: model, task: column.task, metric: column.metric) else { return "–" }
                return "\(fixed(a.mean, digits)) ± \(fixed(a.std, digits))"
            }
            let seconds = runs.filter { $0.model == model }.map(\.trainingSeconds)
            lines.append("| \(model) | " + cells.joined(separator: " | ") + " | \(fixed(seconds.reduce(0, +) / Double(max(seconds.count, 1)), 1)) |")
        }
        return lines.joined(separator: "\n") + "\n\nMean ± sample std over seeds \(seeds.map(String.init).joined(separator: ", ")); test split, "
            + "best validation epoch per run.\n"
    }

    /// The full Markdown report: data, the table, and one line per run (best epoch, time, parameters).
    public var report: String {
        var text = "# Comparison\n\n"
        if let data { text += "Data: \(data)\n\n" }
        if let training {
            text += "Training: \(training.epochs) epochs max, batch \(training.batchSize), \(training.optimizer.kind.rawValue) "
                + "lr \(training.optimizer.learningRate), early stopping on \(training.earlyStopping.monitor) "
                + "(patience \(training.earlyStopping.patience)).\n\n"
        }
        text += markdown() + "\n## Runs\n\n| Model | seed | best epoch | epochs | steps | seconds | parameters |\n|---|---:|---:|---:|---:|---:|---:|\n"
        for run in runs {
            text += "| \(run.model) | \(run.seed) | \(run.bestEpoch) | \(run.epochs) | \(run.steps) | \(fixed(run.trainingSeconds, 1)) | \(run.parameters) |\n"
        }
        return text
    }

    /// What `comparison.json` holds: the aggregated cells and every run.
    public struct Document: Codable, Sendable {
        public var summary: [Cell]
        public var comparison: ComparisonOutcome
    }

    /// The name of the JSON file `write(to:)` writes and `RunReport(directory:)` reads.
    public static let jsonFileName = "comparison.json"

    /// `comparison.json`: `{"summary": [cells], "comparison": {…this result…}}`, sorted keys. Each run's `details`
    /// hold what the report draws (epoch history, test diagnostics, heat maps); see ARCHITECTURE.md.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(Document(summary: cells, comparison: self))
    }

    /// The outcome stored in `comparison.json` data.
    public init(jsonData data: Data) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        self = try decoder.decode(Document.self, from: data).comparison
    }

    /// The inspection reports recorded by the runs, as one Markdown document (nil when there are none).
    public var inspections: String? {
        let recorded = runs.filter { $0.inspection != nil }
        guard !recorded.isEmpty else { return nil }
        return "# Model inspections\n\n" + recorded.map { "## \($0.model), seed \($0.seed)\n\n\($0.inspection!)\n" }.joined(separator: "\n")
    }

    /// Writes `comparison.md`, `comparison.json`, `comparison.svg` (chart of `plotMetric`, see `ComparisonChart`),
    /// `report.html` (`RunReport` against `baseline`) and, when any run recorded one, `inspections.md` into
    /// `directory` (created; see `checkDestination`), each through an `OutputFile`. Returns the files written.
    @discardableResult
    public func write(to directory: URL, plotMetric: String? = nil, baseline: String? = nil, overwrite: Bool = false) throws -> [URL] {
        try Self.checkDestination(directory, overwrite: overwrite)
        let report = try RunReport(self, baseline: baseline)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [(String, Data)] = [("comparison.md", Data(self.report.utf8)), (Self.jsonFileName, try jsonData()),
                                       ("comparison.svg", Data(ComparisonChart(self, metric: plotMetric).svg.utf8))]
        if let inspections { files.append(("inspections.md", Data(inspections.utf8))) }
        return try files.map { name, data in
            let url = directory.appendingPathComponent(name)
            try OutputFile.write(data, to: url, overwrite: true)
            return url
        } + [try report.write(to: directory)]
    }

    /// Throws unless `directory` may receive a comparison's files: new, empty, an earlier comparison's (it has
    /// `comparison.json`), or — with `overwrite` — any directory (only the comparison's own files are replaced).
    public static func checkDestination(_ directory: URL, overwrite: Bool = false) throws {
        try OutputGuard.checkDirectory(directory, use: .filled, markers: ["comparison.json"], overwrite: overwrite)
    }
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
