import FunnelCore
import FunnelData
import FunnelNN

/// xDeepFM (baselines.md §13.6, §13.7), one network per task: `z = first order + Linear(CIN(E)) + Tower(e)`.
/// Parameters per task `networks.{t}.`: `linear.*` (see `FirstOrderTerm`), `cin.layers.{k}.{weight, bias}`,
/// `cin_output.{weight, bias}`, `deep.*` (MLP with output layer; empty `deepWidths` leaves it out), besides the
/// embedding (see `PerTaskModel`). CIN's memory grows with H·F·B·d (see `CIN`).
public typealias XDeepFM = PerTaskModel<XDeepFMNetwork>

public struct XDeepFMConfiguration: CTRConfiguration {
    public var embeddingWidth = 16
    public var shareEmbedding = false
    public var cin = CIN.Options()
    public var deepWidths = [256, 128, 64]
    public var batchNorm = true
    public var dropout: Float = 0

    public init() {}
}

public final class XDeepFMNetwork: SingleTaskNetwork {
    public let linear: FirstOrderTerm
    public let cin: CIN
    public let cinOutput: Linear
    public let deep: MLP?

    public init(configuration c: XDeepFMConfiguration, features: FeatureLayout, name: String, using rng: inout SeededGenerator) {
        linear = FirstOrderTerm(layout: features, name: qualified(name, "linear"), using: &rng)
        cin = CIN(fieldCount: features.fieldCount, embeddingWidth: c.embeddingWidth, options: c.cin, name: qualified(name, "cin"),
                  using: &rng)
        cinOutput = Linear(cin.outputWidth, 1, name: qualified(name, "cin_output"), using: &rng)
        deep = c.deepWidths.isEmpty ? nil
            : MLP(inputWidth: features.fieldCount * c.embeddingWidth, hiddenWidths: c.deepWidths, batchNorm: c.batchNorm,
                  dropout: c.dropout, outputLayer: true, name: qualified(name, "deep"), using: &rng)
    }

    public var children: [any Module] { linear; cin; cinOutput; deep }
    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable {
        let z = linear(batch, context) + cinOutput(cin(e, context), context).reshaped([e.shape[0]])
        return deep.map { z + $0(e, context) } ?? z
    }
}
