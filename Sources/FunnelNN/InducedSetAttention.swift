import FunnelCore

/// Induced set attention (the Set Transformer's ISAB) over a set of tokens, e.g. the F field embeddings of a
/// sample: m learnable inducing points first pool the tokens into m summaries, then every token attends over the
/// summaries.
/// ```
/// G  = MAB(I, X)     [batch, m, d]   each inducing point attends over the F tokens (a learned, soft group)
/// X' = MAB(X, G)     [batch, F, d]   each token attends over the m groups
/// ```
/// Cost O(F·m) per head instead of O(F²) for full self-attention `MAB(X, X)`; permutation-equivariant in the
/// tokens. The attention of the inducing points over the tokens (`groupAttention`) shows how the fields were
/// grouped.
///
/// Parameters: `<name>.inducing_points` `[m, d]` (Xavier-uniform, fan-in d, fan-out m), `<name>.to_groups.*`
/// (`MAB(I, X)`) and `<name>.to_fields.*` (`MAB(X, G)`), each a `SetAttentionBlock`.
public final class InducedSetAttention: Module {
    public let inducingPoints: Parameter
    public let toGroups: SetAttentionBlock
    public let toFields: SetAttentionBlock

    public init(width: Int, heads: Int, inducingPoints m: Int, feedForwardWidth: Int, epsilon: Float = 1e-5, name: String,
                using rng: inout SeededGenerator) {
        precondition(m > 0, "induced set attention needs at least one inducing point")
        inducingPoints = Parameter(name: qualified(name, "inducing_points"),
                                   value: Initializer.xavierUniform(gain: 1).make([m, width], fanIn: width, fanOut: m, using: &rng))
        toGroups = SetAttentionBlock(width: width, heads: heads, feedForwardWidth: feedForwardWidth, epsilon: epsilon,
                                     name: qualified(name, "to_groups"), using: &rng)
        toFields = SetAttentionBlock(width: width, heads: heads, feedForwardWidth: feedForwardWidth, epsilon: epsilon,
                                     name: qualified(name, "to_fields"), using: &rng)
    }

    public var parameters: [Parameter] { [inducingPoints] + toGroups.parameters + toFields.parameters }

    /// Number of inducing points m.
    public var groupCount: Int { inducingPoints.value.shape[0] }

    /// `x` `[batch, F, d]` → `X'` `[batch, F, d]`, the group summaries `G` `[batch, m, d]`, and the attention of
    /// the inducing points over the tokens `[batch, H, m, F]` (rows sum to one).
    public func callAsFunction(_ x: Variable, _ context: ForwardContext)
        -> (output: Variable, groups: Variable, groupAttention: Tensor) {
        let points = context.use(inducingPoints).expanded(toBatch: x.shape[0])
        let (groups, groupAttention) = toGroups(points, x, context)
        let (output, _) = toFields(x, groups, context)
        return (output, groups, groupAttention)
    }
}
