import Foundation

/// One of the built-in synthetic datasets with its options, as a run file or the command line names it
/// (`funnel compare --synthetic funnel --rows 50000`): which generator, its size and seed, and the generator's own
/// knobs. `makeData()` generates it and cuts the 80 / 10 / 10 row-index split (synthetic-data.md §8).
public struct SyntheticRecipe: Codable, Equatable, Sendable {
    public enum Generator: String, Codable, CaseIterable, Sendable {
        /// Click → conversion → amount impressions (§5; tasks `ctr`, `cvr`, `amount`).
        case funnel
        /// MMoE's two tasks whose weight vectors have cosine `cosine` (§2; tasks `task0`, `task1`).
        case correlated
        /// Click with a related or unrelated second label (§6; tasks `base`, `related`/`unrelated`).
        case dephn
    }

    public var generator: Generator
    /// Rows in all (nil: the preset's; correlated: 10,000).
    public var rows: Int?
    /// Seed of the portable random numbers (the same data as `bench/funnel_synth.py`).
    public var seed: UInt64
    /// Funnel presets: `default` (CTR 0.05, CVR 0.10) or `smoke` (0.30, 0.30). Ignored by the others.
    public var preset: String?
    /// Funnel and DEPHN: strength of the field-0 × field-1 interaction.
    public var cross: Double?
    /// Correlated: cosine p between the two task weight vectors (default 0.5).
    public var cosine: Double?
    /// Correlated: binary labels with this positive rate per task (rank thresholding); nil: regression labels.
    public var binaryRate: Double?
    /// Correlated, binary: nest the labels (task1 ← task1 · task0).
    public var nested: Bool?
    /// DEPHN: which label pairs with the click (default related).
    public var pair: DEPHNPairDataset.Pair?
    /// Funnel: the loss of the `amount` task — `ziln` (default), `mse` or `huber` (models without ZILN heads
    /// need one of the latter two).
    public var amountLoss: String?
    /// Funnel: Zipf-distributed id fields (`FunnelConfiguration.idFields`).
    public var idFields: IdFieldConfiguration?

    public init(generator: Generator, rows: Int? = nil, seed: UInt64 = 0, preset: String? = nil, cross: Double? = nil,
                cosine: Double? = nil, binaryRate: Double? = nil, nested: Bool? = nil, pair: DEPHNPairDataset.Pair? = nil,
                amountLoss: String? = nil, idFields: IdFieldConfiguration? = nil) {
        self.generator = generator
        self.rows = rows
        self.seed = seed
        self.preset = preset
        self.cross = cross
        self.cosine = cosine
        self.binaryRate = binaryRate
        self.nested = nested
        self.pair = pair
        self.amountLoss = amountLoss
        self.idFields = idFields
    }

    private enum CodingKeys: String, CodingKey, CaseIterable { case generator, rows, seed, preset, cross, cosine, binaryRate, nested, pair, amountLoss, idFields }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(generator: try c.decode(Generator.self, forKey: .generator), rows: try c.decodeIfPresent(Int.self, forKey: .rows),
                  seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0, preset: try c.decodeIfPresent(String.self, forKey: .preset),
                  cross: try c.decodeIfPresent(Double.self, forKey: .cross), cosine: try c.decodeIfPresent(Double.self, forKey: .cosine),
                  binaryRate: try c.decodeIfPresent(Double.self, forKey: .binaryRate),
                  nested: try c.decodeIfPresent(Bool.self, forKey: .nested),
                  pair: try c.decodeIfPresent(DEPHNPairDataset.Pair.self, forKey: .pair),
                  amountLoss: try c.decodeIfPresent(String.self, forKey: .amountLoss),
                  idFields: try c.decodeIfPresent(IdFieldConfiguration.self, forKey: .idFields))
    }

    /// The funnel generator's settings for `preset`, `rows`, `cross` and `idFields` (also the base of the DEPHN pairs).
    public func funnelConfiguration() throws -> FunnelConfiguration {
        var configuration: FunnelConfiguration
        if generator == .dephn {
            configuration = .dephnPair
        } else {
            guard let preset = [nil: FunnelConfiguration.default, "default": .default, "smoke": .smoke][preset] else {
                throw SyntheticDataError.invalidConfiguration("unknown funnel preset '\(preset ?? "")' (default, smoke)")
            }
            configuration = preset
        }
        if let rows { configuration.rows = rows }
        if let cross { configuration.crossStrength = cross }
        if generator == .funnel { configuration.idFields = idFields }
        switch amountLoss {
        case nil, "ziln": configuration.amountLoss = .zeroInflatedLognormal
        case "mse": configuration.amountLoss = .squaredError
        case "huber": configuration.amountLoss = .huber()
        case let other?: throw SyntheticDataError.invalidConfiguration("unknown amount loss '\(other)' (ziln, mse, huber)")
        }
        return configuration
    }

    /// The correlated generator's settings (two tasks).
    public func correlatedConfiguration() throws -> CorrelatedTasksConfiguration {
        let labels: CorrelatedLabels = binaryRate.map { .binary(BinaryThresholding(rates: [$0, $0], nested: nested ?? false)) } ?? .regression
        return .twoTasks(cosine: cosine ?? 0.5, rows: rows ?? 10_000, labels: labels)
    }

    /// Generates the dataset and splits it 80 / 10 / 10 by row index.
    public func makeData() throws -> ExperimentData {
        let table: EncodedTable, splits: RowSplits, statistics: String
        switch generator {
        case .funnel:
            let data = try FunnelDataset(configuration: try funnelConfiguration(), seed: seed)
            (table, splits, statistics) = (data.table, data.splits, data.statistics.summary)
        case .correlated:
            let data = try CorrelatedTasksDataset(configuration: try correlatedConfiguration(), seed: seed)
            (table, splits, statistics) = (data.table, data.splits, data.statistics.summary)
        case .dephn:
            let data = try DEPHNPairDataset(funnel: try funnelConfiguration(), seed: seed)
            (table, splits, statistics) = (data.table(pair ?? .related), data.splits, data.statistics.summary)
        }
        return ExperimentData(train: table.subset(splits.train), validation: table.subset(splits.validation),
                              test: table.subset(splits.test), featureMap: nil, source: .synthetic(self),
                              summary: "synthetic \(generator.rawValue) (seed \(seed)): \(statistics)")
    }

    /// Writes the generated rows as CSV (what `funnel synth … --csv` writes), with ground truth when asked.
    public func writeCSV(to url: URL, groundTruth: Bool = false, overwrite: Bool = false) throws {
        switch generator {
        case .funnel: try FunnelDataset(configuration: try funnelConfiguration(), seed: seed).writeCSV(to: url, groundTruth: groundTruth, overwrite: overwrite)
        case .correlated:
            try CorrelatedTasksDataset(configuration: try correlatedConfiguration(), seed: seed).writeCSV(to: url, groundTruth: groundTruth, overwrite: overwrite)
        case .dephn: try DEPHNPairDataset(funnel: try funnelConfiguration(), seed: seed).writeCSV(to: url, groundTruth: groundTruth, overwrite: overwrite)
        }
    }
}
