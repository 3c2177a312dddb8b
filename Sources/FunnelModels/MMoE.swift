import FunnelCore
import FunnelData
import FunnelNN

/// Multi-gate Mixture-of-Experts (Ma et al., KDD 2018).
///
/// ```
/// e   = Embed(x)                      [B, D]
/// f_i = Expert_i(e)                   [B, h]   i = 1..K
/// g_t = softmax(W_t e + b_t)          [B, K]   one gate per task
/// u_t = Σ_i g_t,i · f_i               [B, h]
/// z_t = Tower_t(u_t)                  [B]
/// ```
/// Shared parameters: the embedding and all experts.
public final class MMoE: MultiTaskModel {
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        public var experts = 8
        public var expertWidths = [256, 128]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0

        public init(embeddingWidth: Int = 16, experts: Int = 8, expertWidths: [Int] = [256, 128], towerWidths: [Int] = [64],
                    batchNorm: Bool = true, dropout: Float = 0) {
            self.embeddingWidth = embeddingWidth
            self.experts = experts
            self.expertWidths = expertWidths
            self.towerWidths = towerWidths
            self.batchNorm = batchNorm
            self.dropout = dropout
        }
    }

    public let configuration: Configuration
    public let embedding: FieldEmbedding
    public let experts: [MLP]
    public let gates: [SoftmaxGate]
    public let towers: [MLP]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        let input = embedding.outputWidth
        experts = (0..<c.experts).map { i in
            MLP(inputWidth: input, hiddenWidths: c.expertWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                name: "experts.\(i)", using: &rng)
        }
        gates = tasks.indices.map { t in SoftmaxGate(inputWidth: input, experts: c.experts, name: "gates.\(t)", using: &rng) }
        towers = tasks.indices.map { t in
            MLP(inputWidth: c.expertWidths.last ?? input, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm,
                dropout: c.dropout, outputLayer: true, name: "towers.\(t)", using: &rng)
        }
    }

    public var parameters: [Parameter] {
        embedding.parameters + experts.flatMap(\.parameters) + gates.flatMap(\.parameters) + towers.flatMap(\.parameters)
    }

    public var buffers: [Parameter] { experts.flatMap(\.buffers) + towers.flatMap(\.buffers) }

    public var sharedParameters: [Parameter] { embedding.parameters + experts.flatMap(\.parameters) }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let expertOutputs = experts.map { $0(e, context) }
        let heads = zip(gates, towers).map { gate, tower in
            tower(mixture(weights: gate(e, context), experts: expertOutputs), context)
        }
        return ModelOutput(logits: heads)
    }

    /// Gate weights per task for a batch (for inspection), each `[batch, experts]`.
    public func gateWeights(_ batch: Batch) -> [Tensor] {
        let context = ForwardContext.inference()
        let e = embedding(batch, context)
        return gates.map { $0(e, context).value }
    }
}
