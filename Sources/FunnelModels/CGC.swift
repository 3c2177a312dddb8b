import FunnelCore
import FunnelData
import FunnelNN

/// Customized Gate Control (Tang et al., RecSys 2020, Fig. 4; baselines.md §6): task-specific experts per task
/// plus shared experts; each task's gate mixes its own and the shared experts. PLE with one level.
///
/// ```
/// e   = Embed(x)                                            [B, D]
/// S^k = [E_k,1(e) … E_k,m(e), E_s,1(e) … E_s,ms(e)]         [B, m + ms, h]
/// u^k = Σ_i softmax(W^k e + b^k)_i · S^k_i                  [B, h]
/// z_k = Tower_k(u^k)                                        [B]
/// ```
/// Parameters `embedding.*`, `dense_projection.*`, `task_experts.{k}.{i}.*`, `shared_experts.{i}.*`,
/// `task_gates.{k}.*`, `towers.{k}.*`. Shared: the embedding and the shared experts.
public final class CGC: MultiTaskModel {
    /// Defaults: PLE's parity configuration for one level (baselines.md §1.8): d = 16, 2 experts per task + 2
    /// shared, each MLP [256, 128], towers [64], BN, dropout 0.
    public struct Configuration: Codable, Sendable {
        public var embeddingWidth = 16
        /// Experts per task (m_k, the same for every task).
        public var taskExperts = 2
        public var sharedExperts = 2
        public var expertWidths = [256, 128]
        public var towerWidths = [64]
        public var batchNorm = true
        public var dropout: Float = 0

        public init() {}
    }

    public let configuration: Configuration
    public let embedding: FieldEmbedding
    public let extraction: ExtractionLevel
    public let towers: [TaskTower]

    public init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        configuration = c
        embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
        extraction = ExtractionLevel(inputWidth: embedding.outputWidth, expertWidths: c.expertWidths, tasks: tasks.count,
                                     taskExperts: c.taskExperts, sharedExperts: c.sharedExperts, sharedGate: false,
                                     batchNorm: c.batchNorm, dropout: c.dropout, name: "", using: &rng)
        let width = extraction.outputWidth
        towers = tasks.enumerated().map { t, task in
            TaskTower(inputWidth: width, hiddenWidths: c.towerWidths, batchNorm: c.batchNorm,
                      dropout: c.dropout, task: task, name: "towers.\(t)", using: &rng)
        }
    }

    public var children: [any Module] { embedding; extraction; towers }

    public var sharedParameters: [Parameter] { embedding.parameters + extraction.sharedParameters }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let e = embedding(batch, context)
        let u = extraction(taskInputs: Array(repeating: e, count: towers.count), sharedInput: e, context).tasks
        return ModelOutput(heads: zip(towers, u).map { tower, x in tower(x, context) })
    }
}
