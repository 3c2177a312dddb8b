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
/// z_t = Tower_t(u_t)                  [B]      a logit, or the prediction of a continuous task
/// ```
/// Shared parameters: the embedding and all experts.
///
/// Experts are MLPs by default; `expertKind` (or `expertKinds`, one per expert, for heterogeneous experts) builds
/// CTR interaction blocks instead (`ExpertKind.makeExpert`), each projected to h = `expertWidths.last` when its
/// output width differs. Parameter names: `embedding.weight`, `dense_projection.*`, `gates.{t}.*`,
/// `towers.{t}.*`, and per expert i: `experts.{i}.linears.{j}.*` / `.norms.{j}.*` (mlp), `experts.{i}.cross.*`
/// (dcn, dcnV2), `experts.{i}.mlp.*` (nfm), `experts.{i}.autoint.*`, `experts.{i}.fint.*`, `experts.{i}.cin.*`,
/// plus `experts.{i}.projection.*` where projected.
public final class MMoE: MultiTaskModel {
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        /// Number of experts K (ignored when `expertKinds` is set).
        public var experts = 8
        /// Hidden widths of MLP experts; the last is the expert output width h.
        public var expertWidths = [256, 128]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0
        /// The kind of every expert.
        public var expertKind = ExpertKind.mlp
        /// One kind per expert (heterogeneous experts); overrides `experts` and `expertKind` when set.
        public var expertKinds: [ExpertKind]?
        /// Hyperparameters of non-MLP experts.
        public var expertSettings = ExpertSettings()

        public init() {}

        /// The kind of each expert, in order.
        public var kinds: [ExpertKind] { expertKinds ?? Array(repeating: expertKind, count: experts) }
    }

    public let configuration: Configuration
    public let embedding: FieldEmbedding
    public let experts: [any ExpertBlock]
    public let gates: [SoftmaxGate]
    public let towers: [MLP]
    /// Binary tasks get `.logit` heads, continuous ones `.value` heads (identity output, baselines.md §14), or
    /// 3-wide `.zeroInflatedLognormal` heads under a ZILN loss (`TaskTower.outputWidth(for:)`).
    public let tasks: [TaskSpec]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        let embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        self.embedding = embedding
        let input = embedding.outputWidth
        let width = c.expertWidths.last ?? input
        experts = c.kinds.enumerated().map { i, kind in
            kind.makeExpert(fieldCount: embedding.fieldCount, embeddingWidth: c.embeddingWidth, mlpWidths: c.expertWidths,
                            batchNorm: c.batchNorm, dropout: c.dropout, settings: c.expertSettings, projectTo: width,
                            name: "experts.\(i)", using: &rng)
        }
        gates = tasks.indices.map { t in SoftmaxGate(inputWidth: input, experts: c.kinds.count, name: "gates.\(t)", using: &rng) }
        self.tasks = tasks
        towers = tasks.indices.map { t in
            MLP(inputWidth: width, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout, outputLayer: true,
                outputs: TaskTower.outputWidth(for: tasks[t]), name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; experts; gates; towers }

    public var sharedParameters: [Parameter] { embedding.parameters + experts.flatMap(\.parameters) }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let expertOutputs = experts.map { $0(e, context) }
        let heads = zip(gates, towers).map { gate, tower in
            tower(mixture(weights: gate(e, context), experts: expertOutputs), context)
        }
        return ModelOutput(heads: zip(heads, tasks).map { z, task in TaskHead(z, for: task) })
    }

    /// Gate weights per task for a batch (for inspection), each `[batch, experts]`.
    public func gateWeights(_ batch: Batch) -> [Tensor] {
        let context = ForwardContext.inference()
        let e = embedding(batch, context)
        return gates.map { $0(e, context).value }
    }
}
