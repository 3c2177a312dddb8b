import FunnelCore
import FunnelData
import FunnelNN

/// **APEM-reconstruction**: a reconstruction of APEM ("Adaptive Pattern Extraction Multi-Task Learning for
/// Multi-Step Conversion Estimations", Tao et al., arXiv 2301.02494 **v3**; v1–v2 are a different paper) from its
/// abstract, the only public part of the paper. It is not the authors' model and is never called "APEM" in
/// configurations, logs or reports. Specification: `specs/apem.md`.
///
/// Why a reconstruction: the paper's equations, hyperparameters, datasets and results are not available, so the
/// architecture below is the simplest one consistent with every component the abstract names, each reading of a
/// phrase being a decision with a switch for its alternative; no number of the paper can be reproduced. Logs and
/// reports should print `Configuration.summary` (which starts with "APEM-reconstruction" and lists every switch);
/// `inspection(_:)` reports the per-task pattern selection, the SE field weights and the learned field groups.
///
/// ## What the abstract states
/// - The model learns interactions between the input feature fields and extracts task-specific information for
///   multi-step conversion estimation.
/// - A *DeepAuto Group Transformer* (DGT) enhances feature expressivity "automatically and efficiently" with a
///   *modified set attention* mechanism and a *Squeeze-and-Excitation* (SE) operation.
/// - An explicit *Pattern Selector* (PS) enables selective representation learning through *adaptive
///   task-indicator vectors*.
///
/// ## What was reconstructed (architecture, `apem.md` §3)
/// ```
/// E  = Embed(x)                                   [B, F, d]     fields are the tokens; no positional encoding
/// X^(l) = SE(ISAB(X^(l−1))), X^(0) = E            [B, F, d]     DGT, L blocks (DeepAutoGroupTransformer)
///   ISAB(X) = MAB(X, MAB(I, X))                                 m inducing points I = learned soft field groups
///   MAB(X, Y) = LN(M + rFF(M)), M = LN(X + MHA(X, Y))           (SetAttentionBlock)
///   SE: a = σ(W_2 ReLU(W_1 mean_k X + b_1) + b_2), X_f ← a_f X_f  (SqueezeExcitation)
/// r  = flatten(X^(L))                             [B, D]        the sample-wise representation
/// P_k = MLP_k(r)                                  [B, h]        K shared pattern extractors
/// ṽ_t = v_t + U_t r,  α_t = softmax_k(⟨ṽ_t, W_K P_k⟩ / √h)       adaptive indicator → selection (PatternSelector)
/// u_t = Σ_k α_{t,k} P_k,  z_t = Tower_t(u_t)      [B]           one tower per conversion step
/// L  = Σ_t mean BCE(y_t, σ(z_t)) (+ β Σ_{t≥2} mean max(ŷ_t − ŷ_{t−1}, 0))
/// ```
///
/// ## Decisions, each with the switch that selects its alternative (`Configuration`)
/// 1. "Modified set attention" = induced set attention with m = 4 inducing points (cost O(F·m), not O(F²)):
///    `attention` `.isab` | `.sab` (full self-attention) | `.none`; `inducingPoints`; `heads`; `dgtLayers`.
/// 2. "DeepAuto Group" = each inducing point pools a learned, soft group of fields (no fixed partition); the
///    grouping is visible in `APEMInspection.groupAttention`. The whole DGT: `useDGT` (false: r = flatten(E)).
/// 3. SE re-weights field tokens after attention, ratio 3, sigmoid: `useSE`, `sePlacement`
///    (`.beforeAttention`), `seActivation` (`.relu`, FiBiNET), `seReduction`.
/// 4. "Adaptive task indicators" = a learned per-task vector plus a zero-initialised linear function of the
///    sample's representation (training starts from the static selector): `patternSelector` `.adaptive` |
///    `.static` (ṽ_t = v_t) | `.mmoeGate` (α_t = softmax(W_t r + b), i.e. MMoE) | `.uniform` (α = 1/K, no
///    selection); `adaptiveSource` `.flat` (U_t reads r) | `.pooled` (U_t reads the field mean, [B, d]).
/// 5. K = 6 shared patterns MLP(D, [256, 128]): `numPatterns`, `patternWidths`; `patternSharing`
///    `.sharedPlusTaskSpecific` adds `taskSpecificPatterns` per task (CGC-style).
/// 6. The selector scores patterns by a scaled dot product with linearly keyed patterns (W_K shared by tasks).
/// 7. Loss: entire-space BCE with independent heads, `.logit(z_t)` per binary task. `outputMode` `.chain`
///    emits ESMM-style `.chain([z_1 … z_t])` heads over the binary tasks in funnel order (ŷ_t ≤ ŷ_{t−1} by
///    construction; extras `conditional.<task>` = σ(z_t)). `calibratorWeight` β > 0 adds AITM's calibrator
///    β Σ_{t≥2} mean_i max(ŷ_t − ŷ_{t−1}, 0) over consecutive binary tasks as `auxiliaryLoss`, in training mode
///    only (default β = 0: the calibrator is used by the authors' related work, not confirmed for APEM).
/// 8. No bypass of the raw embedding around the DGT (the MAB residuals already carry it).
/// Also: attention projections have no bias (the spec writes them as plain matrices); LayerNorm ε = 1e-5; no
/// dropout inside the DGT; towers MLP(h, [64]) + output, BN, ReLU, dropout 0.1 (`towerWidths`, `batchNorm`,
/// `dropout`). Continuous tasks get `.value` heads (`.zeroInflatedLognormal`, width 3, for a ZILN loss) and take
/// no part in the chain or the calibrator.
///
/// With `useDGT = false`, `patternSelector = .mmoeGate` and `.shared` patterns the model is exactly MMoE with K
/// experts (tested). Shared parameters: the embedding, the DGT, the shared patterns and the selector's key W_K.
/// Parameter names: `embedding.*`, `dense_projection.*`, `dgt.blocks.{l}.*`, `patterns.{k}.*`,
/// `task_patterns.{t}.{j}.*`, `selector.*`, `towers.{t}.*` (the PyTorch twin `APEMReconstruction` in
/// `bench/torch_models.py` has the same `state_dict` keys).
public final class APEMReconstruction: MultiTaskModel {
    /// The name used in configuration files and the model registry.
    public static let registryName = "apem-reconstruction"
    /// The name used in logs and reports.
    public static let displayName = "APEM-reconstruction"

    public let configuration: Configuration
    public let tasks: [TaskSpec]
    /// Field names in embedding order (from `FeatureLayout.fieldNames`; `numeric` for the projected numeric field,
    /// `field<i>` where unnamed).
    public let fieldNames: [String]
    public let embedding: FieldEmbedding
    public let transformer: DeepAutoGroupTransformer?
    public let patterns: [MLP]
    public let taskPatterns: [[MLP]]
    public let selector: PatternSelector
    /// Tower bodies (hidden layers) and their output layers (`towers.{t}.output`, width 1, or 3 for ZILN).
    public let towers: [MLP]
    public let towerOutputs: [Linear]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        precondition(!tasks.isEmpty && c.numPatterns > 0 && !c.patternWidths.isEmpty, "APEM-reconstruction needs tasks and patterns")
        configuration = c
        self.tasks = tasks
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        let fields = embedding.fieldCount
        fieldNames = (0..<fields).map { f in
            if f < features.fieldNames.count { return features.fieldNames[f] }
            return features.numericCount > 0 && f == fields - 1 ? "numeric" : "field\(f)"
        }
        transformer = c.useDGT
            ? DeepAutoGroupTransformer(fields: fields, width: c.embeddingWidth, options: c.transformerOptions, name: "dgt", using: &rng)
            : nil
        let input = embedding.outputWidth
        func extractor(_ name: String, _ rng: inout SeededGenerator) -> MLP {
            MLP(inputWidth: input, hiddenWidths: c.patternWidths, batchNorm: c.batchNorm, dropout: c.dropout, name: name, using: &rng)
        }
        patterns = (0..<c.numPatterns).map { k in extractor("patterns.\(k)", &rng) }
        let specific = c.patternSharing == .sharedPlusTaskSpecific ? c.taskSpecificPatterns : 0
        taskPatterns = tasks.indices.map { t in (0..<specific).map { j in extractor("task_patterns.\(t).\(j)", &rng) } }
        let sourceWidth = c.patternSelector == .adaptive && c.adaptiveSource == .pooled ? c.embeddingWidth : input
        selector = PatternSelector(mode: c.patternSelector, candidateCounts: tasks.map { _ in c.numPatterns + specific },
                                   width: c.patternWidth, sourceWidth: sourceWidth, name: "selector", using: &rng)
        var towers: [MLP] = [], outputs: [Linear] = []
        for (t, task) in tasks.enumerated() {
            let tower = MLP(inputWidth: c.patternWidth, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                            name: "towers.\(t)", using: &rng)
            towers.append(tower)
            let width = task.loss == .zeroInflatedLognormal ? 3 : 1
            outputs.append(Linear(tower.outputWidth, width, name: "towers.\(t).output", using: &rng))
        }
        self.towers = towers
        towerOutputs = outputs
    }

    public var children: [any Module] {
        embedding; transformer; patterns; taskPatterns; selector
        for (tower, output) in zip(towers, towerOutputs) { tower; output }
    }

    public var sharedParameters: [Parameter] {
        embedding.parameters + (transformer?.parameters ?? []) + patterns.flatMap(\.parameters) + (selector.key?.parameters ?? [])
    }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        forward(batch, context).output
    }

    /// A forward pass with its intermediate selections, for `inspection`.
    struct Trace {
        var output: ModelOutput
        /// Per task, α_t `[B, K_t]`.
        var selectionWeights: [Tensor]
        /// Per SE block, the field weights `[B, F]`.
        var fieldWeights: [Tensor]
        /// Per ISAB block, the inducing points' attention over the fields `[B, H, m, F]`.
        var groupAttention: [Tensor]
    }

    func forward(_ batch: Batch, _ context: ForwardContext) -> Trace {
        let c = configuration
        let (rows, fields, d) = (batch.count, embedding.fieldCount, c.embeddingWidth)
        let e = embedding(batch, context)
        var representation = e, fieldWeights: [Tensor] = [], groupAttention: [Tensor] = []
        if let transformer {
            let result = transformer(e.reshaped([rows, fields, d]), context)
            representation = result.output.reshaped([rows, fields * d])
            fieldWeights = result.fieldWeights.map(\.value)
            groupAttention = result.groupAttention
        }
        let stack = { (outputs: [Variable]) in
            Variable.concat(outputs.map { $0.reshaped([rows, 1, c.patternWidth]) }, alongAxis: 1)
        }
        let shared = stack(patterns.map { $0(representation, context) })
        let specific = taskPatterns.map { $0.isEmpty ? nil : stack($0.map { $0(representation, context) }) }
        let source = c.patternSelector == .adaptive && c.adaptiveSource == .pooled
            ? representation.reshaped([rows, fields, d]).mean(alongAxis: 1)
            : representation
        let selections = selector(shared: shared, specific: specific, source: source, context)
        let outputs = tasks.indices.map { t in
            let hidden = towers[t](selections[t].mixed, context)
            let z = towerOutputs[t](hidden, context)
            return z.shape[1] == 1 ? z.reshaped([rows]) : z
        }
        return Trace(output: heads(outputs, context), selectionWeights: selections.map(\.weights.value),
                     fieldWeights: fieldWeights, groupAttention: groupAttention)
    }

    /// Task heads from the tower outputs, the chain extras and the calibrator.
    private func heads(_ outputs: [Variable], _ context: ForwardContext) -> ModelOutput {
        let binary = tasks.indices.filter { tasks[$0].kind == .binary }
        let chained = configuration.outputMode == .chain
        let calibrating = configuration.calibratorWeight > 0 && context.isTraining
        var heads: [TaskHead] = [], extras: [String: Variable] = [:]
        var probabilities: [Variable] = []  // ŷ of the binary tasks, for the calibrator
        for (t, task) in tasks.enumerated() {
            switch task.kind {
            case .continuous:
                heads.append(task.loss == .zeroInflatedLognormal ? .zeroInflatedLognormal(outputs[t]) : .value(outputs[t]))
            case .binary:
                let step = binary.firstIndex(of: t)!
                if chained && step > 0 {
                    heads.append(.chain(binary[...step].map { outputs[$0] }))
                    extras["conditional.\(task.name)"] = outputs[t].sigmoid()
                } else {
                    heads.append(.logit(outputs[t]))
                }
                if calibrating {
                    let q = outputs[t].sigmoid()
                    probabilities.append(chained && step > 0 ? probabilities[step - 1] * q : q)
                }
            }
        }
        var auxiliary: Variable?
        if calibrating && probabilities.count > 1 {
            let excess = (1..<probabilities.count).map { (probabilities[$0] - probabilities[$0 - 1]).relu().mean() }
            auxiliary = excess.dropFirst().reduce(excess[0], +) * configuration.calibratorWeight
        }
        return ModelOutput(heads: heads, auxiliaryLoss: auxiliary, extras: extras)
    }
}
