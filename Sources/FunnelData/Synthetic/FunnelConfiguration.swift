/// Settings of the funnel generator (synthetic-data.md §5.1): impressions with categorical and dense features,
/// nested click → conversion → amount labels, chosen base rates and planted effects. Per-step triples are
/// (click, conversion, amount).
public struct FunnelConfiguration: Codable, Equatable, Sendable {
    public var rows: Int
    /// Number of categorical fields F.
    public var categoricalFields: Int
    /// Number of dense features D.
    public var denseFeatures: Int
    /// Fields 0..<F_inf carry signal; nil means F/2.
    public var informativeFields: Int?
    /// Skew κ of categorical ids towards small values (id = ⌊V·u^κ⌋).
    public var skew: Double
    /// Target CTR over impressions.
    public var clickRate: Double
    /// Target CVR over clicked rows.
    public var conversionRate: Double
    /// λ_k: scale of the categorical latent per step.
    public var latentScale: [Double]
    /// ρ_k: loading of the shared factor S per step (the rest is task-specific).
    public var sharedLoading: [Double]
    /// δ_k: weight of the linear dense term per step.
    public var denseWeight: [Double]
    /// β_int: strength of the nonlinear dense terms (tanh(x₀x₁) for click, x₂² for conversion).
    public var interactionStrength: Double
    /// Strength of the field-0 × field-1 interaction in click and conversion (0: none).
    public var crossStrength: Double
    /// Median amount at zero score.
    public var amountScale: Double
    /// σ_A: standard deviation of the log-amount noise.
    public var amountNoise: Double
    /// The loss of the `amount` task in `FunnelDataset.tasks` (the generator does not use it).
    public var amountLoss: TaskLoss
    /// Zipf-distributed id fields after the categorical fields (`id0…`), or nil for none.
    public var idFields: IdFieldConfiguration?

    public init(rows: Int = 200_000, categoricalFields: Int = 16, denseFeatures: Int = 8, informativeFields: Int? = nil,
                skew: Double = 2, clickRate: Double = 0.05, conversionRate: Double = 0.10,
                latentScale: [Double] = [1, 1, 0.5], sharedLoading: [Double] = [0.7, 0.7, 0.5],
                denseWeight: [Double] = [0.5, 0.5, 0.3], interactionStrength: Double = 0.5, crossStrength: Double = 0,
                amountScale: Double = 50, amountNoise: Double = 0.8, amountLoss: TaskLoss = .zeroInflatedLognormal) {
        self.rows = rows
        self.categoricalFields = categoricalFields
        self.denseFeatures = denseFeatures
        self.informativeFields = informativeFields
        self.skew = skew
        self.clickRate = clickRate
        self.conversionRate = conversionRate
        self.latentScale = latentScale
        self.sharedLoading = sharedLoading
        self.denseWeight = denseWeight
        self.interactionStrength = interactionStrength
        self.crossStrength = crossStrength
        self.amountScale = amountScale
        self.amountNoise = amountNoise
        self.amountLoss = amountLoss
    }

    /// The default preset: 200,000 rows, CTR 0.05, CVR 0.10.
    public static let `default` = FunnelConfiguration()

    /// The smoke preset: 4,096 rows, CTR 0.30, CVR 0.30.
    public static let smoke = FunnelConfiguration(rows: 4096, clickRate: 0.30, conversionRate: 0.30)

    /// The base of DEPHN-style pairs (synthetic-data.md §6): the default preset with CTR 0.30.
    public static let dephnPair = FunnelConfiguration(clickRate: 0.30)

    /// F_inf.
    public var resolvedInformativeFields: Int { informativeFields ?? categoricalFields / 2 }

    func validate() throws {
        guard rows >= 1, categoricalFields >= 2, denseFeatures >= 3 else {
            throw SyntheticDataError.invalidConfiguration("funnel generator needs n ≥ 1, F ≥ 2 and D ≥ 3")
        }
        try idFields?.validate()
        guard (1...categoricalFields).contains(resolvedInformativeFields) else {
            throw SyntheticDataError.invalidConfiguration("informative fields must be in 1…F")
        }
        guard clickRate > 0, clickRate < 1, conversionRate > 0, conversionRate < 1 else {
            throw SyntheticDataError.invalidConfiguration("base rates must be in (0, 1)")
        }
        guard latentScale.count == 3, sharedLoading.count == 3, denseWeight.count == 3,
              sharedLoading.allSatisfy({ abs($0) <= 1 }), skew > 0, amountScale > 0, amountNoise >= 0 else {
            throw SyntheticDataError.invalidConfiguration("need three λ, ρ (|ρ| ≤ 1) and δ, κ > 0, amountScale > 0, σ_A ≥ 0")
        }
    }
}
