import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// One optimisation step of a multi-task model on one batch: forward in training mode, the per-task losses
/// weighted by λ_t plus the model's auxiliary loss, backward, optimizer update. The tape lives only inside
/// the step, so nothing is kept alive between steps.
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
        let losses = taskLosses(output, batch: batch, tasks: tasks)
        let weighted = zip(losses, tasks).map { loss, task in task.weight == 1 ? loss : loss * task.weight }
        var total = weighted.dropFirst().reduce(weighted[0], +)
        if let auxiliary = output.auxiliaryLoss { total = total + auxiliary }
        for parameter in parameters { parameter.zeroGradient() }
        tape.backward(total)
        optimizer.step(parameters)
        return losses.map { $0.value.scalar }
    }
}
