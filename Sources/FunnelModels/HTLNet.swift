import FunnelCore
import FunnelData
import FunnelNN

/// HTLNet, the Hybrid Targets Learning Network (Tang et al., "Touch the Core: Exploring Task Dependence Among
/// Hybrid Targets for Recommendation", RecSys 2024; spec `htlnet.md`). Binary funnel steps 1 … T−1 and a
/// continuous core target T:
/// ```
///            e = Embed(x)                                        [B, D]        shared (the only shared block)
/// task 1:    h_1 = e                    → tower_1 → z_1, rep_1 = a¹_1
///            le_1 = LEU_1(sg(σ(z_1)))                            [B, d_l]
/// task t≥2:  h_t = [e ‖ IFU^rep_t(sg(rep_1 … rep_{t−1})) ‖ IFU^le_t(le_1 … le_{t−1})]   [B, D + 2·d_h]
///            tower_t → z_t (binary) or ŷ_T (core), rep_t, le_t (binary t < T)
/// ```
/// Towers are MLPs `[128, 64, 32] → 1` (ReLU, no batch norm); LEU = `LabelEmbedding` (Gumbel-softmax sample of the
/// task's own prediction mixing a 2-row label table); IFU = `AttentionFusion`. The stop-gradient sits on the
/// transferred *inputs* p_t and rep_t, so tasks interact only through the embedding while the label tables and
/// fusion units still learn from later losses. Training adjusts the per-task embedding gradients toward the core
/// task's (`HTLNetGradientAdjustment`, applied by `HTLNetBalancer`, balancing `htlnet`, in FunnelTrain).
///
/// Heads: `.logit` for binary tasks; the core task is `.value` (`.zeroInflatedLognormal`, tower width 3, when its
/// loss is ZILN). The core target is transformed for training by its `TaskSpec.targetTransform` (default for HTLNet:
/// `.standardize`) and predictions are inverse-transformed before metrics (`TargetScaling`).
///
/// ## Confidence and switches
/// Almost everything below the abstract is [SECONDARY] (a paper note and a third-party reimplementation). Each
/// [DECISION] and each cheap [SECONDARY] choice is a switch (`Configuration` unless said otherwise):
///
/// | Choice | Default | Switch → alternative |
/// |---|---|---|
/// | rep_t [DECISION] | first hidden layer | `repLayer: .last` |
/// | Training label sample [DECISION] | Gumbel-softmax, soft | `labelSampling: .temperedSoftmax` (reimplementation), `.straightThrough` |
/// | Evaluation label [DECISION] | expected, s = π | `labelInference: .tempered`, `.hard` |
/// | Temperature [SECONDARY] | 10, ×0.9 / 5,000 steps, floor 0.5 | `temperature` (`TemperatureSchedule`) |
/// | Label transfer [SECONDARY] | on | `transferLabels: false` ("w/o label embedding") |
/// | Representation transfer [SECONDARY] | on | `transferRepresentations: false` ("w/o IFU") |
/// | Fusion [SECONDARY] | attention | `fusion: .concat` (no projection) |
/// | IFU sees task t itself [DECISION] | no | `ifuIncludesOwn: true` (own ReLU(Linear(D → rep)) of e) |
/// | Stop-gradient on p_t, rep_t [DECISION] | on | `stopGradientOnTransfer: false` |
/// | Architecture [SECONDARY] | HTLNet | `backbone: .sharedBottom` ("w/o Architecture"; shared = embedding + bottom) |
/// | Core activation [DECISION] | identity | `coreActivation: .softplus` (original scale, target transform `.none`) |
/// | Towers, widths d, d_l, d_h [SECONDARY] | [128, 64, 32], 10, 10, 128 | `towerWidths`, `embeddingWidth`, `labelEmbeddingWidth`, `fusionWidth`, `batchNorm`, `dropout` |
/// | Core loss [SECONDARY / extension] | MSE | the core `TaskSpec.loss` (`.huber`, `.zeroInflatedLognormal`) |
/// | Core target transform [DECISION] | standardize | the core `TaskSpec.targetTransform` |
/// | Loss weights [DECISION] | 1 | `TaskSpec.weight` |
/// | Gradient adjustment [SECONDARY] | balancing `htlnet` | `BalancingMethod` (`fixed` = "w/o Optimization", `pcgrad`, `metabalance`) |
/// | α, γ, C, projection/magnitude halves, norm source, clip mode | 1, 0.1, 10, on/on, after projection, symmetric | `HTLNetGradientAdjustment` fields |
///
/// Parameters: `embedding.weight`, `dense_projection.*`, `towers.t.{linears.i, output}.*`, `label_embeddings.t.weight`,
/// `representation_fusions.t.{h1,h2,h3}.*`, `label_fusions.t.{h1,h2,h3}.*`, `own_representations.t.*`, `bottom.*`.
public final class HTLNet: MultiTaskModel {
    public let configuration: Configuration
    public let tasks: [TaskSpec]
    public let embedding: FieldEmbedding
    /// The shared bottom of `backbone == .sharedBottom`, else nil.
    public let bottom: MLP?
    public let towers: [MLP]
    /// LEU per task (nil for the core task, non-binary tasks, and without label transfer).
    public let labelEmbeddings: [LabelEmbedding?]
    /// IFU^rep per task (nil for task 1, with concatenation, or without representation transfer).
    public let representationFusions: [AttentionFusion?]
    /// IFU^le per task (nil for task 1, with concatenation, or without label transfer).
    public let labelFusions: [AttentionFusion?]
    /// Own-representation layers for `ifuIncludesOwn` (nil otherwise and for task 1).
    public let ownRepresentations: [Linear?]
    /// The current Gumbel-softmax temperature τ (set by `trainingProgress(step:epoch:)`).
    public private(set) var temperature: Float

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        precondition(!tasks.isEmpty && tasks.dropLast().allSatisfy { $0.kind == .binary },
                     "HTLNet: tasks 1 … T−1 must be binary; only the last (core) task may be continuous")
        precondition(!c.towerWidths.isEmpty, "HTLNet needs at least one tower layer")
        configuration = c
        self.tasks = tasks
        temperature = c.temperature.temperature(atStep: 0)
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        let transfer = c.backbone == .htlnet
        bottom = transfer ? nil : MLP(inputWidth: embedding.outputWidth, hiddenWidths: c.sharedBottomWidths, batchNorm: c.batchNorm,
                                      dropout: c.dropout, name: "bottom", using: &rng)
        let input = bottom?.outputWidth ?? embedding.outputWidth
        let repWidth = c.repLayer == .first ? c.towerWidths[0] : c.towerWidths.last!
        let fuseRepresentations = transfer && c.transferRepresentations, fuseLabels = transfer && c.transferLabels
        var towers: [MLP] = [], leus: [LabelEmbedding?] = [], repFusions: [AttentionFusion?] = []
        var labelFusions: [AttentionFusion?] = [], owns: [Linear?] = []
        for (t, task) in tasks.enumerated() {
            let own = fuseRepresentations && c.ifuIncludesOwn && t > 0
            owns.append(own ? Linear(input, repWidth, name: "own_representations.\(t)", using: &rng) : nil)
            let representations = t + (own ? 1 : 0)
            var width = input
            if fuseRepresentations && t > 0 {
                let attention = c.fusion == .attention
                repFusions.append(attention ? AttentionFusion(inputWidth: repWidth, width: c.fusionWidth,
                                                              name: "representation_fusions.\(t)", using: &rng) : nil)
                width += attention ? c.fusionWidth : representations * repWidth
            } else {
                repFusions.append(nil)
            }
            if fuseLabels && t > 0 {
                let attention = c.fusion == .attention
                labelFusions.append(attention ? AttentionFusion(inputWidth: c.labelEmbeddingWidth, width: c.fusionWidth,
                                                                name: "label_fusions.\(t)", using: &rng) : nil)
                width += attention ? c.fusionWidth : t * c.labelEmbeddingWidth
            } else {
                labelFusions.append(nil)
            }
            let ziln = task.kind == .continuous && task.loss == .zeroInflatedLognormal
            towers.append(MLP(inputWidth: width, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                              outputLayer: true, outputs: ziln ? 3 : 1, name: "towers.\(t)", using: &rng))
            leus.append(fuseLabels && t < tasks.count - 1
                ? LabelEmbedding(width: c.labelEmbeddingWidth, name: "label_embeddings.\(t)", sampling: c.labelSampling,
                                 inference: c.labelInference, stopsGradient: c.stopGradientOnTransfer,
                                 temperature: temperature, using: &rng)
                : nil)
        }
        self.towers = towers
        labelEmbeddings = leus
        representationFusions = repFusions
        self.labelFusions = labelFusions
        ownRepresentations = owns
    }

    public var children: [any Module] {
        embedding; bottom
        for t in tasks.indices {
            towers[t]; ownRepresentations[t]; representationFusions[t]; labelFusions[t]; labelEmbeddings[t]
        }
    }

    /// The embedding (and the shared bottom with `backbone == .sharedBottom`): what the gradient adjustment acts on.
    public var sharedParameters: [Parameter] { embedding.parameters + (bottom?.parameters ?? []) }

    /// The core task's index (the last task).
    public var coreTask: Int { tasks.count - 1 }

    /// HTLNet is built for its own gradient adjustment (`BalancingMethod.htlnet`).
    public static var traits: ModelTraits { ModelTraits(defaultBalancing: "htlnet") }

    /// Sets τ from the schedule for the coming step.
    public func trainingProgress(step: Int, epoch: Int) {
        temperature = configuration.temperature.temperature(atStep: step)
        for leu in labelEmbeddings { leu?.temperature = temperature }
    }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        forward(batch, context, labelNoise: nil)
    }

    /// The forward pass with optional Gumbel noise: `labelNoise[t]` (`[B, 2]`) replaces the draw of task t's LEU
    /// (entries for tasks without one are ignored). For parity tests against an implementation with its own RNG.
    /// `fusionWeights`, when given, receives every attention fusion's weights `[B, n]` with the task and whether
    /// the fused inputs were labels (inspection).
    public func forward(_ batch: Batch, _ context: ForwardContext, labelNoise: [Tensor?]?,
                        fusionWeights: ((_ task: Int, _ labels: Bool, _ weights: Tensor) -> Void)? = nil) -> ModelOutput {
        let e = embedding(batch, context)
        if let bottom {
            let shared = bottom(e, context)
            return ModelOutput(heads: tasks.indices.map { head($0, towers[$0](shared, context)) })
        }
        let c = configuration
        var representations: [Variable] = [], labels: [Variable] = [], heads: [TaskHead] = []
        for t in tasks.indices {
            var parts = [e]
            if c.transferRepresentations && t > 0 {
                let own = ownRepresentations[t].map { [$0(e, context, activation: .relu)] } ?? []
                parts.append(fuse(representations + own, representationFusions[t], context) { fusionWeights?(t, false, $0) })
            }
            if c.transferLabels && t > 0 { parts.append(fuse(labels, labelFusions[t], context) { fusionWeights?(t, true, $0) }) }
            let (hidden, output) = towers[t].layers(parts.count == 1 ? e : .concat(parts, alongAxis: 1), context)
            let rep = c.repLayer == .first ? hidden[0] : hidden[hidden.count - 1]
            representations.append(c.stopGradientOnTransfer ? rep.detached() : rep)
            if let leu = labelEmbeddings[t] {
                let noise = labelNoise.flatMap { t < $0.count ? $0[t] : nil }
                labels.append(leu(output!, context, noise: noise))
            }
            heads.append(head(t, output!))
        }
        return ModelOutput(heads: heads)
    }

    /// Attention over `inputs` with `unit` (its weights passed to `record`), or their concatenation without one.
    private func fuse(_ inputs: [Variable], _ unit: AttentionFusion?, _ context: ForwardContext,
                      record: (Tensor) -> Void) -> Variable {
        if let unit {
            let (fused, weights) = unit.attend(inputs, context)
            record(weights.value)
            return fused
        }
        return inputs.count == 1 ? inputs[0] : .concat(inputs, alongAxis: 1)
    }

    private func head(_ t: Int, _ output: Variable) -> TaskHead {
        let task = tasks[t]
        if task.kind == .binary { return .logit(output) }
        if task.loss == .zeroInflatedLognormal { return .zeroInflatedLognormal(output) }
        return .value(configuration.coreActivation == .softplus ? output.softplus() : output)
    }
}
