import FunnelCore

/// Selects, per task and per sample, a mixture of pattern representations by attention with a task-indicator
/// query (the Pattern Selector of APEM-reconstruction, `apem.md` §3.4).
/// ```
/// κ_k     = W_K P_k                                   pattern keys, W_K ∈ R^{h×h} shared      [batch, h]
/// ṽ_t(x)  = v_t + U_t s(x)                            adaptive indicator of task t            [batch, h]
/// α_{t,k} = softmax_k( ⟨ṽ_t, κ_k⟩ / √h )                                                       [batch, K_t]
/// u_t     = Σ_k α_{t,k} P_k                                                                    [batch, h]
/// ```
/// `s(x)` is the sample-wise source the caller passes (the flattened representation, or its field mean). Task t
/// selects among the shared patterns and, when given, its own task-specific ones (`[shared ‖ specific_t]`).
///
/// Modes (`Mode`): `.adaptive` as above (U_t zero-initialised, so training starts from the static selector);
/// `.static` drops the U_t term (ṽ_t = v_t); `.mmoeGate` replaces the attention by an MMoE gate
/// `α_t = softmax(W_t s + b_t)`; `.uniform` fixes α = 1/K_t (no selection).
///
/// Parameters: `<name>.indicators.{t}` `[h]` (N(0, 1/h)), `<name>.adapters.{t}.weight` `[h, source]` (zeros,
/// `.adaptive` only) and `<name>.key.weight` `[h, h]` (PyTorch `Linear` default, no bias) for the indicator
/// modes; `<name>.gates.{t}.*` (`Linear(source → K_t)`) for `.mmoeGate`; none for `.uniform`.
public final class PatternSelector: Module {
    /// How selection weights are formed.
    public enum Mode: String, Codable, Sendable {
        case adaptive, `static`, mmoeGate, uniform
    }

    public let mode: Mode
    public let indicators: [Parameter]
    public let adapters: [Linear]
    public let key: Linear?
    public let gates: [SoftmaxGate]
    /// Number of candidate patterns of each task.
    public let candidateCounts: [Int]
    /// Pattern (and indicator) width h.
    public let width: Int

    /// - Parameters:
    ///   - candidateCounts: per task, how many patterns it selects among (shared + its task-specific ones).
    ///   - width: pattern width h.
    ///   - sourceWidth: width of the sample-wise source `s(x)` (adapters and gates read it).
    public init(mode: Mode, candidateCounts: [Int], width: Int, sourceWidth: Int, name: String, using rng: inout SeededGenerator) {
        precondition(!candidateCounts.isEmpty && candidateCounts.allSatisfy { $0 > 0 }, "pattern selector needs patterns for every task")
        self.mode = mode
        self.candidateCounts = candidateCounts
        self.width = width
        let tasks = candidateCounts.indices
        let usesIndicators = mode == .adaptive || mode == .static
        indicators = usesIndicators ? tasks.map { t in
            Parameter(name: qualified(name, "indicators.\(t)"),
                      value: .normal([width], std: 1 / Float(width).squareRoot(), using: &rng))
        } : []
        adapters = mode == .adaptive ? tasks.map { t in
            Linear(sourceWidth, width, name: qualified(name, "adapters.\(t)"), bias: false,
                   weightInitializer: .constant(0), using: &rng)
        } : []
        key = usesIndicators ? Linear(width, width, name: qualified(name, "key"), bias: false, using: &rng) : nil
        gates = mode == .mmoeGate ? tasks.map { t in
            SoftmaxGate(inputWidth: sourceWidth, experts: candidateCounts[t], name: qualified(name, "gates.\(t)"), using: &rng)
        } : []
    }

    public var parameters: [Parameter] {
        var result: [Parameter] = []
        for t in candidateCounts.indices {
            if t < indicators.count { result.append(indicators[t]) }
            if t < adapters.count { result += adapters[t].parameters }
        }
        return result + (key?.parameters ?? []) + gates.flatMap(\.parameters)
    }

    /// One task's selection: the mixed representation `u_t` `[batch, h]` and the weights `α_t` `[batch, K_t]`.
    public struct Selection {
        public let mixed: Variable
        public let weights: Variable
    }

    /// Selects for every task.
    /// - Parameters:
    ///   - shared: the shared patterns stacked `[batch, K, h]`.
    ///   - specific: per task, its own patterns `[batch, K_t − K, h]`, or nil (all nil without task-specific ones).
    ///   - source: the sample-wise source `s(x)` `[batch, sourceWidth]` (unused by `.static` and `.uniform`).
    public func callAsFunction(shared: Variable, specific: [Variable?], source: Variable, _ context: ForwardContext) -> [Selection] {
        let batch = shared.shape[0]
        precondition(specific.count == candidateCounts.count, "\(specific.count) task pattern sets for \(candidateCounts.count) tasks")
        let sharedKeys = key.map { keys(of: shared, $0, context) }
        return candidateCounts.indices.map { t in
            let candidates = specific[t].map { Variable.concat([shared, $0], alongAxis: 1) } ?? shared
            precondition(candidates.shape == [batch, candidateCounts[t], width], "task \(t): patterns \(candidates.shape)")
            let weights: Variable
            switch mode {
            case .adaptive, .static:
                let indicator = context.use(indicators[t])
                let query = mode == .adaptive  // v_t + U_t s as one GEMM with v_t as the bias
                    ? Variable.linear(source, weight: context.use(adapters[t].weight), bias: indicator).reshaped([batch, 1, width])
                    : indicator.expanded(toBatch: batch).reshaped([batch, 1, width])
                let candidateKeys = specific[t].map { Variable.concat([sharedKeys!, keys(of: $0, key!, context)], alongAxis: 1) } ?? sharedKeys!
                let scores = Variable.batchedMatmul(query, candidateKeys, transposeB: true) * (1 / Float(width).squareRoot())
                weights = scores.softmax(alongAxis: -1).reshaped([batch, candidateCounts[t]])
            case .mmoeGate:
                weights = gates[t](source, context)
            case .uniform:
                weights = Variable(Tensor(repeating: 1 / Float(candidateCounts[t]), shape: [batch, candidateCounts[t]]))
            }
            let mixed = Variable.batchedMatmul(weights.reshaped([batch, 1, candidateCounts[t]]), candidates).reshaped([batch, width])
            return Selection(mixed: mixed, weights: weights)
        }
    }

    /// `κ = W_K P` for stacked patterns `[batch, n, h]` → `[batch, n, h]`.
    private func keys(of patterns: Variable, _ key: Linear, _ context: ForwardContext) -> Variable {
        let (batch, n) = (patterns.shape[0], patterns.shape[1])
        return key(patterns.reshaped([batch * n, width]), context).reshaped([batch, n, width])
    }
}
