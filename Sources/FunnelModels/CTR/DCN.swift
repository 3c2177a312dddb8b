import FunnelCore
import FunnelData
import FunnelNN

/// DCN (baselines.md §13.1, §13.7), one network per task: `z = Linear([Cross(x_0) ‖ MLP(e)])`, x_0 = e.
/// Parameters per task `networks.{t}.`: `cross.layers.{l}.{weight, bias}`, `deep.*` (an MLP without output
/// layer), `output.{weight, bias}` (`[1, D + h]`), besides the embedding (see `PerTaskModel`).
public typealias DCN = PerTaskModel<DCNNetwork>

/// DCN-V2 (baselines.md §13.2, §13.7), one network per task: cross network in full, low-rank or mixture form
/// (`cross.form`; default full when D ≤ 512, else rank 64), with the deep MLP in parallel
/// (`z = Linear([Cross(x_0) ‖ MLP(e)])`, default) or stacked (`z = Linear(MLP(Cross(x_0)))`). Parameter names as
/// `DCN`, with the cross layers of the chosen form (see `CrossNetwork`).
public typealias DCNV2 = PerTaskModel<DCNV2Network>

public struct DCNConfiguration: CTRConfiguration {
    public var embeddingWidth = 16
    public var shareEmbedding = false
    public var crossLayers = 3
    /// Hidden widths of the deep part (empty: cross network only).
    public var deepWidths = [256, 128, 64]
    public var batchNorm = true
    public var dropout: Float = 0

    public init() {}
}

public struct DCNV2Configuration: CTRConfiguration {
    /// How the deep MLP and the cross network combine.
    public enum Structure: String, Codable, Sendable { case parallel, stacked }

    public var embeddingWidth = 16
    public var shareEmbedding = false
    public var cross = CrossNetwork.Options()
    public var structure = Structure.parallel
    public var deepWidths = [256, 128, 64]
    public var batchNorm = true
    public var dropout: Float = 0

    public init() {}
}

public final class DCNNetwork: SingleTaskNetwork {
    public let body: CrossDeepBody

    public init(configuration c: DCNConfiguration, features: FeatureLayout, name: String, using rng: inout SeededGenerator) {
        body = CrossDeepBody(input: features.fieldCount * c.embeddingWidth, cross: .init(layers: c.crossLayers, form: .vector),
                             stacked: false, deepWidths: c.deepWidths, batchNorm: c.batchNorm, dropout: c.dropout, name: name, using: &rng)
    }

    public var children: [any Module] { body }

    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable { body(e, context) }
}

public final class DCNV2Network: SingleTaskNetwork {
    public let body: CrossDeepBody

    public init(configuration c: DCNV2Configuration, features: FeatureLayout, name: String, using rng: inout SeededGenerator) {
        body = CrossDeepBody(input: features.fieldCount * c.embeddingWidth, cross: c.cross, stacked: c.structure == .stacked,
                             deepWidths: c.deepWidths, batchNorm: c.batchNorm, dropout: c.dropout, name: name, using: &rng)
    }

    public var children: [any Module] { body }

    public func callAsFunction(_ e: Variable, batch: Batch, _ context: ForwardContext) -> Variable { body(e, context) }
}

/// The cross network and deep MLP of DCN / DCN-V2 with their output layer, parallel or stacked.
public final class CrossDeepBody: Module {
    public let cross: CrossNetwork
    public let deep: MLP?
    public let output: Linear
    public let stacked: Bool

    init(input: Int, cross options: CrossNetwork.Options, stacked: Bool, deepWidths: [Int], batchNorm: Bool, dropout: Float,
         name: String, using rng: inout SeededGenerator) {
        cross = CrossNetwork(width: input, options: options, name: qualified(name, "cross"), using: &rng)
        deep = deepWidths.isEmpty ? nil
            : MLP(inputWidth: input, hiddenWidths: deepWidths, batchNorm: batchNorm, dropout: dropout, name: qualified(name, "deep"),
                  using: &rng)
        self.stacked = stacked
        let deepWidth = deep?.outputWidth ?? 0
        let outputInput = stacked ? (deep == nil ? input : deepWidth) : input + deepWidth
        output = Linear(outputInput, 1, name: qualified(name, "output"), using: &rng)
    }

    public var children: [any Module] { cross; deep; output }
    /// `e` `[B, D]` → `[B]`.
    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        let crossed = cross(e, context)
        let features: Variable
        if stacked {
            features = deep.map { $0(crossed, context) } ?? crossed
        } else {
            features = deep.map { Variable.concat([crossed, $0(e, context)], alongAxis: 1) } ?? crossed
        }
        return output(features, context).reshaped([e.shape[0]])
    }
}
