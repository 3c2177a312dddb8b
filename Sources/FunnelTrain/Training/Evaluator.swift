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

    public init(batchSize: Int = 8192, options: MetricOptions = MetricOptions()) {
        self.batchSize = batchSize
        self.options = options
    }

    /// Metrics of `model` on `data`.
    public func evaluate(_ model: any MultiTaskModel, on data: any BatchSource, tasks: [TaskSpec]) throws -> EvaluationResult {
        var accumulator = MetricAccumulator(columns: tasks, options: options)
        var lossSums = [Double](repeating: 0, count: tasks.count)
        var lossWeights = [Double](repeating: 0, count: tasks.count)
        for rows in data.batches(size: batchSize) {
            let batch = data.batch(rows: rows)
            let output = model(batch, .inference())
            accumulator.append(output, batch: batch)
            let losses = taskLosses(output, batch: batch, tasks: tasks)
            for t in tasks.indices {
                let weight = Double(batch.lossWeights(ofTask: t)?.sum() ?? Float(batch.count))
                lossSums[t] += Double(losses[t].value.scalar) * weight
                lossWeights[t] += weight
            }
        }
        let report = try accumulator.report()
        var metrics: [String: [String: Double]] = [:]
        for task in report.tasks {
            metrics[task.task] = Dictionary(uniqueKeysWithValues: task.entries.map { ($0.name, $0.value) })
        }
        for (t, task) in tasks.enumerated() where lossWeights[t] > 0 {
            metrics[task.name, default: [:]]["loss"] = lossSums[t] / lossWeights[t]
        }
        return EvaluationResult(metrics: metrics, report: report)
    }
}

/// Metrics of one evaluation: `metrics[task][metric]` (the task's `loss` included) and the full report.
public struct EvaluationResult: Codable, Sendable {
    public var metrics: [String: [String: Double]]
    public var report: MetricReport
}
