import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// One optimisation step of a multi-task model on one batch: forward in training mode, the summed per-task
/// losses (BCE on logits for binary tasks, squared error for continuous ones), backward, optimizer update.
/// The tape lives only inside the step, so nothing is kept alive between steps.
public struct TrainingStep<Model: MultiTaskModel> {
    public let model: Model
    public let tasks: [TaskSpec]
    public let optimizer: Optimizer
    private let parameters: [Parameter]

    public init(model: Model, tasks: [TaskSpec], optimizer: Optimizer) {
        self.model = model
        self.tasks = tasks
        self.optimizer = optimizer
        self.parameters = model.parameters
    }

    /// Runs the step and returns each task's loss (before the update).
    @discardableResult
    public func callAsFunction(_ batch: Batch, rng: inout SeededGenerator) -> [Float] {
        let tape = Tape()
        let context = ForwardContext(tape: tape, mode: .training, rng: rng)
        let output = model(batch, context)
        rng = context.rng
        let losses = zip(output.heads, tasks).enumerated().map { t, pair -> Variable in
            let (head, task) = pair
            let labels = batch.labels(ofTask: t)
            switch task.kind {
            case .binary: return Variable.binaryCrossEntropy(logits: head, targets: labels)
            case .continuous: return Variable.squaredError(predictions: head, targets: labels)
            }
        }
        let total = losses.dropFirst().reduce(losses[0], +)
        for parameter in parameters { parameter.zeroGradient() }
        tape.backward(total)
        optimizer.step(parameters)
        return losses.map { $0.value.scalar }
    }
}
