import FunnelCore
import FunnelData
import FunnelNN

/// Entire Space Multi-task Model (Ma et al., SIGIR 2018, Fig. 2; baselines.md §7): one tower per funnel step on
/// a shared embedding; the steps are chained so that every step is trained over the entire impression space.
///
/// ```
/// e   = Embed(x)                      [B, D]     shared
/// z_t = Tower_t(e)                    [B]        conditional step logit, q_t = σ(z_t)
/// p_t = Π_{s ≤ t} q_s                 [B]        entire-space probability (pCTR, pCTCVR, …)
/// L   = Σ_t mean_i BCE(y_t,i, p_t,i)             chained BCE in log space (losses-and-balancing.md §2.3)
/// ```
/// Heads: step 1 `.logit(z_1)`, step t ≥ 2 `.chain([z_1 … z_t])` — the CVR tower has no direct loss and learns
/// only through the product. Extras: the conditional probabilities q_t (t ≥ 2, e.g. `"cvr"`) for masked
/// evaluation on the previous step's positive rows. Continuous tasks (§14) get their own tower on e, trained on
/// their own loss (`regressionHead`). Parameters `embedding.*`, `dense_projection.*`, `towers.{t}.*`. Shared
/// parameters: the embedding (the spec's convention; the step towers are task parameters).
public final class ESMM: MultiTaskModel {
    /// Defaults: the parity configuration (baselines.md §1.8): d = 16, towers MLP [256, 128, 64] + output, BN,
    /// dropout 0.
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        public var towerWidths = [256, 128, 64]
        public var batchNorm = true
        public var dropout: Float = 0
        /// How a continuous task is predicted (§14; default `.direct`).
        public var regressionHead = RegressionHead.direct

        public init() {}
    }

    public let configuration: Configuration
    public let tasks: [TaskSpec]
    public let chain: ConversionChain
    public let embedding: FieldEmbedding
    public let towers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        self.tasks = tasks
        chain = ConversionChain(tasks: tasks)
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        let input = embedding.outputWidth
        towers = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: input, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm,
                      dropout: c.dropout, task: task, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; towers }

    public var sharedParameters: [Parameter] { embedding.parameters }

    /// Trained on entire-space nested labels (the funnel chain).
    public static var traits: ModelTraits { ModelTraits(nestsLabels: true) }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let raw = towers.map { $0.rawOutput(e, context) }
        let (heads, extras) = chain.chainedHeads(raw, tasks: tasks, regressionHead: configuration.regressionHead)
        return ModelOutput(heads: heads, extras: extras)
    }
}
