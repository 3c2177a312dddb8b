import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// Runs a model in evaluation mode over a whole split and computes every task's metrics over all of its rows
/// (never averaged over batches, metrics.md §1), plus each task's mean loss.
public struct Evaluator {
    /// Rows per forward pass.
    public var batchSize: Int
    public var options: MetricOptions
    /// Per-task target transforms the model was trained with (empty: none); predictions are inverted before
    /// metrics and labels transformed for the loss.
    public var targetScalings: [TargetScaling]

    /// Data parallelism: each rank evaluates its contiguous slice of the split, then predictions, labels and loss
    /// sums are gathered, so the metrics are those of the whole split, identical on every rank (nil: one process).
    public var group: DataParallelGroup?

    public init(batchSize: Int = 8192, options: MetricOptions = MetricOptions(), targetScalings: [TargetScaling] = [],
                group: DataParallelGroup? = nil) {
        self.batchSize = batchSize
        self.options = options
        self.targetScalings = targetScalings
        self.group = group
    }

    /// Metrics of `model` on `data`.
    public func evaluate(_ model: any MultiTaskModel, on data: any BatchSource, tasks: [TaskSpec]) throws -> EvaluationResult {
        var accumulator = MetricAccumulator(columns: tasks, options: options)
        var lossSums = [Double](repeating: 0, count: tasks.count)
        var lossWeights = [Double](repeating: 0, count: tasks.count)
        let owned = group?.slice(of: data.rowCount) ?? 0..<data.rowCount
        for start in stride(from: owned.lowerBound, to: owned.upperBound, by: batchSize) {
            let rows = Array(start..<min(start + batchSize, owned.upperBound))
            let batch = data.batch(rows: rows)
            let output = model(batch, .inference())
            for (t, task) in tasks.enumerated() {
                let scaling = targetScalings.isEmpty ? TargetScaling.identity : targetScalings[t]
                accumulator.append(predictions(of: output.heads[t], scaling: scaling).scalars.map(Double.init), for: task.name, batch: batch)
            }
            for (t, term) in taskLossTerms(output, batch: batch, tasks: tasks, targetScalings: targetScalings).enumerated() {
                lossSums[t] += Double(term.loss.value.scalar) * term.spaceWeight
                lossWeights[t] += term.spaceWeight
            }
        }
        if let group {
            accumulator.gather(over: group)
            let sums = group.sum(lossSums + lossWeights)
            lossSums = Array(sums[0..<tasks.count])
            lossWeights = Array(sums[tasks.count...])
        }
        let report = try accumulator.report()
        var metrics: [String: [String: Double]] = [:]
        for task in report.tasks {
            metrics[task.task] = Dictionary(uniqueKeysWithValues: task.entries.map { ($0.name, $0.value) })
        }
        for (t, task) in tasks.enumerated() where lossWeights[t] > 0 {
            metrics[task.name, default: [:]]["loss"] = lossSums[t] / lossWeights[t]
        }
        return EvaluationResult(metrics: metrics, report: report, predictions: accumulator.collected)
    }
}

/// Metrics of one evaluation: `metrics[task][metric]` (the task's `loss` included) and the full report.
public struct EvaluationResult: Codable, Sendable {
    public var metrics: [String: [String: Double]]
    public var report: MetricReport
    /// The rows the metrics were computed over, one entry per task in task order (not encoded: for diagnostics
    /// such as calibration bins and Lorenz curves, `TaskDiagnostics`).
    public var predictions: [TaskPredictions] = []

    private enum CodingKeys: String, CodingKey { case metrics, report }
}
