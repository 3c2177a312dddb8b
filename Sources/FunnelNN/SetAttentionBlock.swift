import FunnelCore

/// The Set Transformer's multihead attention block (MAB, Lee et al., ICML 2019), post-norm form: every token of
/// `X` attends over the tokens of `Y`, then a residual, layer norm and a token-wise feed-forward block.
/// ```
/// MHA(X, Y) = [A^1 (Y W_V^1) ‖ … ‖ A^H (Y W_V^H)] W_O,   A^η = softmax((X W_Q^η)(Y W_K^η)ᵀ / √d_k)
/// M         = LN(X + MHA(X, Y))
/// MAB(X, Y) = LN(M + rFF(M)),   rFF(M) = Linear(f → d)(ReLU(Linear(d → f)(M)))   per token
/// ```
/// No positional encoding: permuting the tokens of `Y` leaves the output unchanged, permuting those of `X`
/// permutes it. The projections have no bias (`W_Q^η, W_K^η, W_V^η ∈ R^{d×d_k}`, `W_O ∈ R^{d×d}`; PyTorch
/// `Linear(d, d, bias=False)` with the heads as contiguous column blocks), the feed-forward layers do.
///
/// Parameters: `<name>.query.weight`, `key.weight`, `value.weight`, `output.weight` `[d, d]`; `norm1.*`,
/// `norm2.*` `[d]`; `feedforward.0.*` (`[f, d]`, `[f]`), `feedforward.1.*` (`[d, f]`, `[d]`).
public final class SetAttentionBlock: Module {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    public let norm1: LayerNorm, norm2: LayerNorm
    public let feedforward: [Linear]
    public let heads: Int
    /// Token width d.
    public let width: Int

    /// - Parameters:
    ///   - width: token width d (divisible by `heads`).
    ///   - heads: attention heads H.
    ///   - feedForwardWidth: hidden width f of the token-wise feed-forward block (the spec's default is 2d).
    public init(width: Int, heads: Int, feedForwardWidth: Int, epsilon: Float = 1e-5, name: String,
                using rng: inout SeededGenerator) {
        precondition(heads > 0 && width % heads == 0, "\(heads) heads do not divide width \(width)")
        self.width = width
        self.heads = heads
        query = Linear(width, width, name: qualified(name, "query"), bias: false, using: &rng)
        key = Linear(width, width, name: qualified(name, "key"), bias: false, using: &rng)
        value = Linear(width, width, name: qualified(name, "value"), bias: false, using: &rng)
        output = Linear(width, width, name: qualified(name, "output"), bias: false, using: &rng)
        norm1 = LayerNorm(width, name: qualified(name, "norm1"), epsilon: epsilon)
        feedforward = [Linear(width, feedForwardWidth, name: qualified(name, "feedforward.0"), using: &rng),
                       Linear(feedForwardWidth, width, name: qualified(name, "feedforward.1"), using: &rng)]
        norm2 = LayerNorm(width, name: qualified(name, "norm2"), epsilon: epsilon)
    }

    public var children: [any Module] { query; key; value; output; norm1; feedforward; norm2 }

    /// `MAB(X, Y)`: `x` `[batch, nx, d]` attends over `y` `[batch, ny, d]` → `[batch, nx, d]`, with the attention
    /// weights `[batch, H, nx, ny]`.
    public func callAsFunction(_ x: Variable, _ y: Variable, _ context: ForwardContext) -> (output: Variable, attention: Tensor) {
        let (batch, nx, ny) = (x.shape[0], x.shape[1], y.shape[1])
        precondition(x.shape == [batch, nx, width] && y.shape == [batch, ny, width], "MAB of \(x.shape) over \(y.shape)")
        let xs = x.reshaped([batch * nx, width]), ys = y.reshaped([batch * ny, width])
        let q = query(xs, context).reshaped([batch, nx, width])
        let k = key(ys, context).reshaped([batch, ny, width])
        let v = value(ys, context).reshaped([batch, ny, width])
        let (attended, weights) = Variable.scaledDotProductAttention(query: q, key: k, value: v, heads: heads)
        let m = norm1(xs + output(attended.reshaped([batch * nx, width]), context), context)
        let hidden = feedforward[1](feedforward[0](m, context, activation: .relu), context)
        return (norm2(m + hidden, context).reshaped([batch, nx, width]), weights)
    }
}
