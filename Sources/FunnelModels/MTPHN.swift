import FunnelCore
import FunnelData
import FunnelNN

/// MT-PHN, the intermediate model of DEPHN's Table I (dephn.md §8, "MT-PHN"): PHN's heterogeneous experts fed by
/// soft selection gating, mixed per task by ordinary input-dependent gates (CGC-style: each task sees the public
/// experts and its own). No explicit mappings, no virtual gradient. Registry name `mt-phn`.
/// ```
/// E_sg^b, o_k, (x_{L_c}, V_{L_f}) as DEPHN (HeterogeneousExperts)
/// C&F expert  c = Linear(2D → h)([x_{L_c} ‖ flatten(V_{L_f})])                  [B, h]
/// experts of task t: the public ones, then t's private ones (n_t in all)        [B, h] each
/// g_t = softmax(Linear(D → n_t)(flatten(E)))                                     [B, n_t]
/// u_t = Σ_i g_t,i · expert_i;   z_t = Tower_t(u_t)                               [B]
/// ```
/// [DECISION]s: the DNN experts already give h = `expertWidths.last`, so only the C&F expert is projected (the
/// spec's "each expert output is projected" read as MMoE's project-when-widths-differ); towers are LeakyReLU MLPs
/// (`towerWidths`, default [64]) with an output layer; gates read the raw embedding. Placement, SSG and expert
/// switches are DEPHN's (`placement`, `useSSG`, `sharedAttention`, `residual`, …).
///
/// Parameter names: `embedding.*`, `dense_projection.*`, `HeterogeneousExperts`' names, `cf_projection[.{t}].*`
/// (`{t}` when the C&F module is private), `gates.{t}.*`, `towers.{t}.linears.{j}.*`, `towers.{t}.output.*`.
/// Shared: the embedding, the shared MSA and the public branches, experts and C&F projection.
public final class MTPHN: MultiTaskModel {
    public static let registryName = "mt-phn"

    public struct Configuration: Codable, Equatable, Sendable {
        public var embeddingWidth = 16
        public var embeddingInit = DEPHN.EmbeddingInitialization.smallNormal
        public var attentionHeads = 2
        public var useSSG = true
        public var sharedAttention = true
        public var placement = ExpertPlacement.dnnPublicCFPrivate
        /// DNN experts per DNN branch.
        public var dnnExperts = 3
        public var expertWidths = [256, 128]
        public var leakySlope: Float = 0.01
        public var crossLayers = 3
        public var fieldLayers = 3
        public var residual = CrossNetwork.Residual.gated
        public var towerWidths = [64]

        public init() {}

        public var expertOptions: HeterogeneousExperts.Options {
            var o = HeterogeneousExperts.Options()
            o.placement = placement
            o.useSSG = useSSG
            o.sharedAttention = sharedAttention
            o.attentionHeads = attentionHeads
            o.dnnExperts = dnnExperts
            o.dnnWidths = expertWidths
            o.leakySlope = leakySlope
            o.crossLayers = crossLayers
            o.crossResidual = residual
            o.fieldLayers = fieldLayers
            return o
        }
    }

    public let configuration: Configuration
    public let tasks: [TaskSpec]
    public let embedding: FieldEmbedding
    public let experts: HeterogeneousExperts
    /// Linear(2D → h) per C&F branch.
    public let crossFieldProjections: [Linear]
    public let gates: [SoftmaxGate]
    public let towers: [LeakyMLP]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        self.tasks = tasks
        let embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, initializer: c.embeddingInit.initializer, using: &rng)
        self.embedding = embedding
        let experts = HeterogeneousExperts(fieldCount: embedding.fieldCount, embeddingWidth: c.embeddingWidth, tasks: tasks.count,
                                           options: c.expertOptions, using: &rng)
        self.experts = experts
        let h = experts.dnnWidth, placement = c.placement
        crossFieldProjections = experts.cross.indices.map { b in
            Linear(2 * experts.crossFieldWidth, h, name: placement.crossFieldIsPublic ? "cf_projection" : "cf_projection.\(b)", using: &rng)
        }
        // Per task: K DNN experts and one C&F expert, public or private.
        let perTask = c.dnnExperts + 1
        gates = tasks.indices.map { t in SoftmaxGate(inputWidth: embedding.outputWidth, experts: perTask, name: "gates.\(t)", using: &rng) }
        towers = tasks.indices.map { t in
            LeakyMLP(inputWidth: h, hiddenWidths: c.towerWidths, slope: c.leakySlope, outputLayer: true, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; experts; crossFieldProjections; gates; towers }

    public var sharedParameters: [Parameter] {
        embedding.parameters + experts.sharedParameters
            + (configuration.placement.crossFieldIsPublic ? crossFieldProjections.flatMap(\.parameters) : [])
    }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let out = experts(e, context)
        let crossField = zip(crossFieldProjections, out.crossField).map { projection, o in
            projection(Variable.concat([o.cross, o.field], alongAxis: 1), context)
        }
        let placement = configuration.placement
        let shared = (placement.dnnIsPublic ? out.dnn[0] : []) + (placement.crossFieldIsPublic ? [crossField[0]] : [])
        let heads = tasks.indices.map { t -> TaskHead in
            let own = (placement.dnnIsPublic ? [] : out.dnn[t]) + (placement.crossFieldIsPublic ? [] : [crossField[t]])
            let z = towers[t](mixture(weights: gates[t](e, context), experts: shared + own), context)
            return tasks[t].kind == .binary ? .logit(z) : .value(z)
        }
        return ModelOutput(heads: heads)
    }

    /// Gate weights per task for a batch (inspection), each `[B, n_t]` over the public experts, then the task's own.
    public func gateWeights(_ batch: Batch) -> [Tensor] {
        let context = ForwardContext.inference()
        let e = embedding(batch, context)
        return gates.map { $0(e, context).value }
    }
}
