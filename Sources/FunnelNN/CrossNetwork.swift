import FunnelCore

/// The explicit feature-crossing networks of DCN and DCN-V2 (baselines.md §13.1–13.2) and the combined cross layer of
/// PHN/DEPHN (dephn.md §4.4), on `x_0 = e` `[B, D]`. Output `x_L` `[B, D]`. Per layer, by `Form`:
/// ```
/// vector   (DCN)       x_{l+1} = x_0 · (x_lᵀ w_l) + b_l + r(x_l)                 w_l, b_l ∈ R^D
/// full     (DCN-V2)    x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + r(x_l)                 W_l ∈ R^{D×D}
/// lowRank  (DCN-V2)    x_{l+1} = x_0 ⊙ (U_l (V_lᵀ x_l) + b_l) + r(x_l)          U_l, V_l ∈ R^{D×r}
/// mixture  (DCN-Mix)   x_{l+1} = Σ_i G_i(x_l) · x_0 ⊙ (U_{l,i} g(C_{l,i} g(V_{l,i}ᵀ x_l)) + b_l) + r(x_l)
///                      G = softmax(Linear(D → n_e)(x_l)), g = tanh, C ∈ R^{r×r}
/// combined (PHN)       x_{l+1} = x_0 ⊙ (Ω_l x_l) + x_0 · (ω_lᵀ x_l) + b_l + r(x_l)
/// ```
/// The residual `r(x) = x` (`.plain`), `ρ_l · x` with a trainable scalar ρ_l initialised to 1 (`.gated`), or 0.
///
/// Parameters `<name>.layers.{l}.`: `weight` (`[1, D]` for vector, `[D, D]` for full and combined), `bias` `[D]`
/// (every form), `down.weight` `[r, D]` = V_lᵀ and `up.weight` `[D, r]` = U_l (lowRank), for mixture the
/// experts stacked — `down.weight` `[n_e·r, D]`, `core` `[n_e, r, r]`, `up.weight` `[D, n_e·r]` — and
/// `gate.weight` `[n_e, D]`, `gate.bias` `[n_e]`; `vector_weight` `[1, D]` (combined); `residual_scale` `[1]` (gated).
///
/// Initialisation: w_l Xavier-normal (DCN); W_l, Ω_l, U_l, V_l Xavier-uniform; the mixture's U, V, C Xavier-normal
/// per expert (as DeepCTR's CrossNetMix); ω_l Xavier-normal; biases 0; the gate as PyTorch's `Linear`.
/// [DECISION] The mixture's gate is per layer with a bias (DeepCTR shares one bias-free gate across layers).
public final class CrossNetwork: ExpertBlock {
    public enum Form: String, Codable, Sendable {
        case vector, full, lowRank, mixture, combined
    }

    public enum Residual: String, Codable, Sendable {
        case plain, gated, none
    }

    public struct Options: Codable, Equatable, Sendable {
        /// Number of cross layers L_c.
        public var layers = 3
        /// nil: DCN-V2's default, `.full` when D ≤ 512 and `.lowRank` with r = 64 above (baselines.md §13.2).
        public var form: Form?
        /// Rank r of lowRank / mixture; nil: 64 for lowRank, 32 for mixture.
        public var rank: Int?
        /// Experts n_e of the mixture form.
        public var experts = 4
        public var residual = Residual.plain

        public init(layers: Int = 3, form: Form? = nil, rank: Int? = nil, experts: Int = 4, residual: Residual = .plain) {
            self.layers = layers
            self.form = form
            self.rank = rank
            self.experts = experts
            self.residual = residual
        }

        /// The form used for inputs of width `width`.
        public func resolvedForm(width: Int) -> Form { form ?? (width > 512 ? .lowRank : .full) }

        /// The rank used by `form`.
        public func resolvedRank(_ form: Form) -> Int { rank ?? (form == .mixture ? 32 : 64) }
    }

    public let form: Form
    public let width: Int
    public let layers: [CrossLayer]

    /// - Parameter width: D, the columns of `x_0`.
    public init(width: Int, options: Options = Options(), name: String, using rng: inout SeededGenerator) {
        precondition(options.layers >= 0, "cross layers \(options.layers)")
        self.width = width
        let form = options.resolvedForm(width: width), rank = options.resolvedRank(form)
        self.form = form
        layers = (0..<options.layers).map { l in
            CrossLayer(width: width, form: form, rank: rank, experts: options.experts, residual: options.residual,
                       name: qualified(name, "layers.\(l)"), using: &rng)
        }
    }

    public var children: [any Module] { layers }
    public var outputWidth: Int { width }

    /// `x0` `[B, D]` → `x_L` `[B, D]`.
    public func callAsFunction(_ x0: Variable, _ context: ForwardContext) -> Variable {
        layers.reduce(x0) { x, layer in layer(x, x0: x0, context) }
    }
}

/// One layer of a `CrossNetwork` (see there for the equations and parameter names).
public final class CrossLayer: Module {
    public let form: CrossNetwork.Form
    public let residual: CrossNetwork.Residual
    /// w_l `[1, D]` (vector), W_l or Ω_l `[D, D]` (full, combined).
    public let weight: Parameter?
    /// ω_l `[1, D]` (combined).
    public let vectorWeight: Parameter?
    public let bias: Parameter
    /// V_lᵀ (lowRank), all experts' V_{l,i}ᵀ stacked (mixture).
    public let down: Linear?
    /// U_l (lowRank), the experts' U_{l,i} side by side (mixture).
    public let up: Linear?
    /// C_{l,i} `[n_e, r, r]` (mixture).
    public let core: Parameter?
    /// G (mixture).
    public let gate: Linear?
    /// ρ_l (gated residual).
    public let residualScale: Parameter?
    private let experts: Int, rank: Int

    init(width d: Int, form: CrossNetwork.Form, rank: Int, experts: Int, residual: CrossNetwork.Residual, name: String,
         using rng: inout SeededGenerator) {
        self.form = form
        self.residual = residual
        self.rank = rank
        self.experts = form == .mixture ? experts : 1
        let vectorInit = Initializer.xavierNormal(gain: 1)
        switch form {
        case .vector:
            weight = Parameter(name: qualified(name, "weight"), value: vectorInit.make([1, d], fanIn: 1, fanOut: d, using: &rng))
        case .full, .combined:
            weight = Parameter(name: qualified(name, "weight"),
                               value: Initializer.xavierUniform(gain: 1).make([d, d], fanIn: d, fanOut: d, using: &rng))
        case .lowRank, .mixture:
            weight = nil
        }
        vectorWeight = form == .combined
            ? Parameter(name: qualified(name, "vector_weight"), value: vectorInit.make([1, d], fanIn: 1, fanOut: d, using: &rng)) : nil
        bias = Parameter(name: qualified(name, "bias"), value: Tensor(zeros: [d]))
        let n = self.experts
        switch form {
        case .lowRank:
            down = Linear(d, rank, name: qualified(name, "down"), bias: false, weightInitializer: .xavierUniform(gain: 1), using: &rng)
            up = Linear(rank, d, name: qualified(name, "up"), bias: false, weightInitializer: .xavierUniform(gain: 1), using: &rng)
        case .mixture:
            // Per expert: fans (D, r) for U and V, (r, r) for C, as DeepCTR's per-expert Xavier-normal draws.
            let expertInit = Initializer.normal(mean: 0, std: (2 / Float(d + rank)).squareRoot())
            down = Linear(d, n * rank, name: qualified(name, "down"), bias: false, weightInitializer: expertInit, using: &rng)
            up = Linear(n * rank, d, name: qualified(name, "up"), bias: false, weightInitializer: expertInit, using: &rng)
        default:
            down = nil
            up = nil
        }
        core = form == .mixture
            ? Parameter(name: qualified(name, "core"), value: vectorInit.make([n, rank, rank], fanIn: rank, fanOut: rank, using: &rng)) : nil
        gate = form == .mixture ? Linear(d, n, name: qualified(name, "gate"), using: &rng) : nil
        residualScale = residual == .gated ? Parameter(name: qualified(name, "residual_scale"), value: Tensor(repeating: 1, shape: [1])) : nil
    }

    public var parameters: [Parameter] {
        [weight, vectorWeight].compactMap { $0 } + (down?.parameters ?? []) + [core].compactMap { $0 }
            + (up?.parameters ?? []) + (gate?.parameters ?? []) + [bias] + [residualScale].compactMap { $0 }
    }

    /// `x` = x_l, `x0` = x_0, both `[B, D]` → x_{l+1} `[B, D]`.
    public func callAsFunction(_ x: Variable, x0: Variable, _ context: ForwardContext) -> Variable {
        let b = context.use(bias)
        let crossed: Variable
        switch form {
        case .vector:
            crossed = x0 * Variable.linear(x, weight: context.use(weight!), bias: nil) + b
        case .full:
            crossed = x0 * Variable.linear(x, weight: context.use(weight!), bias: b)
        case .lowRank:
            crossed = x0 * Variable.linear(down!(x, context), weight: context.use(up!.weight), bias: b)
        case .mixture:
            crossed = x0 * Variable.linear(mixtureOfExperts(x, context), weight: context.use(up!.weight), bias: b)
        case .combined:
            let matrix = Variable.linear(x, weight: context.use(weight!), bias: nil)
            let scalar = Variable.linear(x, weight: context.use(vectorWeight!), bias: nil)
            crossed = x0 * (matrix + scalar) + b
        }
        switch residual {
        case .plain: return crossed + x
        case .gated: return crossed + x * context.use(residualScale!)
        case .none: return crossed
        }
    }

    /// `[G_i · g(C_i g(V_iᵀ x))]_i` concatenated `[B, n_e·r]`, ready for the stacked U. Because Σ_i G_i = 1,
    /// `Σ_i G_i x_0 ⊙ (U_i h_i + b) = x_0 ⊙ (U (G ⊗ h) + b)`: one GEMM for all experts' U.
    private func mixtureOfExperts(_ x: Variable, _ context: ForwardContext) -> Variable {
        let batch = x.shape[0]
        let gates = gate!(x, context).softmax().reshaped([batch, experts, 1])
        let projected = down!(x, context).tanh().reshaped([batch, experts, rank]).swappingAxes(0, 1)  // [n_e, B, r]
        let mixed = Variable.batchedMatmul(projected, context.use(core!), transposeB: true)              // C_i h per expert
        return (mixed.swappingAxes(0, 1).tanh() * gates).reshaped([batch, experts * rank])
    }
}
