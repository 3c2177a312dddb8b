import FunnelCore
import FunnelData
import FunnelModels

/// The per-task batch losses L_t of a forward pass (losses-and-balancing.md §1–4): each head's loss form,
/// reduced with the task's mask and sample weights. Returns one scalar variable per task, unweighted by λ_t.
public func taskLosses(_ output: ModelOutput, batch: Batch, tasks: [TaskSpec]) -> [Variable] {
    precondition(output.heads.count == tasks.count, "\(output.heads.count) heads for \(tasks.count) tasks")
    return zip(output.heads, tasks).enumerated().map { t, pair in
        let (head, task) = pair
        let targets = batch.labels(ofTask: t)
        let weights = batch.lossWeights(ofTask: t)
        let normalizer = task.reduction.normalizer(rows: batch.count)
        switch (head, task.loss) {
        case (.logit(let z), .binaryCrossEntropy(positiveWeight: 1)):
            return Variable.binaryCrossEntropy(logits: z, targets: targets, weights: weights, normalizer: normalizer)
        case (.value(let y), .squaredError):
            return Variable.squaredError(predictions: y, targets: targets, weights: weights, normalizer: normalizer)
        default:
            preconditionFailure("task '\(task.name)': loss \(task.loss) is not available for head \(head)")
        }
    }
}

extension LossReduction {
    /// The denominator of the reduction, or nil for Σ m·w (space mean).
    func normalizer(rows: Int) -> Float? {
        switch self {
        case .spaceMean: return nil
        case .batchMean: return Float(rows)
        case .sum: return 1
        }
    }
}
