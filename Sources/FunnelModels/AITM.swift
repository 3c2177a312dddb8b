import FunnelCore
import FunnelData
import FunnelNN

/// Adaptive Information Transfer Multi-task model (Xi et al., KDD 2021, Fig. 2; baselines.md §9): one tower per
/// funnel step; each later step receives information from the step before through the AIT attention; a
/// behavioural expectation calibrator penalises a later step predicted as more likely than an earlier one.
///
/// ```
/// e       = Embed(x)                                      [B, D]
/// q_t     = Tower_t(e)                                    [B, k]
/// z_1     = q_1
/// p_{t−1} = Dropout(ReLU(Transfer_{t−1}(z_{t−1})))        [B, k]   (MTReclib: Transfer_{t−1}(z_{t−1}), no activation)
/// z_t     = AIT(p_{t−1}, q_t)                             [B, k]   t ≥ 2
/// ŷ_t     = σ(Head_t(z_t))                                [B]
/// R       = α Σ_{t≥2} mean_i max(ŷ_t,i − ŷ_{t−1},i, 0) + (λ/2) (‖embedding‖² + ‖W_Q‖² + ‖W_K‖² + ‖W_V‖²)
/// ```
/// R (calibrator over consecutive binary steps, and the official L2) is `ModelOutput.auxiliaryLoss`, in training
/// mode only. A continuous task (§14) gets z_T = AIT(p_{T−1}, q_T) and an identity head (`regressionHead`); the
/// calibrator never involves it. Parameters `embedding.*`, `dense_projection.*`, `towers.{t}.*`,
/// `transfers.{t−1}.*`, `attention.{query,key,value}.*`, `heads.{t}.*`. Shared: the embedding, and the attention
/// when three or more tasks use it.
public final class AITM: MultiTaskModel {
    public enum Variant: String, Codable, Sendable {
        /// `xidongbo/AITM`: ReLU + dropout on the transfer, bias-free attention, N(0, 0.01²) embedding and
        /// attention initialisation, calibrator and L2.
        case official
        /// MTReclib's `AITMModel`: linear transfer, attention projections with bias, PyTorch default
        /// initialisation (Xavier embedding), no calibrator.
        case mtreclib
    }

    /// Defaults: the official model (§9: towers 128 → 64 → 32 with dropout 0.1, 0.3, 0.3, no BN, transfer dropout
    /// 0.3, α = 0.6, L2 1e-6) with the parity configuration's d = 16 (official: 5). `Configuration.mtreclib` is
    /// the MTReclib variant.
    public struct Configuration: Codable, Sendable {
        public var variant = Variant.official
        public var embeddingWidth = 16
        /// Widths of Tower_t (MTReclib: the per-task bottom); k = the last entry.
        public var towerWidths = [128, 64, 32]
        /// Dropout rate after each tower layer (one per entry of `towerWidths`).
        public var towerDropouts: [Float] = [0.1, 0.3, 0.3]
        /// Dropout after the transfer's ReLU (official variant only).
        public var transferDropout: Float = 0.3
        public var batchNorm = false
        /// Hidden widths of the MLP between z_t and the output layer (official: none; MTReclib: [128, 64]).
        public var headWidths: [Int] = []
        public var headDropout: Float = 0
        /// α, the calibrator's weight (0 disables it).
        public var calibratorWeight: Float = 0.6
        /// λ of the L2 penalty (λ/2)·‖θ‖² on the embedding table and the attention matrices, the official
        /// regulariser (its gradient λθ equals coupled weight decay on those tensors). Nonzero makes the table's
        /// gradient dense.
        public var l2Penalty: Float = 1e-6
        /// How a continuous task is predicted (§14).
        public var regressionHead = RegressionHead.direct

        public init() {}

        /// MTReclib's AITM (the reproduction table of §15): bottom MLP [512, 256] with BN and dropout 0.2, towers
        /// [128, 64] + output with dropout 0.2, no calibrator, no L2 (d = 16, the parity width; MTReclib: 128).
        public static var mtreclib: Configuration {
            var c = Configuration()
            c.variant = .mtreclib
            c.towerWidths = [512, 256]
            c.towerDropouts = [0.2, 0.2]
            c.batchNorm = true
            c.headWidths = [128, 64]
            c.headDropout = 0.2
            c.calibratorWeight = 0
            c.l2Penalty = 0
            return c
        }
    }

    public let configuration: Configuration
    public let tasks: [TaskSpec]
    public let chain: ConversionChain
    public let embedding: FieldEmbedding
    public let towers: [MLP]
    /// Transfer_t from task t to task t + 1.
    public let transfers: [Linear]
    public let attention: AdaptiveInformationTransfer
    public let heads: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        precondition(!c.towerWidths.isEmpty, "AITM towers need at least one layer")
        configuration = c
        self.tasks = tasks
        chain = ConversionChain(tasks: tasks)
        let official = c.variant == .official
        let small = Initializer.normal(mean: 0, std: 0.01)
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, initializer: official ? small : .xavierUniform(gain: 1),
                                   using: &rng)
        let k = c.towerWidths.last!, input = embedding.outputWidth
        towers = tasks.indices.map { t in
            MLP(inputWidth: input, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropouts: c.towerDropouts,
                name: "towers.\(t)", using: &rng)
        }
        transfers = tasks.indices.dropFirst().map { t in Linear(k, k, name: "transfers.\(t - 1)", using: &rng) }
        attention = AdaptiveInformationTransfer(width: k, bias: !official, weightInitializer: official ? small : .linearDefault,
                                                name: "attention", using: &rng)
        heads = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: k, hiddenWidths: c.headWidths, batchNorm: c.batchNorm, dropout: c.headDropout, task: task,
                      name: "heads.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; towers; transfers; attention; heads }

    public var sharedParameters: [Parameter] { embedding.parameters + (tasks.count >= 3 ? attention.parameters : []) }

    /// Trained on entire-space nested labels (the funnel chain).
    public static var traits: ModelTraits { ModelTraits(nestsLabels: true) }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let c = configuration
        let e = embedding(batch, context)
        let q = towers.map { $0(e, context) }
        var z = [q[0]]
        for t in q.indices.dropFirst() {
            var p = transfers[t - 1](z[t - 1], context, activation: c.variant == .official ? .relu : .identity)
            if c.variant == .official && context.isTraining && c.transferDropout > 0 {
                p = p.dropout(rate: c.transferDropout, using: &context.rng)
            }
            z.append(attention(transferred: p, own: q[t], context))
        }
        let raw = zip(heads, z).map { head, x in head.rawOutput(x, context) }
        let outputs = tasks.enumerated().map { t, task -> TaskHead in
            guard task.kind == .continuous else { return TaskHead(raw[t], for: task) }
            return ConversionChain.continuousHead(raw[t], task: task, regressionHead: c.regressionHead,
                                                  probability: chain.precedingStep[t].map { raw[chain.steps[$0]].sigmoid() })
        }
        return ModelOutput(heads: outputs, auxiliaryLoss: context.isTraining ? regularization(raw, context) : nil)
    }

    /// The calibrator over consecutive binary steps plus the L2 penalty, or nil when both are off.
    private func regularization(_ raw: [Variable], _ context: ForwardContext) -> Variable? {
        var terms: [Variable] = []
        let c = configuration
        if c.calibratorWeight != 0 && chain.steps.count >= 2 {
            let probabilities = chain.steps.map { raw[$0].sigmoid() }
            let violations = zip(probabilities.dropFirst(), probabilities).map { later, earlier in (later - earlier).relu().mean() }
            terms.append(violations.dropFirst().reduce(violations[0], +) * c.calibratorWeight)
        }
        if c.l2Penalty != 0 {
            let squares = ([embedding.table] + attention.weights).map { context.use($0).squared().sum() }
            terms.append(squares.dropFirst().reduce(squares[0], +) * (c.l2Penalty / 2))
        }
        return terms.isEmpty ? nil : terms.dropFirst().reduce(terms[0], +)
    }
}
