import FunnelCore

/// AutoInt's interacting layer (baselines.md §13.4): multi-head self-attention over the fields, a projected
/// residual, ReLU:
/// ```
/// e'_m = ReLU( [ẽ^1_m ‖ … ‖ ẽ^H_m] + W_res e_m )       [B, F, H·d']
/// ```
/// Parameters `<name>.attention.{query,key,value}.weight` (no biases, as the reference implementations) and
/// `<name>.residual.weight` `[H·d', d_in]` (with `residual`).
public final class AutoIntLayer: Module {
    public let attention: MultiHeadAttention
    public let residual: Linear?

    public init(inputWidth: Int, heads: Int, headWidth: Int, residual: Bool, scaleScores: Bool, name: String,
                using rng: inout SeededGenerator) {
        attention = MultiHeadAttention(queryWidth: inputWidth, heads: heads, headWidth: headWidth, bias: false,
                                       scaleScores: scaleScores, name: qualified(name, "attention"), using: &rng)
        self.residual = residual ? Linear(inputWidth, heads * headWidth, name: qualified(name, "residual"), bias: false, using: &rng) : nil
    }

    public var children: [any Module] { attention; residual }

    /// Output width H·d' per field.
    public var outputWidth: Int { attention.outputWidth }

    /// `x` `[B, F, d_in]` → `[B, F, H·d']`.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        let attended = attention(x, context)
        guard let residual else { return attended.relu() }
        return (attended + project(x, residual, context)).relu()
    }
}

/// AutoInt (baselines.md §13.4): L interacting layers over the field embeddings, flattened. As an expert:
/// `e` `[B, F·d]` → `[B, F·H·d']`. Parameters `<name>.layers.{l}.*` (see `AutoIntLayer`).
public final class AutoInt: ExpertBlock {
    public struct Options: Codable, Equatable, Sendable {
        public var layers = 3
        public var heads = 2
        /// d', the width of each head.
        public var headWidth = 8
        public var residual = true
        /// Divide scores by √d' (the original does not).
        public var scaleScores = false

        public init(layers: Int = 3, heads: Int = 2, headWidth: Int = 8, residual: Bool = true, scaleScores: Bool = false) {
            self.layers = layers
            self.heads = heads
            self.headWidth = headWidth
            self.residual = residual
            self.scaleScores = scaleScores
        }

    }

    public let fieldCount: Int
    public let embeddingWidth: Int
    public let layers: [AutoIntLayer]

    public init(fieldCount: Int, embeddingWidth: Int, options: Options = Options(), name: String, using rng: inout SeededGenerator) {
        precondition(options.layers > 0, "AutoInt needs at least one layer")
        self.fieldCount = fieldCount
        self.embeddingWidth = embeddingWidth
        var width = embeddingWidth
        var layers: [AutoIntLayer] = []
        for l in 0..<options.layers {
            let layer = AutoIntLayer(inputWidth: width, heads: options.heads, headWidth: options.headWidth, residual: options.residual,
                                     scaleScores: options.scaleScores, name: qualified(name, "layers.\(l)"), using: &rng)
            layers.append(layer)
            width = layer.outputWidth
        }
        self.layers = layers
    }

    public var children: [any Module] { layers }
    public var outputWidth: Int { fieldCount * (layers.last?.outputWidth ?? embeddingWidth) }

    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        let batch = e.shape[0]
        let fields = layers.reduce(e.reshaped([batch, fieldCount, embeddingWidth])) { x, layer in layer(x, context) }
        return fields.reshaped([batch, outputWidth])
    }
}
