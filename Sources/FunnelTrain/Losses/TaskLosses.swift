import FunnelCore
import FunnelData
import FunnelModels

/// One task's batch loss L_t (unweighted by λ_t) and the size of its loss space in the batch.
public struct TaskLossTerm {
    /// L_t, a scalar variable on the forward pass's tape.
    public var loss: Variable
    /// Σ_i m_i·w_i over the batch (mask times sample weight), accumulated in Float64.
    public var spaceWeight: Double

    public init(loss: Variable, spaceWeight: Double) {
        self.loss = loss
        self.spaceWeight = spaceWeight
    }

    /// The task's loss space is empty in this batch (Σ m·w = 0): L_t = 0 with no gradient. Trainers count these per
    /// task and report the counts (losses-and-balancing.md §1); balancers leave such tasks out of the step.
    public var isEmpty: Bool { spaceWeight == 0 }
}

/// The per-task batch losses of a forward pass (losses-and-balancing.md §1–4), one per task in task order: each
/// head's loss form, reduced over the task's loss space with its mask × sample weight and `task.reduction`.
///
/// | head | loss | form |
/// |---|---|---|
/// | `.logit` | `.binaryCrossEntropy(ω)` | BCE on logits, positive weight ω (§2.1) |
/// | `.chain` | `.binaryCrossEntropy(ω)` | BCE on Π σ(z_s) in log space (§2.3) |
/// | `.probability` | `.binaryCrossEntropy(ω)` | BCE on probabilities, −100 clamp (§2.2) |
/// | `.value` | `.squaredError`, `.huber(δ)` | on the transformed target ỹ (§3) |
/// | `.zeroInflatedLognormal` | `.zeroInflatedLognormal` | ZILN on the raw (optionally clipped) amount (§4) |
///
/// Any other pairing is a configuration error (precondition failure naming the task). `targetScalings`: one per
/// task (empty = identity for all), applied to the batch labels of `.value` and ZILN heads; binary labels are used
/// as they are. Negative sample weights are an error.
public func taskLossTerms(_ output: ModelOutput, batch: Batch, tasks: [TaskSpec],
                          targetScalings: [TargetScaling] = []) -> [TaskLossTerm] {
    precondition(output.heads.count == tasks.count, "\(output.heads.count) heads for \(tasks.count) tasks")
    precondition(targetScalings.isEmpty || targetScalings.count == tasks.count,
                 "\(targetScalings.count) target scalings for \(tasks.count) tasks")
    return zip(output.heads, tasks).enumerated().map { t, pair in
        let (head, task) = pair
        let labels = batch.labels(ofTask: t)
        let weights = batch.lossWeights(ofTask: t)
        let spaceWeight = weights.map { w in
            (0..<w.count).reduce(0.0) { total, i in
                precondition(w.pointer[i] >= 0, "task '\(task.name)': negative sample weight \(w.pointer[i]) in row \(i)")
                return total + Double(w.pointer[i])
            }
        } ?? Double(batch.count)
        let normalizer = task.reduction.normalizer(rows: batch.count)
        let scaling = targetScalings.isEmpty ? .identity : targetScalings[t]
        let loss: Variable
        switch (head, task.loss) {
        case (.logit(let z), .binaryCrossEntropy(let omega)):
            loss = .binaryCrossEntropy(logits: z, targets: labels, weights: weights, normalizer: normalizer, positiveWeight: omega)
        case (.chain(let steps), .binaryCrossEntropy(let omega)):
            loss = .binaryCrossEntropy(chainedLogits: steps, targets: labels, weights: weights, normalizer: normalizer,
                                       positiveWeight: omega)
        case (.probability(let p), .binaryCrossEntropy(let omega)):
            loss = .binaryCrossEntropy(probabilities: p, targets: labels, weights: weights, normalizer: normalizer,
                                       positiveWeight: omega)
        case (.value(let y), .squaredError):
            loss = .squaredError(predictions: y, targets: scaling.transformed(labels), weights: weights, normalizer: normalizer)
        case (.value(let y), .huber(let delta)):
            loss = .huber(predictions: y, targets: scaling.transformed(labels), delta: delta, weights: weights,
                          normalizer: normalizer)
        case (.zeroInflatedLognormal(let z), .zeroInflatedLognormal):
            precondition(scaling.transform == .none, "task '\(task.name)': ZILN trains on raw amounts, not \(scaling.transform)")
            loss = .zeroInflatedLognormal(logits: z, targets: scaling.transformed(labels), weights: weights,
                                          normalizer: normalizer)
        default:
            preconditionFailure("task '\(task.name)': loss \(task.loss) is not available for head \(head)")
        }
        return TaskLossTerm(loss: loss, spaceWeight: spaceWeight)
    }
}

/// The per-task batch losses L_t only (see `taskLossTerms` for the forms and the empty-space signal).
public func taskLosses(_ output: ModelOutput, batch: Batch, tasks: [TaskSpec],
                       targetScalings: [TargetScaling] = []) -> [Variable] {
    taskLossTerms(output, batch: batch, tasks: tasks, targetScalings: targetScalings).map(\.loss)
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

extension TaskHead {
    /// Whether `taskLossTerms` can apply `loss` to this head (the table above).
    public func supports(_ loss: TaskLoss) -> Bool {
        switch (self, loss) {
        case (.logit, .binaryCrossEntropy), (.chain, .binaryCrossEntropy), (.probability, .binaryCrossEntropy),
             (.value, .squaredError), (.value, .huber), (.zeroInflatedLognormal, .zeroInflatedLognormal):
            return true
        default:
            return false
        }
    }

    /// The head's kind, for messages: `logit`, `chain`, `probability`, `value`, `zeroInflatedLognormal`.
    public var kindName: String {
        switch self {
        case .logit: return "logit"
        case .chain: return "chain"
        case .probability: return "probability"
        case .value: return "value"
        case .zeroInflatedLognormal: return "zeroInflatedLognormal"
        }
    }
}

/// A model whose heads do not fit the tasks' losses (found before training by `checkLossHeads`).
public struct TaskLossError: Error, CustomStringConvertible, Equatable {
    public let task: String
    public let loss: String
    public let head: String

    public var description: String {
        "task '\(task)': the model gives a \(head) head, which the task's loss \(loss) cannot train "
            + "(a ZILN loss needs a model with 3-wide ZILN towers; or set the task's loss to mse/huber)"
    }
}

/// Throws `TaskLossError` when a head of `output` cannot be trained with its task's loss — run it on one small
/// batch before training so that a mismatch is an error message rather than a precondition failure mid-run.
public func checkLossHeads(_ output: ModelOutput, tasks: [TaskSpec]) throws {
    for (head, task) in zip(output.heads, tasks) where !head.supports(task.loss) {
        throw TaskLossError(task: task.name, loss: "\(task.loss)", head: head.kindName)
    }
}
