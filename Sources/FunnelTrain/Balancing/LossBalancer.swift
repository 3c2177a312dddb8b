import FunnelCore
import FunnelData

/// What a loss balancer needs from one training step, after the forward pass and `taskLossTerms`.
public struct BalancingInput {
    /// The tape of this step's forward pass (still alive; every parameter used was watched on it).
    public var tape: Tape
    /// L_t per task, in task order: scalar variables on `tape`, unweighted by λ_t.
    public var losses: [Variable]
    /// Per task: its loss space was empty in this batch (`TaskLossTerm.isEmpty`). Empty tasks are left out of the
    /// step (no gradient, no weight update, no moving-average update).
    public var emptyTasks: [Bool]
    /// The model's non-task terms R (`ModelOutput.auxiliaryLoss`): its gradient is added to every parameter
    /// unweighted and unprojected, after the task losses are combined.
    public var auxiliaryLoss: Variable?
    /// Every trainable parameter of the model (`model.parameters`); each receives its final gradient.
    public var parameters: [Parameter]
    /// The model's shared parameters (`model.sharedParameters`), a subset of `parameters` (by identity). Gradient
    /// methods combine per-task gradients on exactly these; the rest are task-specific.
    public var sharedParameters: [Parameter]
    /// GradNorm's W, the last shared layer (for expert models the last layer of every shared expert). nil: the
    /// shared tables read only by lookups (the embedding), or all shared parameters if there are none.
    public var gradNormParameters: [Parameter]?
    /// The current epoch, 0-based (per-epoch weight schedules).
    public var epoch: Int

    public init(tape: Tape, losses: [Variable], emptyTasks: [Bool]? = nil, auxiliaryLoss: Variable? = nil,
                parameters: [Parameter], sharedParameters: [Parameter], gradNormParameters: [Parameter]? = nil,
                epoch: Int = 0) {
        precondition(emptyTasks.map { $0.count == losses.count } ?? true, "one empty-task flag per loss")
        self.tape = tape
        self.losses = losses
        self.emptyTasks = emptyTasks ?? Array(repeating: false, count: losses.count)
        self.auxiliaryLoss = auxiliaryLoss
        self.parameters = parameters
        self.sharedParameters = sharedParameters
        self.gradNormParameters = gradNormParameters
        self.epoch = epoch
    }

    /// The input for a step whose losses came from `taskLossTerms` (empty flags taken from the terms).
    public init(tape: Tape, terms: [TaskLossTerm], auxiliaryLoss: Variable?, parameters: [Parameter],
                sharedParameters: [Parameter], gradNormParameters: [Parameter]? = nil, epoch: Int = 0) {
        self.init(tape: tape, losses: terms.map(\.loss), emptyTasks: terms.map(\.isEmpty), auxiliaryLoss: auxiliaryLoss,
                  parameters: parameters, sharedParameters: sharedParameters, gradNormParameters: gradNormParameters,
                  epoch: epoch)
    }

    /// Number of tasks.
    public var taskCount: Int { losses.count }

    /// L_t as numbers.
    public var lossValues: [Float] { losses.map(\.value.scalar) }

    /// `parameters` that are not shared, in order.
    public var taskSpecificParameters: [Parameter] {
        let shared = Set(sharedParameters.map(ObjectIdentifier.init))
        return parameters.filter { !shared.contains(ObjectIdentifier($0)) }
    }
}

/// What one balancing step did, for training logs.
public struct BalancingRecord {
    /// L_t per task (unweighted).
    public var losses: [Float]
    /// The effective weight of each task's loss this step (λ_t, exp(−s_t)·c_t, w_t, …); 0 for empty tasks.
    public var weights: [Float]
    /// Method-specific per-task quantities (e.g. `logVariance`, `gradientNorm`, `projections`).
    public var details: [String: [Float]]

    public init(losses: [Float], weights: [Float], details: [String: [Float]] = [:]) {
        self.losses = losses
        self.weights = weights
        self.details = details
    }
}

/// Combines the task losses of one step into parameter gradients (losses-and-balancing.md §7–8).
///
/// **Trainer protocol, once per step:**
/// 1. Forward in training mode on a fresh tape; `terms = taskLossTerms(output, batch:, tasks:, targetScalings:)`.
/// 2. `let record = balancer.backward(BalancingInput(tape:, terms:, auxiliaryLoss: output.auxiliaryLoss,
///    parameters: model.parameters, sharedParameters: model.sharedParameters, gradNormParameters: …, epoch:))`.
///    Do **not** zero gradients or call `tape.backward` yourself: `backward` first clears `grad` of every parameter
///    in `parameters` and of its own `trainableParameters`, then leaves the final gradient in each `.gradient` (row-sparse
///    for tables read only by lookups, so lazy optimizers update only those rows). Parameters no loss reaches keep
///    `grad == nil` (optimizers skip them).
/// 3. Optionally clip (`clipGradientNorm`), then `optimizer.step(model.parameters)`, and step
///    `balancer.trainableParameters` with an optimizer **without weight decay** (a second instance of the model's
///    optimizer type with the same learning rate; or the same optimizer when it has no weight decay).
/// 4. Log `record`; count `terms[t].isEmpty` per task.
///
/// Methods that learn their own weights with their own rule (GradNorm) update them inside `backward`.
public protocol LossBalancer: AnyObject {
    /// Balancer-owned parameters the trainer must optimise (uncertainty weighting's s_t); empty for the others.
    var trainableParameters: [Parameter] { get }

    /// Computes and stores this step's gradients (see the protocol's documentation) and returns the log record.
    func backward(_ input: BalancingInput) -> BalancingRecord

    /// What the balancer has learned or accumulated (weights, moving averages, generator position), for
    /// checkpoints (`CheckpointMetadata.balancerState`); empty for stateless methods.
    var state: BalancerState { get }

    /// Continues from a saved `state` of the same method and task count.
    func restore(_ state: BalancerState) throws
}

/// A balancer's saved state: named number arrays (Float values are stored exactly as Double) and named word
/// arrays (generator states).
public struct BalancerState: Codable, Equatable, Sendable {
    public var values: [String: [Double]]
    public var words: [String: [UInt64]]

    public init(values: [String: [Double]] = [:], words: [String: [UInt64]] = [:]) {
        self.values = values
        self.words = words
    }

    /// The array `name` with `count` entries, or a `BalancerStateError`.
    func values(_ name: String, count: Int) throws -> [Double] {
        guard let found = values[name] else { throw BalancerStateError.missing(name) }
        guard found.count == count else { throw BalancerStateError.wrongCount(name, expected: count, found: found.count) }
        return found
    }
}

/// Why a balancer state cannot be restored.
public enum BalancerStateError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case wrongCount(String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .missing(let name): return "balancer state lacks '\(name)'"
        case let .wrongCount(name, expected, found): return "balancer state '\(name)' has \(found) entries, expected \(expected)"
        }
    }
}

extension BalancingInput {
    /// Clears `grad` of every model parameter (the start of every balancer's `backward`).
    func zeroGradients(also extra: [Parameter] = []) {
        for parameter in parameters + extra { parameter.zeroGradient() }
    }

    /// `Σ_t weights_t · L_t` over non-empty tasks, plus R when present; nil when there is nothing to differentiate.
    func weightedTotal(_ weights: [Float]) -> Variable? {
        var terms = zip(losses, weights).enumerated().compactMap { t, pair -> Variable? in
            emptyTasks[t] ? nil : (pair.1 == 1 ? pair.0 : pair.0 * pair.1)
        }
        if let auxiliaryLoss { terms.append(auxiliaryLoss) }
        guard let first = terms.first else { return nil }
        return terms.dropFirst().reduce(first, +)
    }

    /// Adds the gradient of R to every parameter (after the task gradients were assembled).
    func accumulateAuxiliaryGradient() {
        if let auxiliaryLoss { tape.backward(auxiliaryLoss) }
    }

    /// Per-task gradients for the gradient methods (§8): one backward pass of `seeds[t]·L_t` per non-empty task,
    /// with respect to shared and task-specific parameters at once. Task-specific gradients are summed straight
    /// into `grad` (the ordinary gradient of Σ_t seeds_t·L_t); the shared ones are returned per task (nil for
    /// empty tasks), row-sparse where the tape recorded lookups.
    func sharedGradientsPerTask(seeds: [Float]) -> [GradientSet?] {
        let shared = sharedParameters, specific = taskSpecificParameters
        return losses.indices.map { t -> GradientSet? in
            guard !emptyTasks[t] else { return nil }
            let gradients = tape.sparseGradients(of: losses[t], seed: Tensor(scalar: seeds[t]), wrt: shared + specific)
            for (i, parameter) in specific.enumerated() {
                if let g = gradients[shared.count + i] { parameter.accumulateGradient(g) }
            }
            return GradientSet(parameters: shared, gradients: shared.indices.map { gradients[$0] ?? GradientSet.zero(of: shared[$0]) })
        }
    }
}
