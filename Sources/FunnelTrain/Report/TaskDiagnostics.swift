import FunnelData
import FunnelModels

/// What a run report draws for one task beyond its metrics, computed from the test rows: a reliability diagram for
/// a binary task, a cumulative-gain (Lorenz) curve for a continuous one. Unweighted (sample weights ignored).
public struct TaskDiagnostics: Codable, Equatable, Sendable {
    /// One bin of a reliability diagram: predictions in `[lower, upper)` (the last bin includes 1).
    public struct CalibrationBin: Codable, Equatable, Sendable {
        public var lower: Double, upper: Double
        public var rows: Int
        public var meanPrediction: Double
        public var observedRate: Double
    }

    /// Cumulative share of the label total captured by the top `rowShares[i]` of rows, ranked by the model's
    /// prediction (`model`) and by the label itself (`oracle`); random ranking is the diagonal.
    public struct GainCurve: Codable, Equatable, Sendable {
        public var rowShares: [Double]
        public var model: [Double]
        public var oracle: [Double]
    }

    public var task: String
    /// Non-empty bins, ascending (binary tasks).
    public var calibration: [CalibrationBin]?
    /// Σ_b (rows_b / rows) · |meanPrediction_b − observedRate_b| over `calibration`.
    public var expectedCalibrationError: Double?
    /// Continuous tasks with a positive label total.
    public var gain: GainCurve?

    /// Diagnostics of `task` from its evaluation rows: `bins` equal-width probability bins, or `gainPoints` + 1
    /// points of the gain curve (row shares 0, 1/gainPoints, …, 1).
    public init(task: TaskSpec, predictions: TaskPredictions, bins: Int = 10, gainPoints: Int = 100) {
        self.task = task.name
        let p = predictions.predictions, y = predictions.labels
        switch task.kind {
        case .binary:
            let bins = Self.calibrationBins(p, y, count: bins)
            calibration = bins
            let rows = Double(max(p.count, 1))
            expectedCalibrationError = bins.reduce(0) { $0 + Double($1.rows) / rows * abs($1.meanPrediction - $1.observedRate) }
        case .continuous:
            gain = Self.gainCurve(p, y, points: gainPoints)
        }
    }

    static func calibrationBins(_ p: [Double], _ y: [Double], count: Int) -> [CalibrationBin] {
        var rows = [Int](repeating: 0, count: count), predicted = [Double](repeating: 0, count: count)
        var observed = [Double](repeating: 0, count: count)
        for (prediction, label) in zip(p, y) {
            let b = min(max(Int(prediction * Double(count)), 0), count - 1)
            rows[b] += 1
            predicted[b] += prediction
            observed[b] += label
        }
        return (0..<count).filter { rows[$0] > 0 }.map { b in
            CalibrationBin(lower: Double(b) / Double(count), upper: Double(b + 1) / Double(count), rows: rows[b],
                           meanPrediction: predicted[b] / Double(rows[b]), observedRate: observed[b] / Double(rows[b]))
        }
    }

    static func gainCurve(_ p: [Double], _ y: [Double], points: Int) -> GainCurve? {
        let total = y.reduce(0, +)
        guard total > 0, !y.isEmpty else { return nil }
        // Ties in the prediction are broken by row index, so the curve is deterministic.
        let byModel = y.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.map { y[$0] }
        let byLabel = y.sorted(by: >)
        func curve(_ ranked: [Double]) -> [Double] {
            var cumulative = [0.0]
            for value in ranked { cumulative.append(cumulative.last! + value) }
            return (0...points).map { cumulative[Int((Double($0) / Double(points) * Double(ranked.count)).rounded())] / total }
        }
        return GainCurve(rowShares: (0...points).map { Double($0) / Double(points) }, model: curve(byModel), oracle: curve(byLabel))
    }
}

/// What a run keeps for its report besides the test metrics: the per-epoch history, per-task test diagnostics and
/// the model's inspection heat maps.
public struct RunDetails: Codable, Equatable, Sendable {
    public var history: [EpochRecord]
    /// One entry per task, in task order.
    public var diagnostics: [TaskDiagnostics]
    /// Empty for models without heat maps (`MultiTaskModel.inspectionHeatmaps(on:)`), or runs the comparison did not inspect.
    public var heatmaps: [InspectionHeatmap]

    public init(history: [EpochRecord], diagnostics: [TaskDiagnostics], heatmaps: [InspectionHeatmap]) {
        self.history = history
        self.diagnostics = diagnostics
        self.heatmaps = heatmaps
    }

    /// Details from a finished run: `summary`'s history and diagnostics from `test`'s rows.
    public init(summary: TrainingSummary, test: EvaluationResult, tasks: [TaskSpec], heatmaps: [InspectionHeatmap]) {
        self.init(history: summary.history,
                  diagnostics: zip(tasks, test.predictions).map { TaskDiagnostics(task: $0, predictions: $1) }, heatmaps: heatmaps)
    }
}
