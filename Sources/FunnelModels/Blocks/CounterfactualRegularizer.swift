import FunnelCore

/// ESCM²'s counterfactual regulariser of a conditional step over the previous step's positive rows, with the
/// previous step's entire-space probability as propensity (baselines.md §8; names follow PaddleRec's `escm2`).
///
/// Per row i: o_i the previous step's label (clicked), r_i this step's label, δ_i = BCE(r_i, σ(z_i)) the
/// per-row error of the conditional step, δ̂_i ≥ 0 an imputed error, ô_i = max(sg(p_i), ô_min), B the batch size:
/// ```
/// IPS:  R = (1/B) Σ_i o_i δ_i / ô_i
/// DR:   R = (1/B) Σ_i [ sg(δ̂_i) + o_i (δ_i − sg(δ̂_i)) / ô_i ]  +  (1/B) Σ_i o_i (sg(δ_i) − δ̂_i)² / ô_i
/// ```
/// (the second DR sum is the imputation loss L_imp). Unscaled: the model multiplies by λ_c.
public struct CounterfactualRegularizer: Sendable {
    public enum Estimator: String, Codable, Sendable {
        /// Inverse propensity scoring, R_IPS.
        case inversePropensity = "ips"
        /// Doubly robust, R_DR + L_imp (needs an imputation tower).
        case doublyRobust = "dr"
    }

    public var estimator: Estimator
    /// ô_min: the propensity's lower clip (default 1/15: inverse propensity at most 15). [DECISION]
    public var minimumPropensity: Float
    /// Stop the gradient through ô in DR too (IPS always does). [DECISION] Alternative: the reference code's
    /// undetached DR propensity.
    public var detachPropensityInDoublyRobust: Bool
    /// Detach δ̂ inside R_DR and δ inside L_imp, so R_DR trains the conditional tower and L_imp the imputation
    /// tower. [DECISION] Alternative: no detaching (the reference code).
    public var detachDoublyRobustTargets: Bool

    public init(estimator: Estimator, minimumPropensity: Float = 1.0 / 15, detachPropensityInDoublyRobust: Bool = true,
                detachDoublyRobustTargets: Bool = true) {
        self.estimator = estimator
        self.minimumPropensity = minimumPropensity
        self.detachPropensityInDoublyRobust = detachPropensityInDoublyRobust
        self.detachDoublyRobustTargets = detachDoublyRobustTargets
    }

    /// - Parameters:
    ///   - observed: o, the previous step's 0/1 labels `[B]`.
    ///   - outcome: r, this step's entire-space labels `[B]` (equal to the conditional label where o = 1).
    ///   - propensity: the previous step's entire-space probability `[B]`.
    ///   - conditionalLogit: z of this step's conditional tower `[B]`.
    ///   - imputedError: δ̂ `[B]` (doubly robust only).
    /// - Returns: R (scalar).
    public func callAsFunction(observed: Tensor, outcome: Tensor, propensity: Variable, conditionalLogit z: Variable,
                               imputedError: Variable?) -> Variable {
        let rows = Float(observed.count), floor = minimumPropensity
        let o = Variable(observed)
        let delta = z.softplus() - z * Variable(outcome)  // BCE(r, σ(z)) per row
        let inversePropensityWeighted: (Variable) -> Variable
        if estimator == .inversePropensity || detachPropensityInDoublyRobust {
            let clipped = propensity.value.map({ $0.replacing(with: SIMD8(repeating: floor), where: $0 .< floor) }, { max($0, floor) })
            inversePropensityWeighted = { $0 * o / Variable(clipped) }
        } else {
            let clipped = (propensity - floor).relu() + floor
            inversePropensityWeighted = { $0 * o / clipped }
        }
        switch estimator {
        case .inversePropensity:
            return inversePropensityWeighted(delta).sum() * (1 / rows)
        case .doublyRobust:
            guard let imputed = imputedError else { preconditionFailure("the doubly robust estimator needs an imputed error") }
            let detach = detachDoublyRobustTargets
            let imputedTarget = detach ? imputed.detached() : imputed
            let errorTarget = detach ? delta.detached() : delta
            let risk = (imputedTarget + inversePropensityWeighted(delta - imputedTarget)).sum() * (1 / rows)
            let imputationLoss = inversePropensityWeighted((errorTarget - imputed).squared()).sum() * (1 / rows)
            return risk + imputationLoss
        }
    }
}
