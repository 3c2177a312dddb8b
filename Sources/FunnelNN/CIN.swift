import FunnelCore

/// xDeepFM's compressed interaction network (baselines.md §13.6) on the field embeddings `X^0 = E` `[B, F, d]`:
/// ```
/// Z^k_{i,j,:} = X^{k−1}_{i,:} ⊙ X^0_{j,:}                          [B, H_{k−1}·F, d]   (channel i·F + j)
/// X^k_{h,:}   = act( Σ_{i,j} W^k_{h, i·F+j} Z^k_{i,j,:} + b^k_h )     [B, H_k, d]
/// p^k_h       = Σ_q X^k_{h,q}                                       sum pooling
/// p^+         = [p^1 ‖ … ‖ p^L]                                     [B, Σ_k H'_k]
/// ```
/// With `splitHalf`, every layer but the last sends its first H_k/2 maps to the next layer and pools the other
/// half (DeepCTR's order); otherwise all maps do both. Output `[B, outputWidth]`.
///
/// Parameters `<name>.layers.{k}.weight` `[H_k, H_{k−1}·F]` and `.bias` `[H_k]`: PyTorch's `Conv1d(H_{k−1}·F, H_k, 1)`
/// with the kernel axis dropped, and its default initialisation.
///
/// Cost: Z^k holds H_{k−1}·F·B·d floats (kept for the backward pass) and each layer is a
/// `[H_k, H_{k−1}·F] × [H_{k−1}·F, B·d]` GEMM, as in the reference implementations; with F = 41, d = 16 and
/// H = 128 that is ≈ 86 MB of Z per 256 rows.
public final class CIN: ExpertBlock {
    public struct Options: Codable, Equatable, Sendable {
        /// H_k per layer.
        public var layerSizes = [128, 128]
        public var splitHalf = true
        /// Applied to every feature map (the paper: identity).
        public var activation = Activation.identity

        public init(layerSizes: [Int] = [128, 128], splitHalf: Bool = true, activation: Activation = .identity) {
            self.layerSizes = layerSizes
            self.splitHalf = splitHalf
            self.activation = activation
        }

    }

    public let fieldCount: Int
    public let embeddingWidth: Int
    public let options: Options
    /// One 1×1 convolution per layer, stored as a `Linear` (`weight` `[H_k, H_{k−1}·F]`).
    public let layers: [Linear]
    public let outputWidth: Int

    public init(fieldCount: Int, embeddingWidth: Int, options: Options = Options(), name: String, using rng: inout SeededGenerator) {
        precondition(!options.layerSizes.isEmpty, "CIN needs at least one layer")
        precondition(!options.splitHalf || options.layerSizes.dropLast().allSatisfy { $0 % 2 == 0 },
                     "split-half CIN needs even sizes before the last layer: \(options.layerSizes)")
        self.fieldCount = fieldCount
        self.embeddingWidth = embeddingWidth
        self.options = options
        var hidden = fieldCount, pooled = 0
        var layers: [Linear] = []
        for (k, size) in options.layerSizes.enumerated() {
            layers.append(Linear(hidden * fieldCount, size, name: qualified(name, "layers.\(k)"), using: &rng))
            let last = k == options.layerSizes.count - 1
            hidden = options.splitHalf && !last ? size / 2 : size
            pooled += options.splitHalf && !last ? size - size / 2 : size
        }
        self.layers = layers
        outputWidth = pooled
    }

    public var children: [any Module] { layers }

    /// `e` `[B, F·d]` → p^+ `[B, outputWidth]`. Runs fields first (`[H, B·d]`): each layer is one GEMM.
    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        let (batch, f, d) = (e.shape[0], fieldCount, embeddingWidth)
        let x0 = e.reshaped([batch, f, d]).swappingAxes(0, 1).reshaped([f, batch * d])
        var x = x0
        var pooled: [Variable] = []
        for (k, layer) in layers.enumerated() {
            let z = Variable.pairwiseRowProducts(x, x0)
            let bias = context.use(layer.bias!).reshaped([layer.outputWidth, 1])
            var maps = Variable.matmul(context.use(layer.weight), z) + bias
            if options.activation == .relu { maps = maps.relu() }
            let size = layer.outputWidth
            var direct = maps
            if options.splitHalf && k < layers.count - 1 {
                x = maps.slice(alongAxis: 0, 0..<(size / 2))
                direct = maps.slice(alongAxis: 0, (size / 2)..<size)
            } else {
                x = maps
            }
            pooled.append(direct.reshaped([direct.shape[0], batch, d]).sum(alongAxis: 2))
        }
        return Variable.concat(pooled, alongAxis: 0).transposedLastTwo()
    }
}
