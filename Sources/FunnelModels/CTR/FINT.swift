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

    public init(embeddingWidth: Int = 16, shareEmbedding: Bool = false, interaction: FieldInteraction.Options = .init(),
                towerWidths: [Int] = [300, 300, 300], batchNorm: Bool = true, dropout: Float = 0) {
        self.embeddingWidth = embeddingWidth
        self.shareEmbedding = shareEmbedding
        self.interaction = interaction
        self.towerWidths = towerWidths
        self.batchNorm = batchNorm
        self.dropout = dropout
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        try decode(&embeddingWidth, .embeddingWidth, from: c)
        try decode(&shareEmbedding, .shareEmbedding, from: c)
        try decode(&interaction, .interaction, from: c)
        try decode(&towerWidths, .towerWidths, from: c)
        try decode(&batchNorm, .batchNorm, from: c)
        try decode(&dropout, .dropout, from: c)
    }
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

    public var parameters: [Parameter] { interaction.parameters + tower.parameters }
    public var buffers: [Parameter] { tower.buffers }

    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable {
        tower(interaction(e, context), context)
    }
}
