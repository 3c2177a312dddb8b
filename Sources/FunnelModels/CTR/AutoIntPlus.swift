import FunnelCore
import FunnelData
import FunnelNN

/// AutoInt+ (baselines.md §13.4, §13.7), one network per task: `z = Linear(flatten(AutoInt(E))) + Tower(e)`
/// (the deep tower is optional: empty `deepWidths` gives plain AutoInt). Parameters per task `networks.{t}.`:
/// `autoint.layers.{l}.*` (see `AutoInt`), `attention_output.{weight, bias}` `[1, F·H·d']`, `deep.*` (MLP with
/// output layer), besides the embedding (see `PerTaskModel`).
public typealias AutoIntPlus = PerTaskModel<AutoIntPlusNetwork>

public struct AutoIntPlusConfiguration: CTRConfiguration {
    public var embeddingWidth = 16
    public var shareEmbedding = false
    public var attention = AutoInt.Options()
    public var deepWidths = [256, 128, 64]
    public var batchNorm = true
    public var dropout: Float = 0

    public init() {}
}

public final class AutoIntPlusNetwork: SingleTaskNetwork {
    public let autoInt: AutoInt
    public let attentionOutput: Linear
    public let deep: MLP?

    public init(configuration c: AutoIntPlusConfiguration, features: FeatureLayout, name: String, using rng: inout SeededGenerator) {
        autoInt = AutoInt(fieldCount: features.fieldCount, embeddingWidth: c.embeddingWidth, options: c.attention,
                          name: qualified(name, "autoint"), using: &rng)
        attentionOutput = Linear(autoInt.outputWidth, 1, name: qualified(name, "attention_output"), using: &rng)
        deep = c.deepWidths.isEmpty ? nil
            : MLP(inputWidth: features.fieldCount * c.embeddingWidth, hiddenWidths: c.deepWidths, batchNorm: c.batchNorm,
                  dropout: c.dropout, outputLayer: true, name: qualified(name, "deep"), using: &rng)
    }

    public var children: [any Module] { autoInt; attentionOutput; deep }
    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable {
        let z = attentionOutput(autoInt(e, context), context).reshaped([e.shape[0]])
        return deep.map { z + $0(e, context) } ?? z
    }
}
