import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// One optimisation step in which the shared parameters get a combination of the per-task gradients (HTLNet's
/// adjustment, or any rule over per-task `GradientSet`s such as PCGrad or MetaBalance) and every other parameter
/// its ordinary gradient of Σ_t λ_t L_t (`losses-and-balancing.md` §8):
///
/// 1. `trainingProgress(step:epoch:)` for a `TrainingScheduleAware` model (temperature annealing);
/// 2. the labels through the fitted target transforms; **one** forward pass on one tape; the task losses;
/// 3. per task, one backward pass of λ_t L_t over the part of the graph that leads to it
///    (`Tape.parameterGradients`): its shared-parameter gradient is kept as a `GradientSet` (embedding tables
///    row-sparse over the batch's rows), its task-specific gradients are accumulated into `Parameter.grad` —
///    the sum of those passes is exactly one backward pass of Σ_t λ_t L_t for them;
/// 4. the rule combines the shared gradients, which are assigned to the shared parameters; the model's
///    auxiliary loss (if any) is back-propagated on top, unprojected; optional global norm clipping; the
///    optimizer step.
///
/// When tasks interact only through the shared parameters (HTLNet with its stop-gradient) the T passes overlap
/// only in the embedding layer, so the step costs one forward, about one backward of the whole model plus T − 1
/// extra backward passes of the embedding layer, and the Gram products of the adjustment over the touched rows.
/// The `.sum` rule is a single ordinary backward pass.
public final class PerTaskGradientStep<Model: MultiTaskModel> {
    /// How the per-task gradients of the shared parameters are combined.
    public enum Rule {
        /// Σ_t G_t, computed by one ordinary backward pass of Σ_t λ_t L_t (HTLNet "w/o Optimization").
        case sum
        /// HTLNet's adjustment toward the core task, which is the last task.
        case htl(HTLNetGradientAdjustment)
        /// Any combination of the per-task shared gradients (in task order) into one (PCGrad, MetaBalance …).
        case custom(([GradientSet]) -> GradientSet)
    }

    /// What one step did.
    public struct Result {
        /// L_t per task before the update (unweighted, on the transformed target scale).
        public var losses: [Float]
        /// ‖G_t‖ of each task's shared gradient (empty with `.sum`).
        public var sharedGradientNorms: [Double]
        /// The HTLNet adjustment's report (with `.htl`).
        public var adjustment: HTLNetGradientAdjustment.Report?
    }

    public let model: Model
    public let tasks: [TaskSpec]
    public let optimizer: Optimizer
    public let rule: Rule
    /// Per task, the transform applied to its labels before the loss (nil entries leave a task's labels alone).
    public let targetTransforms: [FittedTargetTransform?]
    /// Clip the global gradient norm (all parameters, after assembly) at this value; nil = off.
    public var globalClipNorm: Float?
    /// Optimiser steps taken so far (the `step` reported to `TrainingScheduleAware` models).
    public private(set) var stepsTaken = 0
    /// The epoch reported to `TrainingScheduleAware` models; the caller advances it.
    public var epoch = 0
    private let parameters: [Parameter]

    public init(model: Model, tasks: [TaskSpec], optimizer: Optimizer, rule: Rule = .htl(HTLNetGradientAdjustment()),
                targetTransforms: [FittedTargetTransform?]? = nil, globalClipNorm: Float? = nil) {
        precondition(targetTransforms.map { $0.count == tasks.count } ?? true, "one target transform (or nil) per task")
        self.model = model
        self.tasks = tasks
        self.optimizer = optimizer
        self.rule = rule
        self.targetTransforms = targetTransforms ?? Array(repeating: nil, count: tasks.count)
        self.globalClipNorm = globalClipNorm
        parameters = model.parameters
    }

    /// Runs the step on `batch` (labels on the original scale); `rng` drives dropout and sampling noise.
    @discardableResult
    public func callAsFunction(_ batch: Batch, rng: inout SeededGenerator) -> Result {
        (model as? TrainingScheduleAware)?.trainingProgress(step: stepsTaken, epoch: epoch)
        let batch = batch.transformingLabels(targetTransforms)
        let tape = Tape()
        let context = ForwardContext(tape: tape, mode: .training, rng: rng)
        let output = model(batch, context)
        rng = context.rng
        let losses = taskLosses(output, batch: batch, tasks: tasks)
        let weighted = zip(losses, tasks).map { loss, task in task.weight == 1 ? loss : loss * task.weight }
        for parameter in parameters { parameter.zeroGradient() }
        var result = Result(losses: losses.map { $0.value.scalar }, sharedGradientNorms: [], adjustment: nil)
        switch rule {
        case .sum:
            var total = weighted.dropFirst().reduce(weighted[0], +)
            if let auxiliary = output.auxiliaryLoss { total = total + auxiliary }
            tape.backward(total)
        case .htl(let adjustment):
            let (combined, report) = adjustment.combine(sharedGradients(of: weighted, on: tape), coreTask: tasks.count - 1)
            (result.adjustment, result.sharedGradientNorms) = (report, report.gradientNorms)
            assign(combined, auxiliaryLoss: output.auxiliaryLoss, on: tape)
        case .custom(let combine):
            let perTask = sharedGradients(of: weighted, on: tape)
            result.sharedGradientNorms = perTask.map(\.norm)
            assign(combine(perTask), auxiliaryLoss: output.auxiliaryLoss, on: tape)
        }
        if let globalClipNorm { clipGradientNorm(parameters, maxNorm: globalClipNorm) }
        optimizer.step(parameters)
        stepsTaken += 1
        return result
    }

    /// The combined shared gradient into the shared parameters, then the auxiliary loss's gradient on top of all.
    private func assign(_ combined: GradientSet, auxiliaryLoss: Variable?, on tape: Tape) {
        combined.assign()
        if let auxiliaryLoss { tape.backward(auxiliaryLoss) }
    }

    /// One backward pass per loss: the shared parameters' gradients as one `GradientSet` per loss (zeros where a
    /// loss does not reach a shared tensor), every other parameter's gradient accumulated into its `grad`.
    private func sharedGradients(of losses: [Variable], on tape: Tape) -> [GradientSet] {
        let shared = model.sharedParameters
        let slot = Dictionary(uniqueKeysWithValues: shared.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        let rows = shared.map { tape.rowsRead(by: $0) }
        return losses.map { loss in
            var tensors = [Tensor?](repeating: nil, count: shared.count)
            for (parameter, gradient) in tape.parameterGradients(of: loss) {
                if let i = slot[ObjectIdentifier(parameter)] { tensors[i] = gradient } else { parameter.accumulateGradient(gradient) }
            }
            return GradientSet(parameters: shared, tensors: zip(shared, tensors).map { $1 ?? Tensor(zeros: $0.value.shape) }, rows: rows)
        }
    }
}
