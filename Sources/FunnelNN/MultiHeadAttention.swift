import FunnelCore

/// Multi-head attention over sets of tokens (fields, inducing points), the form shared by AutoInt (baselines.md
/// §13.4), DEPHN's soft-selection attention (dephn.md §4.2) and Set Transformer blocks (apem.md §3.2):
/// ```
/// for head η = 1..H:
///   A^η = softmax_j( s · ⟨W_Q^η x_i, W_K^η y_j⟩ )       [B, n_q, n_k],  s = 1/√d_k with `scaleScores`, else 1
///   O^η = A^η (Y W_V^η)                                [B, n_q, d_v]
/// out = [O^1 ‖ … ‖ O^H]  (· W_Oᵀ + b_O with an output projection)
/// ```
/// Queries `X` `[B, n_q, d_q]`, keys and values `Y` `[B, n_k, d_kv]`; output `[B, n_q, H·d_v]` or
/// `[B, n_q, outputWidth]`. No residual, normalisation or activation: AutoInt's layer and the Set Transformer's
/// blocks add theirs around it.
///
/// Parameters `<name>.query.weight` `[H·d_k, d_q]`, `<name>.key.weight` `[H·d_k, d_kv]`, `<name>.value.weight`
/// `[H·d_v, d_kv]` (each with `.bias` when `bias`), and `<name>.output.weight` `[outputWidth, H·d_v]` +
/// `.bias` (unless `outputBias` is false) with an output projection. Head η owns rows η·d_k ..< (η+1)·d_k of W_Q and W_K. PyTorch `Linear` init.
public final class MultiHeadAttention: Module {
    public let query: Linear, key: Linear, value: Linear
    public let output: Linear?
    public let heads: Int
    public let scaleScores: Bool

    /// - Parameters:
    ///   - queryWidth: d_q; `keyWidth` d_kv defaults to it (self-attention).
    ///   - headWidth: d_k (queries and keys); `valueHeadWidth` d_v defaults to it.
    ///   - bias: biases on the Q, K, V projections (AutoInt: none; Set Transformer: yes).
    ///   - scaleScores: divide scores by √d_k (AutoInt's original: no).
    ///   - outputWidth: add the output projection W_O to this width.
    ///   - outputBias: give the output projection a bias b_O (DEPHN's SSG attention has none).
    public init(queryWidth: Int, keyWidth: Int? = nil, heads: Int, headWidth: Int, valueHeadWidth: Int? = nil,
                bias: Bool = false, scaleScores: Bool = true, outputWidth: Int? = nil, outputBias: Bool = true, name: String,
                using rng: inout SeededGenerator) {
        precondition(heads > 0 && headWidth > 0, "attention needs heads and width")
        let kv = keyWidth ?? queryWidth, dv = valueHeadWidth ?? headWidth
        query = Linear(queryWidth, heads * headWidth, name: qualified(name, "query"), bias: bias, using: &rng)
        key = Linear(kv, heads * headWidth, name: qualified(name, "key"), bias: bias, using: &rng)
        value = Linear(kv, heads * dv, name: qualified(name, "value"), bias: bias, using: &rng)
        output = outputWidth.map { Linear(heads * dv, $0, name: qualified(name, "output"), bias: outputBias, using: &rng) }
        self.heads = heads
        self.scaleScores = scaleScores
    }

    public var children: [any Module] { query; key; value; output }

    /// d_k.
    public var headWidth: Int { query.outputWidth / heads }

    /// Columns of the output: `outputWidth`, or H·d_v without the output projection.
    public var outputWidth: Int { output?.outputWidth ?? value.outputWidth }

    /// Attention of `queries` `[B, n_q, d_q]` over `keys` `[B, n_k, d_kv]` reading `values` `[B, n_k, d_kv]`
    /// (default: the keys) → `[B, n_q, outputWidth]`.
    public func callAsFunction(queries: Variable, keys: Variable, values: Variable? = nil, _ context: ForwardContext) -> Variable {
        let (batch, nq, nk) = (queries.shape[0], queries.shape[1], keys.shape[1])
        let q = project(queries, query, context), k = project(keys, key, context), v = project(values ?? keys, value, context)
        let scale = scaleScores ? 1 / Float(headWidth).squareRoot() : 1
        let weights = Variable.attentionScores(queries: q, keys: k, heads: heads, scale: scale).softmax()
        precondition(weights.shape == [batch, heads, nq, nk])
        let mixed = Variable.attentionMix(weights: weights, values: v, heads: heads)
        guard let output else { return mixed }
        return project(mixed, output, context)
    }

    /// Self-attention of `x` `[B, n, d_q]`.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        self(queries: x, keys: x, context)
    }

    /// The attention weights `[B, H, n_q, n_k]` of an inference pass (for inspection).
    public func attentionWeights(queries: Tensor, keys: Tensor) -> Tensor {
        let context = ForwardContext.inference()
        let q = project(Variable(queries), query, context), k = project(Variable(keys), key, context)
        let scale = scaleScores ? 1 / Float(headWidth).squareRoot() : 1
        return Variable.attentionScores(queries: q, keys: k, heads: heads, scale: scale).softmax().value
    }
}

/// `linear` applied to every token of `x` `[B, n, in]` → `[B, n, out]` (one GEMM over all B·n tokens).
func project(_ x: Variable, _ linear: Linear, _ context: ForwardContext, activation: Activation = .identity) -> Variable {
    let (batch, tokens) = (x.shape[0], x.shape[1])
    return linear(x.reshaped([batch * tokens, x.shape[2]]), context, activation: activation).reshaped([batch, tokens, linear.outputWidth])
}
