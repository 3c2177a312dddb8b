/// What generic code (benchmarks, comparisons) needs to know about a model type beyond its forward pass. A model
/// declares its traits once (`static var traits`); the registry hands them out per name, so no caller checks
/// model names.
public struct ModelTraits: Equatable, Sendable {
    /// Trained on entire-space nested labels: a later binary task's label implies the earlier one's (the
    /// ESMM-style chains, whose twins run with `chained = True`).
    public var nestsLabels: Bool
    /// The loss-balancing method (a `BalancingMethod` name) the model is designed for; nil: none in particular.
    public var defaultBalancing: String?

    public init(nestsLabels: Bool = false, defaultBalancing: String? = nil) {
        self.nestsLabels = nestsLabels
        self.defaultBalancing = defaultBalancing
    }
}
