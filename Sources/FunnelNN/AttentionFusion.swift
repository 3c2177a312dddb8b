import FunnelCore

/// HTLNet's Information Fusion Unit (`htlnet.md` §3.4): scaled dot-product self-scoring attention over a set of
/// per-task vectors u_1 … u_n (earlier tasks' representations, or their label embeddings):
/// ```
/// v_j = h1(u_j),  q_j = h2(u_j),  k_j = h3(u_j)          [B, width]    (Linear(in → width), with bias)
/// a_j = ⟨q_j, k_j⟩ / √width                             [B]
/// w   = softmax_j(a)                                     [B, n]
/// f   = Σ_j w_j · v_j                                    [B, width]
/// ```
/// With one input, w = 1 and f = h1(u_1) exactly: h2 and h3 are then not evaluated (the scores' gradient is
/// exactly zero), so they receive no gradient — as in the PyTorch twin.
/// Parameters `<name>.h1.*`, `<name>.h2.*`, `<name>.h3.*` (PyTorch `Linear` initialisation).
public final class AttentionFusion: Module {
    /// h1, the value map.
    public let value: Linear
    /// h2, the query map.
    public let query: Linear
    /// h3, the key map.
    public let key: Linear
    public let inputWidth: Int, width: Int

    public init(inputWidth: Int, width: Int, name: String, using rng: inout SeededGenerator) {
        self.inputWidth = inputWidth
        self.width = width
        value = Linear(inputWidth, width, name: qualified(name, "h1"), using: &rng)
        query = Linear(inputWidth, width, name: qualified(name, "h2"), using: &rng)
        key = Linear(inputWidth, width, name: qualified(name, "h3"), using: &rng)
    }

    public var children: [any Module] { value; query; key }

    /// `inputs`: n ≥ 1 tensors `[B, inputWidth]` → the fused `[B, width]`.
    public func callAsFunction(_ inputs: [Variable], _ context: ForwardContext) -> Variable { attend(inputs, context).fused }

    /// The fused vector `[B, width]` and the attention weights w `[B, n]`.
    public func attend(_ inputs: [Variable], _ context: ForwardContext) -> (fused: Variable, weights: Variable) {
        precondition(!inputs.isEmpty && inputs.allSatisfy { $0.shape == inputs[0].shape && $0.shape.last == inputWidth },
                     "fusion of \(inputs.map(\.shape)) with input width \(inputWidth)")
        let n = inputs.count, batch = inputs[0].shape[0]
        if n == 1 { return (value(inputs[0], context), Variable(Tensor(repeating: 1, shape: [batch, 1]))) }
        // Rows b·n + j of the stacked inputs: all n vectors of a sample are adjacent.
        let u = Variable.concat(inputs.map { $0.reshaped([batch, 1, inputWidth]) }, alongAxis: 1).reshaped([batch * n, inputWidth])
        let v = value(u, context), q = query(u, context), k = key(u, context)
        let scores = (q * k).sum(alongAxis: 1).reshaped([batch, n]) * (1 / Float(width).squareRoot())
        let weights = scores.softmax(alongAxis: 1)
        let fused = Variable.batchedMatmul(weights.reshaped([batch, 1, n]), v.reshaped([batch, n, width]))
        return (fused.reshaped([batch, width]), weights)
    }
}
