import FunnelCore

/// Soft Selection Gating (PHN/DEPHN, dephn.md §4.2): a trainable element-wise choice between the raw field
/// embeddings and their multi-head self-attention across fields,
/// ```
/// E_SA = MSA(E)                                    [B, F, d]
/// E_sg = G ⊙ E_SA + (1 − G) ⊙ E = E + G ⊙ (E_SA − E),    G = σ(g),  g ∈ R^{F·d}
/// ```
/// evaluated as the right-hand form (one product per branch when several branches share `E_SA − E`).
/// The gate is a parameter, not a function of the input; g = 0 at initialisation (G = 0.5).
///
/// One block per branch (DEPHN: the public DNN branch, each task's Cross + Field branch). The attention is either
/// the block's own or shared by several blocks (`sharedAttention`, the default of DEPHN); a model with a shared
/// attention computes `attentionDifference` once and calls `mixing(_:difference:_:)` per branch.
///
/// Parameters: `<name>.gate` `[F·d]`, and with an own attention `<name>.attention.*` (`MultiHeadAttention`).
public final class SoftSelectionGating: Module {
    /// g, the pre-sigmoid gate over the flattened embedding `[F·d]`.
    public let gate: Parameter
    /// The self-attention this branch reads.
    public let attention: MultiHeadAttention
    /// Whether `attention` belongs to this block (and its parameters to `parameters`).
    public let ownsAttention: Bool
    public let fieldCount: Int
    public let embeddingWidth: Int

    /// A block with its own attention: H = `heads` heads of width d/H, scaled scores, output projection W_O
    /// `[d, d]` without bias, no Q/K/V biases (dephn.md §4.2).
    public convenience init(fieldCount: Int, embeddingWidth: Int, heads: Int = 2, name: String, using rng: inout SeededGenerator) {
        let attention = SoftSelectionGating.makeAttention(embeddingWidth: embeddingWidth, heads: heads,
                                                          name: qualified(name, "attention"), using: &rng)
        self.init(fieldCount: fieldCount, embeddingWidth: embeddingWidth, attention: attention, ownsAttention: true, name: name)
    }

    /// A block reading `attention` (shared with other blocks unless `ownsAttention`).
    public init(fieldCount: Int, embeddingWidth: Int, attention: MultiHeadAttention, ownsAttention: Bool = false, name: String) {
        precondition(attention.outputWidth == embeddingWidth, "attention output \(attention.outputWidth) ≠ d = \(embeddingWidth)")
        self.fieldCount = fieldCount
        self.embeddingWidth = embeddingWidth
        self.attention = attention
        self.ownsAttention = ownsAttention
        gate = Parameter(name: qualified(name, "gate"), value: Tensor(zeros: [fieldCount * embeddingWidth]))
    }

    /// DEPHN's attention over fields: `heads` heads of width d/heads (which must divide d), scores scaled by
    /// 1/√d_k, output projection `[d, d]` without bias. Parameters `<name>.{query,key,value,output}.weight`.
    public static func makeAttention(embeddingWidth d: Int, heads: Int, name: String, using rng: inout SeededGenerator) -> MultiHeadAttention {
        precondition(heads > 0 && d % heads == 0, "\(heads) heads do not divide d = \(d)")
        return MultiHeadAttention(queryWidth: d, heads: heads, headWidth: d / heads, bias: false, scaleScores: true,
                                  outputWidth: d, outputBias: false, name: name, using: &rng)
    }

    public var parameters: [Parameter] { [gate] + (ownsAttention ? attention.parameters : []) }

    /// `E_SA − E` flattened `[B, F·d]`, from `e` `[B, F·d]` (what branches sharing this attention have in common).
    public func attentionDifference(_ e: Variable, _ context: ForwardContext) -> Variable {
        Self.attentionDifference(e, attention: attention, fieldCount: fieldCount, context)
    }

    /// `E_SA − E` `[B, F·d]` of `attention` over the fields of `e` `[B, F·d]`.
    public static func attentionDifference(_ e: Variable, attention: MultiHeadAttention, fieldCount: Int,
                                           _ context: ForwardContext) -> Variable {
        let batch = e.shape[0], width = e.shape[1]
        let attended = attention(e.reshaped([batch, fieldCount, width / fieldCount]), context)
        return attended.reshaped([batch, width]) - e
    }

    /// `E + σ(g) ⊙ difference` `[B, F·d]`, with `difference = E_SA − E` from `attentionDifference`.
    public func mixing(_ e: Variable, difference: Variable, _ context: ForwardContext) -> Variable {
        e + context.use(gate).sigmoid() * difference
    }

    /// E_sg of `e` `[B, F·d]` → `[B, F·d]` (computes the attention).
    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        mixing(e, difference: attentionDifference(e, context), context)
    }

    /// G = σ(g) as `[F, d]` (the heat map of PHN/DEPHN's figures: which fields take the attended view).
    public var gateValues: Tensor {
        Variable(gate.value).sigmoid().value.reshaped([fieldCount, embeddingWidth])
    }

    /// Mean of G over the `F·d` elements.
    public var meanGate: Float {
        let g = gateValues
        return Float(g.scalars.reduce(0.0) { $0 + Double($1) } / Double(max(g.count, 1)))
    }

    /// Mean of G over d, per field `[F]`.
    public var fieldMeanGates: [Float] {
        let g = gateValues.scalars
        return (0..<fieldCount).map { f in
            Float(g[(f * embeddingWidth)..<((f + 1) * embeddingWidth)].reduce(0.0) { $0 + Double($1) } / Double(embeddingWidth))
        }
    }
}
