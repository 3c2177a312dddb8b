import FunnelCore

/// A stack of field-token enhancement blocks: set attention over the fields followed (or preceded) by field-wise
/// Squeeze-and-Excitation. APEM-reconstruction's reading of the "DeepAuto Group Transformer" (`apem.md` §3.2):
/// ```
/// X^(l) = SE(Attention(X^(l−1)))        l = 1..L,  X^(0) = E  [batch, F, d]   (SE first with .beforeAttention)
/// ```
/// `Attention` is induced set attention with m inducing points (the automatic, soft field grouping), full set
/// self-attention `MAB(X, X)`, or nothing; SE can be switched off. Every part is permutation-equivariant in the
/// fields except SE, whose weights are per field position.
///
/// Parameters: `<name>.blocks.{l}.attention.*` (`InducedSetAttention` or `SetAttentionBlock`) and
/// `<name>.blocks.{l}.se.*` (`SqueezeExcitation`).
public final class DeepAutoGroupTransformer: Module {
    /// The set attention of each block.
    public enum Attention: String, Codable, Sendable {
        /// Induced set attention (ISAB) with `inducingPoints` learnable points.
        case isab
        /// Full set self-attention `MAB(X, X)` (SAB), O(F²).
        case sab
        /// No attention (SE only, if enabled).
        case none
    }

    /// Where SE sits in a block.
    public enum SEPlacement: String, Codable, Sendable {
        case afterAttention, beforeAttention
    }

    /// Structure of the stack.
    public struct Options: Codable, Equatable, Sendable {
        public var layers = 2
        public var attention = Attention.isab
        public var inducingPoints = 4
        public var heads = 2
        /// Hidden width of the token-wise feed-forward block; nil = 2d.
        public var feedForwardWidth: Int?
        public var squeezeExcitation = true
        public var seReduction = 3
        public var seActivation = SqueezeExcitation.Activation.sigmoid
        public var sePlacement = SEPlacement.afterAttention

        public init(layers: Int = 2, attention: Attention = .isab, inducingPoints: Int = 4, heads: Int = 2,
                    feedForwardWidth: Int? = nil, squeezeExcitation: Bool = true, seReduction: Int = 3,
                    seActivation: SqueezeExcitation.Activation = .sigmoid, sePlacement: SEPlacement = .afterAttention) {
            self.layers = layers
            self.attention = attention
            self.inducingPoints = inducingPoints
            self.heads = heads
            self.feedForwardWidth = feedForwardWidth
            self.squeezeExcitation = squeezeExcitation
            self.seReduction = seReduction
            self.seActivation = seActivation
            self.sePlacement = sePlacement
        }
    }

    /// One block's attention layer.
    public enum AttentionLayer {
        case induced(InducedSetAttention)
        case full(SetAttentionBlock)

        /// The layer as a module.
        var module: any Module {
            switch self {
            case .induced(let layer): layer
            case .full(let layer): layer
            }
        }
    }

    /// One block: optional attention and optional SE.
    public struct Block {
        public let attention: AttentionLayer?
        public let squeezeExcitation: SqueezeExcitation?
    }

    public let options: Options
    public let blocks: [Block]

    /// - Parameters:
    ///   - fields: number of field tokens F.
    ///   - width: token width d.
    public init(fields: Int, width: Int, options: Options, name: String, using rng: inout SeededGenerator) {
        self.options = options
        let hidden = options.feedForwardWidth ?? 2 * width
        blocks = (0..<options.layers).map { l in
            let prefix = qualified(name, "blocks.\(l)")
            let attention: AttentionLayer?
            switch options.attention {
            case .isab:
                attention = .induced(InducedSetAttention(width: width, heads: options.heads, inducingPoints: options.inducingPoints,
                                                         feedForwardWidth: hidden, name: qualified(prefix, "attention"), using: &rng))
            case .sab:
                attention = .full(SetAttentionBlock(width: width, heads: options.heads, feedForwardWidth: hidden,
                                                    name: qualified(prefix, "attention"), using: &rng))
            case .none:
                attention = nil
            }
            let se = options.squeezeExcitation
                ? SqueezeExcitation(fields: fields, reduction: options.seReduction, activation: options.seActivation,
                                    name: qualified(prefix, "se"), using: &rng)
                : nil
            return Block(attention: attention, squeezeExcitation: se)
        }
    }

    public var children: [any Module] { for block in blocks { block.attention?.module; block.squeezeExcitation } }

    /// The enhanced tokens and what each block did.
    public struct Result {
        /// `X^(L)` `[batch, F, d]`.
        public let output: Variable
        /// Per block with SE, the field weights `a` `[batch, F]`.
        public let fieldWeights: [Variable]
        /// Per block with induced attention, the attention of the inducing points over the fields
        /// `[batch, H, m, F]`.
        public let groupAttention: [Tensor]
    }

    /// `x` `[batch, F, d]` → `Result`.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Result {
        var tokens = x
        var fieldWeights: [Variable] = [], groupAttention: [Tensor] = []
        for block in blocks {
            let seFirst = options.sePlacement == .beforeAttention
            if seFirst, let se = block.squeezeExcitation {
                let (output, weights) = se(tokens, context)
                tokens = output
                fieldWeights.append(weights)
            }
            switch block.attention {
            case .induced(let layer)?:
                let (output, _, attention) = layer(tokens, context)
                tokens = output
                groupAttention.append(attention)
            case .full(let layer)?:
                tokens = layer(tokens, tokens, context).output
            case nil:
                break
            }
            if !seFirst, let se = block.squeezeExcitation {
                let (output, weights) = se(tokens, context)
                tokens = output
                fieldWeights.append(weights)
            }
        }
        return Result(output: tokens, fieldWeights: fieldWeights, groupAttention: groupAttention)
    }
}
