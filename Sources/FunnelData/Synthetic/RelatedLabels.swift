import Foundation
import FunnelCore

/// Options of DEPHN's related / unrelated label construction (synthetic-data.md §6). Defaults are the spec's
/// decisions; the alternatives are switches so experiments can state which reading they used.
public struct RelatedLabelsConfiguration: Codable, Equatable, Sendable {
    /// Where sgn(c) applies in the related value.
    public enum SignPlacement: String, Codable, Sendable {
        /// y_rel = sgn(c)·(2 ln(1 + |c|) + 0.1 e^{|c|}) + ε (default; reproduces the paper's correlations).
        case wholeExpression
        /// y_rel = sgn(c)·2 ln(1 + |c|) + 0.1 e^{|c|} + ε.
        case logarithmOnly
    }

    /// How a value becomes a 0/1 label.
    public enum Rule: String, Codable, Sendable {
        /// 1[y > 0] (default).
        case threshold
        /// Bernoulli(σ(y)) drawn as uniform(seed, 121, r) (related) / uniform(seed, 122, r) (unrelated) < σ(y).
        /// Streams 121–122 are Funnel's choice; the spec does not assign streams to this alternative.
        case bernoulli
    }

    /// σ_ε of the noise on the related value (stream 120).
    public var noise: Double
    public var sign: SignPlacement
    public var rule: Rule

    public init(noise: Double = 0.1, sign: SignPlacement = .wholeExpression, rule: Rule = .threshold) {
        self.noise = noise
        self.sign = sign
        self.rule = rule
    }
}

/// Related and unrelated values and labels derived from base confidences (logits) c.
public struct RelatedLabels: Sendable {
    /// y_rel and y_unrel per row.
    public let relatedValue: [Double], unrelatedValue: [Double]
    /// 0/1 labels.
    public let related: [UInt8], unrelated: [UInt8]

    /// Builds the labels of rows 0..<c.count from confidences `c` (a Criteo model's logits, or a generator's true
    /// click logit); row r's noise is σ_ε·normal(seed, 120, r).
    public init(confidence c: [Double], seed: UInt64 = 0, configuration: RelatedLabelsConfiguration = RelatedLabelsConfiguration()) {
        var relatedValue = [Double](), unrelatedValue = [Double]()
        relatedValue.reserveCapacity(c.count)
        unrelatedValue.reserveCapacity(c.count)
        for (r, value) in c.enumerated() {
            let a = abs(value), sign: Double = value > 0 ? 1 : value < 0 ? -1 : 0
            let noise = configuration.noise * PortableRandom.normal(seed: seed, stream: 120, index: UInt64(r))
            switch configuration.sign {
            case .wholeExpression: relatedValue.append(sign * (2 * log1p(a) + 0.1 * exp(a)) + noise)
            case .logarithmOnly: relatedValue.append(sign * 2 * log1p(a) + 0.1 * exp(a) + noise)
            }
            unrelatedValue.append(sign * (2 * sin(a) + 0.1 * cos(a)))
        }
        func labels(_ values: [Double], stream: UInt64) -> [UInt8] {
            values.enumerated().map { r, y in
                switch configuration.rule {
                case .threshold: return y > 0 ? 1 : 0
                case .bernoulli: return PortableRandom.uniform(seed: seed, stream: stream, index: UInt64(r)) < stableSigmoid(y) ? 1 : 0
                }
            }
        }
        self.relatedValue = relatedValue
        self.unrelatedValue = unrelatedValue
        related = labels(relatedValue, stream: 121)
        unrelated = labels(unrelatedValue, stream: 122)
    }
}

/// What the DEPHN construction produced, to report next to results.
public struct RelatedLabelsStatistics: Codable, Equatable, Sendable {
    public var confidenceMean: Double, confidenceStd: Double
    /// Pearson corr(c, y_rel) and corr(c, y_unrel) (the paper reports 0.9877 and 0.5288 on Criteo).
    public var relatedCorrelation: Double, unrelatedCorrelation: Double
    /// Positive rates of the base, related and unrelated labels.
    public var baseRate: Double, relatedRate: Double, unrelatedRate: Double
    /// Phi coefficients phi(base, related) and phi(base, unrelated).
    public var relatedPhi: Double, unrelatedPhi: Double

    public var summary: String {
        String(format: "c mean %.3f std %.3f; corr(c, y_rel) %.4f, corr(c, y_unrel) %.4f; rates base %.4f related %.4f "
               + "unrelated %.4f; phi(base, related) %.4f, phi(base, unrelated) %.4f",
               confidenceMean, confidenceStd, relatedCorrelation, unrelatedCorrelation, baseRate, relatedRate,
               unrelatedRate, relatedPhi, unrelatedPhi)
    }
}

/// DEPHN-style two-task data without Criteo (synthetic-data.md §6): the funnel generator (preset `.dephnPair`),
/// c = b_c + U_0 (the true click logit), base label = click, paired with the related or the unrelated label.
public struct DEPHNPairDataset: Sendable {
    /// Which label goes with the base label.
    public enum Pair: String, Codable, Sendable { case related, unrelated }

    public let funnel: FunnelDataset
    /// c per row.
    public let confidence: [Double]
    public let labels: RelatedLabels
    public let statistics: RelatedLabelsStatistics

    public init(funnel configuration: FunnelConfiguration = .dephnPair, seed: UInt64 = 0,
                labels labelConfiguration: RelatedLabelsConfiguration = RelatedLabelsConfiguration()) throws {
        let funnel = try FunnelDataset(configuration: configuration, seed: seed)
        let bias = funnel.statistics.clickBias
        let confidence = (0..<funnel.rowCount).map { bias + funnel.scores[$0 * 3] }
        let labels = RelatedLabels(confidence: confidence, seed: seed, configuration: labelConfiguration)
        self.funnel = funnel
        self.confidence = confidence
        self.labels = labels
        let n = Double(funnel.rowCount)
        let mean = confidence.reduce(0, +) / n
        let std = (confidence.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        let base = funnel.click.map(Double.init), related = labels.related.map(Double.init)
        let unrelated = labels.unrelated.map(Double.init)
        statistics = RelatedLabelsStatistics(
            confidenceMean: mean, confidenceStd: std,
            relatedCorrelation: pearsonCorrelation(confidence, labels.relatedValue) ?? .nan,
            unrelatedCorrelation: pearsonCorrelation(confidence, labels.unrelatedValue) ?? .nan,
            baseRate: base.reduce(0, +) / n, relatedRate: related.reduce(0, +) / n, unrelatedRate: unrelated.reduce(0, +) / n,
            relatedPhi: pearsonCorrelation(base, related) ?? .nan, unrelatedPhi: pearsonCorrelation(base, unrelated) ?? .nan)
    }

    public var rowCount: Int { funnel.rowCount }

    /// `base` (label `click`) and `related` or `unrelated`; both binary over every row, not nested.
    public func tasks(_ pair: Pair) -> [TaskSpec] {
        [TaskSpec(name: "base", kind: .binary, label: "click"), TaskSpec(name: pair.rawValue, kind: .binary)]
    }

    /// The funnel's features with labels (click, related or unrelated).
    public func table(_ pair: Pair) -> EncodedTable {
        let features = funnel.table
        let second = pair == .related ? labels.related : labels.unrelated
        var values = [Float](repeating: 0, count: rowCount * 2)
        for r in 0..<rowCount {
            values[r * 2] = Float(funnel.click[r])
            values[r * 2 + 1] = Float(second[r])
        }
        return EncodedTable(layout: features.layout, tasks: tasks(pair), rowCount: rowCount, ids: features.ids,
                            numeric: features.numeric, labels: values)
    }

    /// 80 / 10 / 10 by row index (synthetic-data.md §8).
    public var splits: RowSplits { .byIndex(rowCount: rowCount) }

    /// Writes the funnel's features, `click`, `related`, `unrelated` as CSV; with `groundTruth`, also
    /// `confidence`, `y_related`, `y_unrelated`.
    public func writeCSV(to url: URL, groundTruth: Bool = false, overwrite: Bool = false) throws {
        let fields = funnel.configuration.categoricalFields, width = funnel.configuration.denseFeatures
        var columns = (0..<fields).map { CSVColumn.integers("cat\($0)", funnel.categorical, stride: fields, offset: $0) }
        columns += (0..<width).map { CSVColumn.reals("dense\($0)", funnel.dense, stride: width, offset: $0) }
        columns += [.integers("click", funnel.click), .integers("related", labels.related), .integers("unrelated", labels.unrelated)]
        if groundTruth {
            columns += [.reals("confidence", confidence), .reals("y_related", labels.relatedValue),
                        .reals("y_unrelated", labels.unrelatedValue)]
        }
        try FunnelData.writeCSV(columns: columns, rows: rowCount, to: url, overwrite: overwrite)
    }
}
