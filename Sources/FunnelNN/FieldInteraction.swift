import FunnelCore

/// Field-aware interaction layers on the field embeddings `V^0 = E` `[B, F, d]`: FINT (baselines.md §13.5) and,
/// with `mixing: .current`, the field-interaction layer of PHN/DEPHN (dephn.md §4.4):
/// ```
/// .input   (FINT)   V^l_i = V^{l−1}_i ⊙ ( Σ_j W^l_{ij} V^0_j )     + u^l_i · V^{l−1}_i
/// .current (PHN)    V^l_i = V^0_i     ⊙ ( Σ_j W^l_{ij} V^{l−1}_j ) + u^l_i · V^{l−1}_i
/// ```
/// W^l `[F, F]`, u^l `[F]`. Output flatten(V^L): `e` `[B, F·d]` → `[B, F·d]`.
/// Parameters `<name>.layers.{l}.weight` `[F, F]` (Xavier-uniform) and `<name>.layers.{l}.scale` `[F]` (ones).
///
/// The layers run with the fields first (`[F, B·d]`), so each field mix is one GEMM over the whole batch and u^l
/// scales rows; two axis swaps (in and out) per forward.
public final class FieldInteraction: ExpertBlock {
    /// Which representation the field mix reads.
    public enum Mixing: String, Codable, Sendable {
        /// FINT: mix the input fields V^0, multiply into the running V^{l−1}.
        case input
        /// PHN/DEPHN: mix the running V^{l−1}, multiply into the input V^0.
        case current
    }

    public struct Options: Codable, Equatable, Sendable {
        public var layers = 3
        public var mixing = Mixing.input

        public init(layers: Int = 3, mixing: Mixing = .input) {
            self.layers = layers
            self.mixing = mixing
        }

    }

    public let fieldCount: Int
    public let embeddingWidth: Int
    public let mixing: Mixing
    /// W^l `[F, F]` per layer.
    public let weights: [Parameter]
    /// u^l `[F]` per layer.
    public let scales: [Parameter]

    public init(fieldCount: Int, embeddingWidth: Int, options: Options = Options(), name: String, using rng: inout SeededGenerator) {
        self.fieldCount = fieldCount
        self.embeddingWidth = embeddingWidth
        mixing = options.mixing
        var weights: [Parameter] = [], scales: [Parameter] = []
        for l in 0..<options.layers {
            let layer = qualified(name, "layers.\(l)")
            weights.append(Parameter(name: qualified(layer, "weight"),
                                     value: Initializer.xavierUniform(gain: 1).make([fieldCount, fieldCount], fanIn: fieldCount,
                                                                                    fanOut: fieldCount, using: &rng)))
            scales.append(Parameter(name: qualified(layer, "scale"), value: Tensor(repeating: 1, shape: [fieldCount])))
        }
        self.weights = weights
        self.scales = scales
    }

    public var parameters: [Parameter] { zip(weights, scales).flatMap { [$0, $1] } }
    public var outputWidth: Int { fieldCount * embeddingWidth }

    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        let (batch, f, d) = (e.shape[0], fieldCount, embeddingWidth)
        let v0 = e.reshaped([batch, f, d]).swappingAxes(0, 1).reshaped([f, batch * d])
        var v = v0
        for (weight, scale) in zip(weights, scales) {
            let u = context.use(scale).reshaped([f, 1])
            switch mixing {
            case .input:
                v = v * (Variable.matmul(context.use(weight), v0) + u)
            case .current:
                v = v0 * Variable.matmul(context.use(weight), v) + v * u
            }
        }
        return v.reshaped([f, batch, d]).swappingAxes(0, 1).reshaped([batch, f * d])
    }
}
