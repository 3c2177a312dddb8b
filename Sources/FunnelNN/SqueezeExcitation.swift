import FunnelCore

/// Field-wise Squeeze-and-Excitation (Hu et al., CVPR 2018, applied to fields as in FiBiNET, RecSys 2019): each
/// field token is summarised by its mean, a two-layer bottleneck turns the F summaries into F field weights, and
/// every token is rescaled by its weight.
/// ```
/// s_f   = mean_k X_{f,k}                               squeeze            [batch, F]
/// a     = act(W_2 ReLU(W_1 s + b_1) + b_2)             excitation         [batch, F]
/// X''_f = a_f · X_f                                    re-weighting       [batch, F, d]
/// ```
/// `W_1 ∈ R^{F_r×F}`, `W_2 ∈ R^{F×F_r}`, `F_r = max(1, ⌈F / r⌉)`. `act` is a sigmoid (weights in (0, 1)) or, as in
/// FiBiNET, a ReLU. Parameters `<name>.reduce.*` (W_1, b_1) and `<name>.expand.*` (W_2, b_2), PyTorch `Linear`
/// layout and initialisation.
public final class SqueezeExcitation: Module {
    /// The excitation's output nonlinearity.
    public enum Activation: String, Codable, Sendable {
        case sigmoid, relu
    }

    public let reduce: Linear, expand: Linear
    public let activation: Activation
    public let fields: Int

    /// - Parameters:
    ///   - fields: number of field tokens F.
    ///   - reduction: reduction ratio r of the bottleneck (FiBiNET uses 3).
    public init(fields: Int, reduction: Int = 3, activation: Activation = .sigmoid, name: String, using rng: inout SeededGenerator) {
        precondition(fields > 0 && reduction > 0, "squeeze-excitation of \(fields) fields with ratio \(reduction)")
        let bottleneck = max(1, (fields + reduction - 1) / reduction)
        self.fields = fields
        self.activation = activation
        reduce = Linear(fields, bottleneck, name: qualified(name, "reduce"), using: &rng)
        expand = Linear(bottleneck, fields, name: qualified(name, "expand"), using: &rng)
    }

    public var children: [any Module] { reduce; expand }

    /// `x` `[batch, F, d]` → the re-weighted tokens `[batch, F, d]` and the field weights `a` `[batch, F]`.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> (output: Variable, weights: Variable) {
        let batch = x.shape[0]
        precondition(x.shape.count == 3 && x.shape[1] == fields, "squeeze-excitation over \(fields) fields got \(x.shape)")
        let summary = x.mean(alongAxis: 2)
        let excited = expand(reduce(summary, context, activation: .relu), context, activation: activation == .relu ? .relu : .identity)
        let weights = activation == .sigmoid ? excited.sigmoid() : excited
        return (x * weights.reshaped([batch, fields, 1]), weights)
    }
}
