import FunnelCore
import FunnelNN

/// AITM's Adaptive Information Transfer attention (Xi et al., KDD 2021, Fig. 2(c); baselines.md §9): a
/// self-attention over the two-element set {transferred information p, the task's own representation q}, in
/// which each element is scored against itself.
///
/// ```
/// U   = [p; q]                              [B, 2, k]
/// Q, K, V = U W_Q, U W_K, U W_V             (k × k; with bias in the MTReclib variant)
/// a_j = ⟨Q_j, K_j⟩ / √k                     j ∈ {1, 2}
/// z   = Σ_j softmax_j(a)_j · V_j            [B, k]
/// ```
/// Parameters `<name>.query.*`, `<name>.key.*`, `<name>.value.*` (PyTorch `Linear` layout: `W[out, in]`, so
/// `W_Q = query.weightᵀ`).
public final class AdaptiveInformationTransfer: Module {
    public let query: Linear, key: Linear, value: Linear
    public let width: Int

    /// - Parameters:
    ///   - width: k, the width of p, q and z.
    ///   - bias: affine projections (MTReclib's h1–h3) instead of the official bias-free matrices.
    ///   - weightInitializer: the official code draws N(0, 0.01²).
    public init(width: Int, bias: Bool, weightInitializer: Initializer = .linearDefault, name: String,
                using rng: inout SeededGenerator) {
        self.width = width
        query = Linear(width, width, name: qualified(name, "query"), bias: bias, weightInitializer: weightInitializer, using: &rng)
        key = Linear(width, width, name: qualified(name, "key"), bias: bias, weightInitializer: weightInitializer, using: &rng)
        value = Linear(width, width, name: qualified(name, "value"), bias: bias, weightInitializer: weightInitializer, using: &rng)
    }

    public var children: [any Module] { query; key; value }

    /// The projection matrices (what the official L2 penalty covers).
    public var weights: [Parameter] { [query.weight, key.weight, value.weight] }

    /// `transferred` p and `own` q, each `[B, k]` → z `[B, k]`.
    public func callAsFunction(transferred p: Variable, own q: Variable, _ context: ForwardContext) -> Variable {
        let batch = q.shape[0]
        let u = Variable.concat([p, q], alongAxis: 0)                         // [2B, k]: p rows, then q rows
        let scores = (query(u, context) * key(u, context)).sum(alongAxis: 1) * (1 / Float(width).squareRoot())
        let weights = scores.reshaped([2, batch]).softmax(alongAxis: 0)      // over {p, q} per row
        let mixed = weights.reshaped([2, batch, 1]) * value(u, context).reshaped([2, batch, width])
        return mixed.sum(alongAxis: 0)                                        // [B, k]
    }
}
