import FunnelCore

/// NFM's bi-interaction pooling (baselines.md §13.3), the pairwise part of a factorisation machine kept as a vector:
/// ```
/// f_BI = ½ [ (Σ_f v_f) ⊙ (Σ_f v_f) − Σ_f v_f ⊙ v_f ]        [B, d]
/// ```
/// (Σ_k f_BI[k] is FM's second-order term.) No parameters. Input `e` `[B, F·d]`, output `[B, d]`.
/// The first-order term of FM/NFM is `FirstOrderTerm`; NFM's MLP on top is the caller's.
public final class BiInteraction: ExpertBlock {
    public let fieldCount: Int
    public let embeddingWidth: Int

    public init(fieldCount: Int, embeddingWidth: Int) {
        self.fieldCount = fieldCount
        self.embeddingWidth = embeddingWidth
    }

    public var parameters: [Parameter] { [] }
    public var outputWidth: Int { embeddingWidth }

    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        let fields = e.reshaped([e.shape[0], fieldCount, embeddingWidth])
        let sum = fields.sum(alongAxis: 1)
        let sumOfSquares = fields.squared().sum(alongAxis: 1)
        return (sum.squared() - sumOfSquares) * 0.5
    }
}
