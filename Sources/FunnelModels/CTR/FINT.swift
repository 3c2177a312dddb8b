import FunnelCore
import FunnelData
import FunnelNN

/// FINT (baselines.md §13.5, §13.7), one network per task: `z = Tower(flatten(FINT(E)))`. Parameters per task
/// `networks.{t}.`: `fint.layers.{l}.{weight, scale}` (see `FieldInteraction`), `tower.*` (MLP with output
/// layer), besides the embedding (see `PerTaskModel`).
public typealias FINT = PerTaskModel<FINTNetwork>

public struct FINTConfiguration: CTRConfiguration {
    public var embeddingWidth = 16
    public var shareEmbedding = false
    public var interaction = FieldInteraction.Options()
    /// The paper's tower.
    public var towerWidths = [300, 300, 300]
    public var batchNorm = true
    public var dropout: Float = 0

    public init() {}
}

public final class FINTNetwork: SingleTaskNetwork {
    public let interaction: FieldInteraction
    public let tower: MLP

    public init(configuration c: FINTConfiguration, features: FeatureLayout, name: String, using rng: inout SeededGenerator) {
        interaction = FieldInteraction(fieldCount: features.fieldCount, embeddingWidth: c.embeddingWidth, options: c.interaction,
                                       name: qualified(name, "fint"), using: &rng)
        tower = MLP(inputWidth: interaction.outputWidth, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                    outputLayer: true, name: qualified(name, "tower"), using: &rng)
    }

    public var children: [any Module] { interaction; tower }
    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable {
        tower(interaction(e, context), context)
    }
}
