import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// One optimisation step of a multi-task model on one batch, the unit `Trainer` repeats (and tests and benchmarks
/// drive directly with their own noise stream):
///
/// 1. the model's `trainingProgress(step:epoch:)` hook (HTLNet's temperature annealing);
/// 2. forward in training mode on a fresh tape; per-task loss terms with masks, sample weights and the fitted
///    target scalings (`taskLossTerms`); a NaN/Inf loss throws `TrainingError.nonFinite` before any update;
/// 3. the loss balancer's backward (fixed weights: one pass of Σ_t λ_t L_t + R; gradient methods such as PCGrad,
///    MetaBalance or HTLNet's adjustment: per-task passes combined on the shared parameters);
/// 4. with data parallelism, the gradients summed over the ranks (`GradientExchange`); optional global-norm clipping; the optimizer update; the balancer's own parameters (uncertainty weighting)
///    stepped by `balancerOptimizer` at the same learning rate.
///
/// The tape lives only inside the step, so nothing is kept alive between steps.
public final class TrainingStep {
    public let model: any MultiTaskModel
    public let tasks: [TaskSpec]
    public let optimizer: Optimizer
    public let balancer: LossBalancer
    /// Optimizer of `balancer.trainableParameters` (same kind as `optimizer`, no weight decay); nil when the
    /// balancer has none.
    public let balancerOptimizer: Optimizer?
    /// Per-task target transforms applied to the labels before the loss (empty = identity for every task).
    public var targetScalings: [TargetScaling]
    /// Clip the global gradient norm (all parameters, after balancing) at this value; nil = off.
    public var gradientClip: Float?
    /// Steps taken so far: the `step` reported to the model's `trainingProgress` hook (settable when resuming).
    public var stepsTaken = 0
    /// Data parallelism: sums the gradients over the ranks after the balancer, before clipping (nil: one process).
    public var gradientExchange: GradientExchange?
    private let parameters: [Parameter]

    /// What one step did.
    public struct Result {
        /// L_t per task before the update (unweighted, on the transformed target scale).
        public var losses: [Float]
        /// Per task: its loss space had no row in this batch.
        public var emptyTasks: [Bool]
        /// The balancer's record (effective weights and method-specific details).
        public var record: BalancingRecord
    }

    /// - Parameters:
    ///   - balancer: nil = fixed weights λ_t from each task's `weight`.
    ///   - balancerOptimizer: required when the balancer has trainable parameters.
    public init(model: any MultiTaskModel, tasks: [TaskSpec], optimizer: Optimizer, balancer: LossBalancer? = nil,
                balancerOptimizer: Optimizer? = nil, targetScalings: [TargetScaling] = [], gradientClip: Float? = nil) {
        let balancer = balancer ?? FixedWeights(tasks: tasks)
        precondition(balancer.trainableParameters.isEmpty || balancerOptimizer != nil,
                     "a balancer with trainable parameters needs a balancerOptimizer")
        precondition(targetScalings.isEmpty || targetScalings.count == tasks.count, "one target scaling per task")
        self.model = model
        self.tasks = tasks
        self.optimizer = optimizer
        self.balancer = balancer
        self.balancerOptimizer = balancerOptimizer
        self.targetScalings = targetScalings
        self.gradientClip = gradientClip
        parameters = model.parameters
    }

    /// Runs the step on `batch` (labels on the original scale) in `epoch` (0-based); `rng` drives dropout and
    /// sampling noise and is advanced. Throws `TrainingError.nonFinite` (naming the task) without updating.
    @discardableResult
    /// With `gradientExchange`, `globalRows` is the rows of the global batch (all ranks' slices; nil: this batch's).
    public func callAsFunction(_ batch: Batch, rng: inout SeededGenerator, epoch: Int = 0, globalRows: Int? = nil) throws -> Result {
        model.trainingProgress(step: stepsTaken, epoch: epoch)
        let tape = Tape()
        let context = ForwardContext(tape: tape, mode: .training, rng: rng)
        let output = model(batch, context)
        rng = context.rng
        let terms = taskLossTerms(output, batch: batch, tasks: tasks, targetScalings: targetScalings)
        let losses = terms.map { $0.loss.value.scalar }
        if let bad = losses.firstIndex(where: { !$0.isFinite }) {
            throw TrainingError.nonFinite(task: tasks[bad].name, step: stepsTaken, epoch: epoch + 1, value: losses[bad])
        }
        if let auxiliary = output.auxiliaryLoss, !auxiliary.value.scalar.isFinite {
            throw TrainingError.nonFinite(task: "auxiliary loss", step: stepsTaken, epoch: epoch + 1, value: auxiliary.value.scalar)
        }
        let record = balancer.backward(BalancingInput(tape: tape, terms: terms, auxiliaryLoss: output.auxiliaryLoss,
                                                      parameters: parameters, sharedParameters: model.sharedParameters,
                                                      epoch: epoch))
        gradientExchange?.synchronize(parameters + balancer.trainableParameters,
                                      share: Float(batch.count) / Float(globalRows ?? batch.count))
        if let gradientClip { clipGradientNorm(parameters, maxNorm: gradientClip) }
        optimizer.step(parameters)
        if let balancerOptimizer, !balancer.trainableParameters.isEmpty {
            balancerOptimizer.learningRate = optimizer.learningRate
            balancerOptimizer.step(balancer.trainableParameters)
        }
        stepsTaken += 1
        return Result(losses: losses, emptyTasks: terms.map(\.isEmpty), record: record)
    }
}

/// Why training stopped abnormally.
public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(task: String, step: Int, epoch: Int, value: Float)
    /// A task's loss grew beyond `Trainer.divergenceFactor` times its first finite value (`initial`).
    case diverged(task: String, step: Int, epoch: Int, value: Float, initial: Float)
    /// The model predicted a non-finite value (NaN or infinite weights) for a 1-based row.
    case nonFinitePrediction(task: String, row: Int, value: Float)

    public var description: String {
        switch self {
        case let .diverged(task, step, epoch, value, initial):
            return "training stopped: loss of task '\(task)' diverged to \(value) at step \(step) (epoch \(epoch)), more than "
                + "\(Int(Trainer.divergenceFactor))× its first value \(initial); lower the learning rate or enable gradientClip"
        case let .nonFinitePrediction(task, row, value):
            return "the model predicts \(value) for task '\(task)' at row \(row): its weights are not finite; retrain it (lower the learning rate)"
        case let .nonFinite(task, step, epoch, value):
            return "training stopped: loss of task '\(task)' is \(value) at step \(step) (epoch \(epoch)); "
                + "lower the learning rate, enable gradientClip, or check the labels of this task"
        }
    }
}
