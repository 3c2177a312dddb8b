import FunnelCore
import FunnelData
import FunnelNN

/// The configuration every single-task CTR network has (baselines.md §2, §13.7).
public protocol CTRConfiguration: Codable, Sendable {
    /// Embedding width d.
    var embeddingWidth: Int { get }
    /// One embedding shared by all tasks' networks (the "shared-embedding-only" baseline) instead of one per task.
    var shareEmbedding: Bool { get }
}

/// One task's network of a single-task CTR model: reads the field embeddings (and, for first-order terms, the
/// batch) and returns one prediction per row.
public protocol SingleTaskNetwork: Module {
    associatedtype Configuration: CTRConfiguration
    /// Parameters are named `<name>.<component>…`.
    init(configuration: Configuration, features: FeatureLayout, name: String, using rng: inout SeededGenerator)
    /// `e` `[B, F·d]` → `[B]`: a logit, or a value for a continuous task.
    func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable
}

/// T independent single-task models, one per task (MTReclib's SingleTask, baselines.md §2): task t has its own
/// embedding `networks.{t}.embedding.weight` (+ `networks.{t}.dense_projection.*`) and its own network
/// `networks.{t}.*`, and is trained only by its own loss. With `shareEmbedding` the embedding is one shared
/// `embedding.weight` (+ `dense_projection.*`), the only shared parameters. Heads: `.logit` for binary tasks,
/// `.value` for continuous ones.
public final class PerTaskModel<Network: SingleTaskNetwork>: MultiTaskModel {
    public typealias Configuration = Network.Configuration

    public let configuration: Configuration
    /// One per task, or one shared.
    public let embeddings: [FieldEmbedding]
    public let networks: [Network]
    public let taskKinds: [TaskKind]

    public init(configuration: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        self.configuration = configuration
        taskKinds = tasks.map(\.kind)
        var embeddings: [FieldEmbedding] = [], networks: [Network] = []
        if configuration.shareEmbedding {
            embeddings.append(FieldEmbedding(layout: features, width: configuration.embeddingWidth, using: &rng))
        }
        for t in tasks.indices {
            let name = "networks.\(t)"
            if !configuration.shareEmbedding {
                embeddings.append(FieldEmbedding(layout: features, width: configuration.embeddingWidth, name: qualified(name, "embedding"),
                                                 projectionName: qualified(name, "dense_projection"), using: &rng))
            }
            networks.append(Network(configuration: configuration, features: features, name: name, using: &rng))
        }
        self.embeddings = embeddings
        self.networks = networks
    }

    public var children: [any Module] {
        if configuration.shareEmbedding {
            embeddings[0]; networks
        } else {
            for (embedding, network) in zip(embeddings, networks) { embedding; network }
        }
    }

    public var sharedParameters: [Parameter] { configuration.shareEmbedding ? embeddings[0].parameters : [] }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
        let shared = configuration.shareEmbedding ? embeddings[0](batch, context) : nil
        let heads = networks.enumerated().map { t, network -> TaskHead in
            let z = network(shared ?? embeddings[t](batch, context), batch: batch, context)
            return taskKinds[t] == .binary ? .logit(z) : .value(z)
        }
        return ModelOutput(heads: heads)
    }
}

