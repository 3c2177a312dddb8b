import FunnelCore
import FunnelData
import FunnelNN

/// ESCM² (Wang et al., SIGIR 2022, Fig. 2; baselines.md §8): ESMM plus a counterfactual regulariser of each
/// conditional step over the previous step's positive rows, with the previous step's entire-space probability as
/// propensity (IPS), and optionally an imputation tower (DR).
///
/// ```
/// e    = Embed(x)                                  [B, D]   shared
/// z_t  = Tower_t(u_t)                              [B]      u_t = e (towers) or MMoE_t(e) (mmoe backbone)
/// heads, chain, extras                                      as ESMM
/// δ̂_t  = softplus(ImputationTower_t(u'_t))         [B]      DR only, one per conditional step t ≥ 2
/// L    = L_CTR + λ_g L_CTCVR + λ_c Σ_{t≥2} R_t                R_t: CounterfactualRegularizer
/// ```
/// The regulariser λ_c Σ R_t is `ModelOutput.auxiliaryLoss`, computed from `batch.labels` in training mode only.
/// λ_g is the CTCVR task's weight (`TaskSpec.weight`; the reference uses 0.5). Continuous tasks (§14) get their
/// own tower and never enter the chain or the regulariser. Parameters `embedding.*`, `dense_projection.*`,
/// `towers.{t}.*`, `imputation_towers.{s}.*` (s = 0 for the first conditional step), and with the MMoE backbone
/// `experts.{i}.*`, `gates.{t}.*`, `imputation_gates.{s}.*`. Shared: the embedding (and the experts).
public final class ESCM2: MultiTaskModel {
    /// Where the towers read from. [DECISION]
    public enum Backbone: String, Codable, Sendable {
        /// ESMM-style towers on the shared embedding (default).
        case towers
        /// The reference implementation's small MMoE: `experts` expert MLPs on e, one softmax gate per tower.
        case mmoe
    }

    /// The imputation tower's output nonlinearity (δ̂ ≥ 0 like a BCE value). [DECISION]
    public enum ImputationOutput: String, Codable, Sendable {
        case softplus
        /// The reference implementation's choice (δ̂ ∈ (0, 1)).
        case sigmoid
    }

    /// Defaults: towers as ESMM's parity configuration (baselines.md §1.8: d = 16, MLP [256, 128, 64], BN,
    /// dropout 0) and ESCM²'s reference weights and decisions (§8: λ_c = 0.5, ô_min = 1/15, stop-gradients).
    /// The reference MMoE backbone is `backbone: .mmoe, experts: 8, expertWidths: [16], towerWidths: [8],
    /// batchNorm: false` with d = 12.
    public struct Configuration: Codable, Sendable {
        public var estimator = CounterfactualRegularizer.Estimator.inversePropensity
        public var embeddingWidth = 16
        public var backbone = Backbone.towers
        public var towerWidths = [256, 128, 64]
        /// Experts of the MMoE backbone (unused with `.towers`).
        public var experts = 8
        /// Hidden widths of each MMoE expert (unused with `.towers`).
        public var expertWidths = [16]
        public var batchNorm = true
        public var dropout: Float = 0
        /// λ_c, the weight of the counterfactual regulariser.
        public var counterfactualWeight: Float = 0.5
        public var minimumPropensity: Float = 1.0 / 15
        public var imputationOutput = ImputationOutput.softplus
        public var detachPropensityInDoublyRobust = true
        public var detachDoublyRobustTargets = true
        /// How a continuous task is predicted (§14).
        public var regressionHead = RegressionHead.direct

        public init() {}

        /// The defaults with the doubly robust estimator (`escm2-dr`).
        public static var doublyRobust: Configuration {
            var c = Configuration()
            c.estimator = .doublyRobust
            return c
        }

        /// The regulariser these settings describe.
        public var regularizer: CounterfactualRegularizer {
            CounterfactualRegularizer(estimator: estimator, minimumPropensity: minimumPropensity,
                                      detachPropensityInDoublyRobust: detachPropensityInDoublyRobust,
                                      detachDoublyRobustTargets: detachDoublyRobustTargets)
        }
    }

    public let configuration: Configuration
    public let tasks: [TaskSpec]
    public let chain: ConversionChain
    public let embedding: FieldEmbedding
    /// MMoE backbone experts (empty with `.towers`).
    public let experts: [MLP]
    /// One gate per task tower (empty with `.towers`).
    public let gates: [SoftmaxGate]
    public let towers: [TaskTower]
    /// One gate per imputation tower (empty unless DR with `.mmoe`).
    public let imputationGates: [SoftmaxGate]
    /// One per conditional step 2…S (empty for IPS).
    public let imputationTowers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        self.tasks = tasks
        chain = ConversionChain(tasks: tasks)
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        let input = embedding.outputWidth
        let mixed = c.backbone == .mmoe
        experts = mixed ? (0..<c.experts).map { i in
            MLP(inputWidth: input, hiddenWidths: c.expertWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                name: "experts.\(i)", using: &rng)
        } : []
        let towerInput = mixed ? c.expertWidths.last! : input
        func gate(_ name: String, _ rng: inout SeededGenerator) -> SoftmaxGate {
            SoftmaxGate(inputWidth: input, experts: c.experts, name: name, using: &rng)
        }
        func tower(_ task: TaskSpec, _ name: String, _ rng: inout SeededGenerator) -> TaskTower {
            TaskTower(inputWidth: towerInput, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                      task: task, name: name, using: &rng)
        }
        gates = mixed ? tasks.indices.map { gate("gates.\($0)", &rng) } : []
        towers = tasks.enumerated().map { t, task in tower(task, "towers.\(t)", &rng) }
        let imputed = c.estimator == .doublyRobust ? Array(chain.steps.dropFirst()) : []
        imputationGates = mixed ? imputed.indices.map { gate("imputation_gates.\($0)", &rng) } : []
        imputationTowers = imputed.enumerated().map { s, t in tower(tasks[t], "imputation_towers.\(s)", &rng) }
    }

    public var children: [any Module] { embedding; experts; gates; towers; imputationGates; imputationTowers }

    public var sharedParameters: [Parameter] { embedding.parameters + experts.flatMap(\.parameters) }

    /// Trained on entire-space nested labels (the funnel chain).
    public static var traits: ModelTraits { ModelTraits(nestsLabels: true) }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let expertOutputs = experts.map { $0(e, context) }
        let input = { (gate: SoftmaxGate?) in gate.map { mixture(weights: $0(e, context), experts: expertOutputs) } ?? e }
        let raw = towers.indices.map { t in towers[t].rawOutput(input(gates.isEmpty ? nil : gates[t]), context) }
        let (heads, extras) = chain.chainedHeads(raw, tasks: tasks, regressionHead: configuration.regressionHead)
        guard context.isTraining, configuration.counterfactualWeight != 0, chain.steps.count >= 2 else {
            return ModelOutput(heads: heads, extras: extras)
        }
        let regularizer = configuration.regularizer
        var total: Variable?
        for s in 1..<chain.steps.count {
            let (previous, current) = (chain.steps[s - 1], chain.steps[s])
            let imputed = imputationTowers.isEmpty ? nil : imputedError(
                imputationTowers[s - 1].rawOutput(input(imputationGates.isEmpty ? nil : imputationGates[s - 1]), context))
            let risk = regularizer(observed: batch.labels(ofTask: previous), outcome: batch.labels(ofTask: current),
                                   propensity: ConversionChain.jointProbability(chain.steps[..<s].map { raw[$0] }),
                                   conditionalLogit: raw[current], imputedError: imputed)
            total = total.map { $0 + risk } ?? risk
        }
        return ModelOutput(heads: heads, auxiliaryLoss: total! * configuration.counterfactualWeight, extras: extras)
    }

    private func imputedError(_ raw: Variable) -> Variable {
        configuration.imputationOutput == .softplus ? raw.softplus() : raw.sigmoid()
    }
}
