import FunnelCore
import FunnelData
import FunnelNN

/// Shared-Bottom (Caruana 1997; baselines.md §3): one bottom MLP shared by all tasks, one tower per task.
///
/// ```
/// e   = Embed(x)                      [B, D]
/// h   = Bottom(e)                     [B, h]
/// z_t = Tower_t(h)                    [B]        t = 1..T
/// ```
/// Parameters `embedding.*`, `dense_projection.*`, `bottom.*`, `towers.{t}.*`. Shared: the embedding and the bottom.
public final class SharedBottom: MultiTaskModel {
    /// Defaults: the parity configuration (baselines.md §1.8): d = 16, bottom [256, 128], towers [64], BN,
    /// dropout 0 (MTReclib: d = 128, [512, 256], [128, 64], dropout 0.2).
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        public var bottomWidths = [256, 128]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0

        public init() {}
    }

    public let configuration: Configuration
    public let embedding: FieldEmbedding
    public let bottom: MLP
    public let towers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        bottom = MLP(inputWidth: embedding.outputWidth, hiddenWidths: c.bottomWidths, batchNorm: c.batchNorm,
                     dropout: c.dropout, name: "bottom", using: &rng)
        let bottomWidth = bottom.outputWidth
        towers = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: bottomWidth, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm,
                      dropout: c.dropout, task: task, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; bottom; towers }

    public var sharedParameters: [Parameter] { embedding.parameters + bottom.parameters }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let h = bottom(embedding(batch, context), context)
        return ModelOutput(heads: towers.map { $0(h, context) })
    }
}
