import FunnelCore
import FunnelData
import FunnelNN

/// NFM (baselines.md §13.3, §13.7), one network per task:
/// ```
/// z = Σ_f w_{f, x_f} + ⟨w_num, x_num⟩ + Tower(BN(Dropout(f_BI))),     f_BI = bi-interaction pooling of E
/// ```
/// Parameters per task `networks.{t}.`: `linear.embedding.weight` `[Σ V, 1]`, `linear.dense_projection.weight`
/// (the first-order term, without its own w_0: the tower's output bias is the constant), `bi_norm.*` (with
/// `biInteractionNorm`), `tower.*` (MLP with output layer), besides the embedding (see `PerTaskModel`).
public typealias NFM = PerTaskModel<NFMNetwork>

public struct NFMConfiguration: CTRConfiguration {
    public var embeddingWidth = 16
    public var shareEmbedding = false
    /// Tower hidden widths ([DECISION] one layer of 64, the depth the NFM paper found best).
    public var towerWidths = [64]
    /// Batch norm on the pooled vector f_BI (as in the paper).
    public var biInteractionNorm = true
    public var batchNorm = true
    /// Dropout on f_BI and after each tower layer.
    public var dropout: Float = 0

    public init() {}
}

public final class NFMNetwork: SingleTaskNetwork {
    public let linear: FirstOrderTerm
    public let pooling: BiInteraction
    public let norm: BatchNorm?
    public let tower: MLP
    public let dropout: Float

    public init(configuration c: NFMConfiguration, features: FeatureLayout, name: String, using rng: inout SeededGenerator) {
        linear = FirstOrderTerm(layout: features, bias: false, name: qualified(name, "linear"), using: &rng)
        pooling = BiInteraction(fieldCount: features.fieldCount, embeddingWidth: c.embeddingWidth)
        norm = c.biInteractionNorm ? BatchNorm(c.embeddingWidth, name: qualified(name, "bi_norm")) : nil
        tower = MLP(inputWidth: c.embeddingWidth, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                    outputLayer: true, name: qualified(name, "tower"), using: &rng)
        dropout = c.dropout
    }

    public var children: [any Module] { linear; norm; tower }
    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable {
        var pooled = pooling(e, context)
        if context.isTraining && dropout > 0 { pooled = pooled.dropout(rate: dropout, using: &context.rng) }
        if let norm { pooled = norm(pooled, context) }
        return linear(batch, context) + tower(pooled, context)
    }
}
