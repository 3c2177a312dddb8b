import FunnelCore
import FunnelNN

/// One extraction level of PLE (Tang et al., RecSys 2020; baselines.md §6) — a Customized Gate Control (CGC)
/// unit, optionally with the shared gate that feeds the next level.
///
/// ```
/// task k:  S^k = [E_k,1(x^k) … E_k,m(x^k), E_s,1(x^s) … E_s,ms(x^s)]       [B, m + ms, h]
///          x^k ← Σ_i softmax(W^k x^k + b^k)_i · S^k_i                       [B, h]
/// shared:  x^s ← Σ_i softmax(W^s x^s + b^s)_i · [E_1,· ; … ; E_T,· ; E_s,·]_i  (levels j < N only)
/// ```
/// Task-k experts and gate read the task input x^k; shared experts and the shared gate read the shared input x^s.
/// Parameters `<name>.task_experts.{k}.{i}.*`, `<name>.shared_experts.{i}.*`, `<name>.task_gates.{k}.*`,
/// `<name>.shared_gate.*` (names relative to `name`, which may be empty).
public final class ExtractionLevel: Module {
    /// `taskExperts[k][i]`: expert i of task k, an `MLP` without output layer.
    public let taskExperts: [[MLP]]
    public let sharedExperts: [MLP]
    /// One gate per task over its own experts then the shared ones (width m + m_s).
    public let taskGates: [SoftmaxGate]
    /// The gate over all experts (width T·m + m_s) producing the next level's shared input; nil at the last level.
    public let sharedGate: SoftmaxGate?
    /// Width h of every expert output.
    public let outputWidth: Int

    /// - Parameters:
    ///   - inputWidth: width of the task and shared inputs.
    ///   - expertWidths: hidden widths of every expert MLP (one entry = one MLP block per expert).
    ///   - tasks: number of tasks T; `taskExperts` m experts each, `sharedExperts` m_s shared (m + m_s ≥ 1).
    ///   - sharedGate: whether this level feeds a next level (PLE levels j < N).
    public init(inputWidth: Int, expertWidths: [Int], tasks: Int, taskExperts: Int, sharedExperts: Int, sharedGate: Bool,
                batchNorm: Bool, dropout: Float, name: String, using rng: inout SeededGenerator) {
        precondition(taskExperts + sharedExperts >= 1 && taskExperts >= 0 && sharedExperts >= 0,
                     "an extraction level needs at least one expert per gate")
        precondition(!expertWidths.isEmpty, "experts need at least one layer")
        func expert(_ path: String, _ rng: inout SeededGenerator) -> MLP {
            MLP(inputWidth: inputWidth, hiddenWidths: expertWidths, batchNorm: batchNorm, dropout: dropout,
                name: qualified(name, path), using: &rng)
        }
        self.taskExperts = (0..<tasks).map { k in (0..<taskExperts).map { i in expert("task_experts.\(k).\(i)", &rng) } }
        self.sharedExperts = (0..<sharedExperts).map { i in expert("shared_experts.\(i)", &rng) }
        taskGates = (0..<tasks).map { k in
            SoftmaxGate(inputWidth: inputWidth, experts: taskExperts + sharedExperts, name: qualified(name, "task_gates.\(k)"), using: &rng)
        }
        self.sharedGate = sharedGate
            ? SoftmaxGate(inputWidth: inputWidth, experts: tasks * taskExperts + sharedExperts, name: qualified(name, "shared_gate"), using: &rng)
            : nil
        outputWidth = expertWidths.last!
    }

    public var children: [any Module] { taskExperts; sharedExperts; taskGates; sharedGate }

    /// Parameters whose output reaches more than one task: the shared experts and, when this level feeds a next
    /// one, every expert (all are mixed by the shared gate) and the shared gate.
    public var sharedParameters: [Parameter] {
        guard let sharedGate else { return sharedExperts.flatMap(\.parameters) }
        return taskExperts.joined().flatMap(\.parameters) + sharedExperts.flatMap(\.parameters) + sharedGate.parameters
    }

    /// - Parameters:
    ///   - taskInputs: x^{k, j−1} per task, each `[B, inputWidth]`.
    ///   - sharedInput: x^{s, j−1} `[B, inputWidth]`.
    /// - Returns: x^{k, j} per task `[B, h]`, and x^{s, j} `[B, h]` when the level has a shared gate.
    public func callAsFunction(taskInputs: [Variable], sharedInput: Variable,
                               _ context: ForwardContext) -> (tasks: [Variable], shared: Variable?) {
        precondition(taskInputs.count == taskGates.count, "\(taskInputs.count) task inputs for \(taskGates.count) tasks")
        let shared = sharedExperts.map { $0(sharedInput, context) }
        let own = zip(taskExperts, taskInputs).map { experts, x in experts.map { $0(x, context) } }
        let outputs = zip(taskGates, zip(own, taskInputs)).map { gate, pair in
            mixture(weights: gate(pair.1, context), experts: pair.0 + shared)
        }
        let next = sharedGate.map { gate in
            mixture(weights: gate(sharedInput, context), experts: own.flatMap { $0 } + shared)
        }
        return (outputs, next)
    }
}
