import FunnelCore
import FunnelData
import FunnelNN

/// Single-task DNNs (MTReclib's SingleTask; baselines.md §2): T independent models, one per task, each with its
/// own embedding, bottom MLP and tower, trained only on its own task's loss.
///
/// ```
/// e_t = Embed_t(x)                    [B, D]     (one shared Embed with `shareEmbedding`)
/// h_t = Bottom_t(e_t)                 [B, h]
/// z_t = Tower_t(h_t)                  [B]        (logit, prediction, or [B, 3] ZILN logits)
/// ```
/// Parameters `embeddings.{t}.weight` and `dense_projections.{t}.*` (or `embedding.weight`,
/// `dense_projection.*` when shared), `bottoms.{t}.*`, `towers.{t}.*`. Shared parameters: none, or the embedding.
public final class SingleTaskDNN: MultiTaskModel {
    /// Defaults: the parity configuration (baselines.md §1.8: d = 16, bottom [256, 128], tower [64], BN, the
    /// numerical oracle's dropout 0; MTReclib uses d = 128, [512, 256], [128, 64], dropout 0.2).
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        public var bottomWidths = [256, 128]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0
        /// One embedding for all tasks: the "shared-embedding-only" baseline (ESMM without the chain). §2.
        public var shareEmbedding = false

        public init() {}
    }

    public let configuration: Configuration
    /// One embedding per task, or a single shared one.
    public let embeddings: [FieldEmbedding]
    public let bottoms: [MLP]
    public let towers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        embeddings = c.shareEmbedding
            ? [FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)]
            : tasks.indices.map { t in
                FieldEmbedding(layout: features, width: c.embeddingWidth, name: "embeddings.\(t)",
                               projectionName: "dense_projections.\(t)", using: &rng)
            }
        let input = embeddings[0].outputWidth
        bottoms = tasks.indices.map { t in
            MLP(inputWidth: input, hiddenWidths: c.bottomWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                name: "bottoms.\(t)", using: &rng)
        }
        let bottomWidth = bottoms[0].outputWidth
        towers = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: bottomWidth, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm,
                      dropout: c.dropout, task: task, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embeddings; bottoms; towers }

    public var sharedParameters: [Parameter] { configuration.shareEmbedding ? embeddings[0].parameters : [] }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let shared = configuration.shareEmbedding ? embeddings[0](batch, context) : nil
        let heads = towers.indices.map { t in
            let e = shared ?? embeddings[t](batch, context)
            return towers[t](bottoms[t](e, context), context)
        }
        return ModelOutput(heads: heads)
    }
}
