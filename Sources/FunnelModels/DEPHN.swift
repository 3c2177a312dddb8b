import FunnelCore
import FunnelData
import FunnelNN

/// DEPHN, Different Expression Parallel Heterogeneous Network with virtual gradient optimisation (Kong, Su, Zhao,
/// Hou, IJCNN 2023, arXiv 2307.12519), built on PHN (arXiv 2206.09184). Spec: dephn.md. Registry name `dephn`.
///
/// Bottom to top, as the paper's Fig. 2:
/// ```
/// E       = Embed(x)                                              [B, F, d]
/// E_sg^b  = E + σ(g^b) ⊙ (MSA(E) − E)       one SSG per branch     [B, D]     (HeterogeneousExperts)
/// o_k     = LeakyMLP_k(E_sg^dnn)            public DNN experts     [B, h]     k = 1..K
/// e¹_t, e²_t = Cross_t(E_sg^cf,t), Field_t(E_sg^cf,t)   private    [B, D] each
/// z_t^pub = ⟨W^t, [G̃^t_kp · f_p(o_k)]_kp⟩ + b_t^pub   f_1 = id (RM), f_2 = sin (TM)
/// z_t^pri = ⟨W^t_pri, [e¹_t ‖ e²_t]⟩ + b_t^pri
/// ŷ_t     = σ(z_t^pub + z_t^pri)
/// G̃^t_kp  = G^t_kp in value; ∂L/∂G^t_kp = Γ^t_kp · ∂L/∂G̃^t_kp,  Γ^t_kp = Π_{j≠t} γ(x_jt, min(1, |G^t_kp − G^j_kp|))
///           x_jt = |Pearson(Y_j, Y_t)| over the mini-batch; computed in training forwards only.
/// ```
/// Heads: `.logit` for binary tasks (`.probability` with `outputCombination: .averageProbabilities`), `.value`
/// (z^pub + z^pri) for continuous ones. Shared parameters: the embedding, the shared MSA and every public branch
/// and expert.
///
/// Parameter names: `embedding.weight`, `dense_projection.*`, those of `HeterogeneousExperts` (`attention.*`,
/// `ssg.*.gate`, `dnn.*`, `cross.*`, `field.*`), `gates.{t}` `[K, P]` (trainable values) or `gates.{t}.weight` /
/// `.bias` (mapping gating), `towers.{t}.{s}.linears.{j}.*` (stream towers, s = k·P + p), `public_heads.{t}.*`
/// (Linear(Σ stream widths → 1)) and `private_heads.{t}.*` (Linear(Σ private widths → 1); absent when no expert
/// is private).
///
/// Paper points and decisions, with the switch (`Configuration` key) selecting each alternative:
/// - [PAPER] SSG: a trainable element-wise gate between E and its self-attention, one per branch; gate init 0
///   [DECISION]; `useSSG: false` drops it. MSA with H = 2 heads, scaled scores, W_O without bias, no
///   LayerNorm/residual [DECISION]; shared by all branches [DECISION], `sharedAttention: false` for one per
///   branch; `attentionHeads`.
/// - [PAPER] public DNN experts with LeakyReLU; K = 3 [PAPER figure], widths [256, 128] [DECISION]
///   (`publicExperts`, `expertWidths`, `leakySlope`).
/// - [PAPER] private Cross (DCN + DCN-V2 combined) and Field-Interaction (PHN form: mixes the current V, multiplies
///   V_0) modules per task; L_c = L_f = 3 [DECISION] (`crossLayers`, `fieldLayers`); cross residual gated ρ_l
///   init 1 [DECISION], `residual: .plain | .none`. Not built: the low-rank Ω_l of the spec's large-D option.
/// - [PAPER] placement of the paper's Table I: `placement: .dnnPublicCFPrivate` (default) `| .dnnPublicCFPublic
///   | .dnnPrivateCFPublic`; public outputs are mapped and gated, private ones read out linearly.
/// - [PAPER idea] explicit mappings RM = identity, TM = sin, P = 2 [DECISION]: `mappings: .rmTm | .rm | .tm |
///   .rmSinCos`.
/// - [PAPER] trainable-value gates per (task, expert, mapping), init 1, unnormalised [DECISION]:
///   `gateNormalization: .softmax`; `gating: .mapping` for the paper's input-dependent MG alternative.
/// - [DECISION] linear readout W^t (dot product per stream): `towerHidden: [64]` inserts a LeakyReLU MLP per
///   stream (the gate scales the stream's input).
/// - [DECISION] output σ(z^pub + z^pri); `outputCombination: .averageProbabilities` for ½(σ(z^pub) + σ(z^pri)).
/// - [PAPER] virtual gradient with γ = additive square root and Pearson similarity: `virtualGradient: false`,
///   `vgFunction` (the eight candidates of Fig. 4), `vgSimilarity: .cosine`; sqrt(|·|) [DECISION]; constant
///   labels in a batch give x = 0 [DECISION], `constantLabelPolicy: .skip` sets the pair's factor to 1; no
///   clipping [DECISION], `virtualGradientClip: c`. With mapping gating, y and Γ are per row.
/// - [DECISION] embedding N(0, 1e-4²): `embeddingInit: .xavierUniform`.
public final class DEPHN: MultiTaskModel {
    public static let registryName = "dephn"

    public let configuration: Configuration
    public let tasks: [TaskSpec]
    public let embedding: FieldEmbedding
    public let experts: HeterogeneousExperts
    /// One gate per task over the public streams, of the kind `gating` names.
    public let gates: [StreamGate]
    /// Per task, one tower per public stream (empty without `towerHidden`).
    public let towers: [[LeakyMLP]]
    public let publicHeads: [Linear]
    public let privateHeads: [Linear]
    /// The explicit mappings f_p, in order.
    public let mappings: [ExplicitMapping]
    /// What the virtual gradient did in the last training forward (nil before one, or when it is off).
    public private(set) var lastVirtualGradient: VirtualGradientRecord?

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        precondition(!tasks.isEmpty, "DEPHN needs at least one task")
        configuration = c
        self.tasks = tasks
        let embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, initializer: c.embeddingInit.initializer, using: &rng)
        self.embedding = embedding
        let experts = HeterogeneousExperts(fieldCount: embedding.fieldCount, embeddingWidth: c.embeddingWidth, tasks: tasks.count,
                                           options: c.expertOptions, using: &rng)
        self.experts = experts
        mappings = c.mappings.mappings
        let streams = Self.publicWidths(experts).flatMap { width in Array(repeating: width, count: c.mappings.mappings.count) }
        gates = tasks.indices.map { t in
            switch c.gating {
            case .trainableValue:
                .trainableValue(TrainableValueGate(experts: streams.count / c.mappings.mappings.count, mappings: c.mappings.mappings.count,
                                                   normalization: c.gateNormalization, name: "gates.\(t)"))
            case .mapping:
                .mapping(SoftmaxGate(inputWidth: embedding.outputWidth, experts: streams.count, name: "gates.\(t)", using: &rng))
            }
        }
        towers = c.towerHidden.isEmpty ? [] : tasks.indices.map { t in
            streams.enumerated().map { s, width in
                LeakyMLP(inputWidth: width, hiddenWidths: c.towerHidden, slope: c.leakySlope, name: "towers.\(t).\(s)", using: &rng)
            }
        }
        let readout = c.towerHidden.isEmpty ? streams.reduce(0, +) : streams.count * c.towerHidden.last!
        publicHeads = tasks.indices.map { t in Linear(readout, 1, name: "public_heads.\(t)", using: &rng) }
        let privateWidth = Self.privateWidth(experts)
        privateHeads = privateWidth == 0 ? [] : tasks.indices.map { t in Linear(privateWidth, 1, name: "private_heads.\(t)", using: &rng) }
    }

    public var children: [any Module] { embedding; experts; gates.map(\.module); towers; publicHeads; privateHeads }

    public var sharedParameters: [Parameter] { embedding.parameters + experts.sharedParameters }

    /// Names of the public experts, in gate order (`dnn.0` …, `cross`, `field`).
    public var publicExpertNames: [String] {
        let p = experts.options.placement
        return (p.dnnIsPublic ? (0..<experts.options.dnnExperts).map { "dnn.\($0)" } : []) + (p.crossFieldIsPublic ? ["cross", "field"] : [])
    }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let out = experts(e, context)
        let placement = experts.options.placement
        let publicOutputs = (placement.dnnIsPublic ? out.dnn[0] : []) + (placement.crossFieldIsPublic ? [out.crossField[0].cross, out.crossField[0].field] : [])
        let streams = publicOutputs.flatMap { o in mappings.map { $0(o) } }          // expert-major (k, p)
        let widths = streams.map { $0.shape[1] }
        let mapped = Variable.concat(streams, alongAxis: 1)                          // [B, Σ widths]
        let gates = virtuallyScaled(rawGates(out.publicView, context), batch: batch, context)
        let heads = tasks.indices.map { t -> TaskHead in
            let gated = mapped * repeatingColumns(gates[t], widths: widths)
            let readout = towers.isEmpty
                ? gated
                : Variable.concat(zip(towers[t], gated.split(sizes: widths, alongAxis: 1)).map { $0($1, context) }, alongAxis: 1)
            let zPublic = publicHeads[t](readout, context).reshaped([batch.count])
            let privateOutputs = (placement.dnnIsPublic ? [] : out.dnn[t])
                + (placement.crossFieldIsPublic ? [] : [out.crossField[t].cross, out.crossField[t].field])
            guard !privateHeads.isEmpty else { return head(t, zPublic, nil) }
            let zPrivate = privateHeads[t](Variable.concat(privateOutputs, alongAxis: 1), context).reshaped([batch.count])
            return head(t, zPublic, zPrivate)
        }
        return ModelOutput(heads: heads)
    }

    /// The task head of public and private logits (`zPrivate` nil when nothing is private).
    private func head(_ t: Int, _ zPublic: Variable, _ zPrivate: Variable?) -> TaskHead {
        let sum = zPrivate.map { zPublic + $0 } ?? zPublic
        guard tasks[t].kind == .binary else { return .value(sum) }
        guard configuration.outputCombination == .averageProbabilities else { return .logit(sum) }
        let probability = zPrivate.map { (zPublic.sigmoid() + $0.sigmoid()) * 0.5 } ?? zPublic.sigmoid()
        return .probability(probability)
    }

    /// Each task's gate values before the virtual gradient: `[1, K·P]` (trainable values) or `[B, K·P]`.
    private func rawGates(_ publicView: Variable, _ context: ForwardContext) -> [Variable] {
        gates.map { $0(publicView, context) }
    }

    /// The gates with Γ applied to their gradients, in training forwards with the virtual gradient on (values
    /// unchanged); records `lastVirtualGradient`.
    private func virtuallyScaled(_ gates: [Variable], batch: Batch, _ context: ForwardContext) -> [Variable] {
        guard context.isTraining, let settings = configuration.virtualGradientSettings else { return gates }
        precondition(batch.taskCount == tasks.count, "\(batch.taskCount) label columns for \(tasks.count) tasks")
        let similarities = settings.similarities(labels: batch.labels)
        let values = gates.map(\.value)
        let coefficients = gates.indices.map { settings.coefficients(task: $0, gates: values, similarities: similarities) }
        lastVirtualGradient = VirtualGradientRecord(similarities: similarities, coefficients: coefficients.map(Self.columnMeans))
        return zip(gates, coefficients).map { $0.scalingGradient(by: $1) }
    }

    /// Column means of `[N, S]` (the identity for N = 1).
    private static func columnMeans(_ t: Tensor) -> [Float] {
        let (rows, columns) = (t.shape[0], t.shape[1])
        return (0..<columns).map { s in
            Float((0..<rows).reduce(0.0) { $0 + Double(t.pointer[$1 * columns + s]) } / Double(rows))
        }
    }

    private static func publicWidths(_ experts: HeterogeneousExperts) -> [Int] {
        let p = experts.options.placement
        return (p.dnnIsPublic ? Array(repeating: experts.dnnWidth, count: experts.options.dnnExperts) : [])
            + (p.crossFieldIsPublic ? [experts.crossFieldWidth, experts.crossFieldWidth] : [])
    }

    private static func privateWidth(_ experts: HeterogeneousExperts) -> Int {
        let p = experts.options.placement
        return (p.dnnIsPublic ? 0 : experts.dnnWidth * experts.options.dnnExperts) + (p.crossFieldIsPublic ? 0 : 2 * experts.crossFieldWidth)
    }
}

extension DEPHN {
    /// One task's gate over the public streams (`gating`): trainable values `[1, K·P]`, or a mapping gate
    /// softmax(Linear(E_sg^pub)) `[B, K·P]`. Both are named `gates.{t}`.
    public enum StreamGate {
        case trainableValue(TrainableValueGate)
        case mapping(SoftmaxGate)

        /// The gate as a module (its parameters).
        public var module: any Module {
            switch self {
            case .trainableValue(let gate): gate
            case .mapping(let gate): gate
            }
        }

        /// The trainable-value gate, nil for a mapping gate.
        public var trainableValue: TrainableValueGate? {
            if case .trainableValue(let gate) = self { gate } else { nil }
        }

        /// The mapping gate, nil for a trainable-value gate.
        public var mapping: SoftmaxGate? {
            if case .mapping(let gate) = self { gate } else { nil }
        }

        /// The gate values for the public view `[B, D]` of a batch.
        func callAsFunction(_ publicView: Variable, _ context: ForwardContext) -> Variable {
            switch self {
            case .trainableValue(let gate): gate(context)
            case .mapping(let gate): gate(publicView, context)
            }
        }
    }
}
