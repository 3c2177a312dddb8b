import FunnelCore

/// The first-order (linear, "wide") term of FM, NFM and xDeepFM (baselines.md §13.3):
/// ```
/// z_1 = w_0 + Σ_f w_{f, x_f} + ⟨w_num, x_num⟩        [B]
/// ```
/// The weights w_{f,c} are a 1-wide embedding table with the same field offsets as `FieldEmbedding` (multi-valued
/// fields pool their ids' weights the same way); numeric features enter linearly.
/// Parameters `<name>.embedding.weight` `[Σ V, 1]` (N(0, 1e-4²), FuxiCTR's default), `<name>.dense_projection.weight`
/// `[1, n_num]` (PyTorch `Linear` default, no bias) and `<name>.bias` `[1]` = w_0 (0; left out with `bias: false`
/// when the model adds its own constant, e.g. NFM's tower).
public final class FirstOrderTerm: Module {
    /// The per-id weights (nil without categorical or multi-valued fields).
    public let weights: FieldEmbedding?
    public let denseProjection: Linear?
    public let bias: Parameter?

    public init(vocabularySizes: [Int], bags: [FieldEmbedding.Bag] = [], numericFeatures: Int, bias: Bool = true, name: String,
                using rng: inout SeededGenerator) {
        weights = vocabularySizes.isEmpty && bags.isEmpty ? nil
            : FieldEmbedding(vocabularySizes: vocabularySizes, bags: bags, width: 1, numericFeatures: 0,
                             name: qualified(name, "embedding"), initializer: .normal(mean: 0, std: 1e-4), using: &rng)
        denseProjection = numericFeatures > 0
            ? Linear(numericFeatures, 1, name: qualified(name, "dense_projection"), bias: false, using: &rng) : nil
        self.bias = bias ? Parameter(name: qualified(name, "bias"), value: Tensor(zeros: [1])) : nil
    }

    public var parameters: [Parameter] { (weights?.parameters ?? []) + (denseProjection?.parameters ?? []) + [bias].compactMap { $0 } }

    /// Arguments as `FieldEmbedding.callAsFunction`; returns `[B]`.
    public func callAsFunction(ids: [Int32], bagIDs: [(offsets: [Int32], ids: [Int32])] = [], numeric: Tensor?,
                               _ context: ForwardContext) -> Variable {
        var terms: [Variable] = []
        if let weights {
            terms.append(weights(ids: ids, bagIDs: bagIDs, numeric: nil, context).sum(alongAxis: 1, keepingAxis: true))
        }
        if let denseProjection, let numeric { terms.append(denseProjection(context.input(numeric, named: FieldEmbedding.denseInput), context)) }
        precondition(!terms.isEmpty, "FirstOrderTerm without inputs")
        var total = terms.dropFirst().reduce(terms[0], +)
        if let bias { total = total + context.use(bias) }
        return total.reshaped([total.shape[0]])
    }
}
