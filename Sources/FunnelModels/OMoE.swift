import FunnelCore
import FunnelData
import FunnelNN

/// One-gate Mixture-of-Experts (Ma et al., KDD 2018; baselines.md §4): MMoE with a single gate shared by all
/// tasks.
///
/// ```
/// e   = Embed(x)                      [B, D]
/// f_i = Expert_i(e)                   [B, h]     i = 1..K
/// g   = softmax(W_g e + b_g)          [B, K]     one gate for all tasks
/// u   = Σ_i g_i · f_i                 [B, h]
/// z_t = Tower_t(u)                    [B]
/// ```
/// Parameters `embedding.*`, `dense_projection.*`, `experts.{i}.*`, `gate.*`, `towers.{t}.*`. Shared: the
/// embedding, the experts and the gate.
public final class OMoE: MultiTaskModel {
    /// Defaults: the parity configuration of MMoE (baselines.md §1.8): d = 16, 8 experts MLP [256, 128], towers
    /// [64], BN, dropout 0 (MTReclib: d = 128, experts [512, 256], towers [128, 64], dropout 0.2).
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        public var experts = 8
        public var expertWidths = [256, 128]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0

        public init() {}
    }

    public let configuration: Configuration
    public let embedding: FieldEmbedding
    public let experts: [MLP]
    public let gate: SoftmaxGate
    public let towers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        precondition(c.experts >= 1 && !c.expertWidths.isEmpty, "OMoE needs at least one expert with at least one layer")
        configuration = c
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        let input = embedding.outputWidth
        experts = (0..<c.experts).map { i in
            MLP(inputWidth: input, hiddenWidths: c.expertWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                name: "experts.\(i)", using: &rng)
        }
        gate = SoftmaxGate(inputWidth: input, experts: c.experts, name: "gate", using: &rng)
        towers = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: c.expertWidths.last!, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm,
                      dropout: c.dropout, task: task, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; experts; gate; towers }

    public var sharedParameters: [Parameter] { embedding.parameters + experts.flatMap(\.parameters) + gate.parameters }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let u = mixture(weights: gate(e, context), experts: experts.map { $0(e, context) })
        return ModelOutput(heads: towers.map { $0(u, context) })
    }
}
