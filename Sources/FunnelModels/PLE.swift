import FunnelCore
import FunnelData
import FunnelNN

/// Progressive Layered Extraction (Tang et al., RecSys 2020, Fig. 5; baselines.md §6): N stacked extraction
/// levels. Each level keeps one input per task and one shared input (all e at level 1); task gates mix their own
/// and the shared experts; a shared gate (levels j < N only) mixes every expert of the level into the next
/// shared input.
///
/// ```
/// x^{k,0} = x^{s,0} = Embed(x)                                                  [B, D]
/// x^{k,j} = Σ_i softmax(W^{k,j} x^{k,j−1})_i · [E^j_k,·(x^{k,j−1}) ; E^j_s,·(x^{s,j−1})]_i
/// x^{s,j} = Σ_i softmax(W^{s,j} x^{s,j−1})_i · [E^j_1,· ; … ; E^j_T,· ; E^j_s,·]_i        j < N
/// z_k     = Tower_k(x^{k,N})                                                     [B]
/// ```
/// Parameters `embedding.*`, `dense_projection.*`, `levels.{j}.task_experts.{k}.{i}.*`,
/// `levels.{j}.shared_experts.{i}.*`, `levels.{j}.task_gates.{k}.*`, `levels.{j}.shared_gate.*`, `towers.{k}.*`.
/// Shared: the embedding, every expert and shared gate of levels j < N, and the last level's shared experts.
public final class PLE: MultiTaskModel {
    /// Defaults: the parity configuration (baselines.md §1.8): d = 16, 2 levels whose experts are one MLP block of
    /// width [256] then [128], 2 experts per task + 2 shared, towers [64], BN, dropout 0 (MTReclib: 4 + 4
    /// experts, [512] then [256], towers [128, 64], dropout 0.2).
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        /// Experts per task at every level (m_k, the same for every task).
        public var taskExperts = 2
        public var sharedExperts = 2
        /// Hidden widths of every expert MLP, per level; N = the number of entries. One entry per level (the
        /// default, `[[256], [128]]`) is the parity/MTReclib convention; `[[256, 128], [64]]` gives multi-layer
        /// experts.
        public var expertDimsPerLevel = [[256], [128]]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0

        public init() {}
    }

    public let configuration: Configuration
    public let embedding: FieldEmbedding
    /// Extraction levels 1..N; only levels j < N have a shared gate.
    public let levels: [ExtractionLevel]
    public let towers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        precondition(!c.expertDimsPerLevel.isEmpty, "PLE needs at least one level")
        configuration = c
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        var width = embedding.outputWidth
        var levels: [ExtractionLevel] = []
        for (j, widths) in c.expertDimsPerLevel.enumerated() {
            let level = ExtractionLevel(inputWidth: width, expertWidths: widths, tasks: tasks.count, taskExperts: c.taskExperts,
                                        sharedExperts: c.sharedExperts, sharedGate: j < c.expertDimsPerLevel.count - 1,
                                        batchNorm: c.batchNorm, dropout: c.dropout, name: "levels.\(j)", using: &rng)
            levels.append(level)
            width = level.outputWidth
        }
        self.levels = levels
        towers = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: width, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm, dropout: c.dropout,
                      task: task, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; levels; towers }

    public var sharedParameters: [Parameter] { embedding.parameters + levels.flatMap(\.sharedParameters) }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        var taskInputs = Array(repeating: e, count: towers.count)
        var sharedInput: Variable? = e
        for level in levels {
            (taskInputs, sharedInput) = level(taskInputs: taskInputs, sharedInput: sharedInput!, context)
        }
        return ModelOutput(heads: zip(towers, taskInputs).map { tower, x in tower(x, context) })
    }
}
