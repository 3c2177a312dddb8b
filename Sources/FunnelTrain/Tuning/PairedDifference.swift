import Foundation

/// A model's test metric minus a baseline's, paired by seed, with a two-sided paired t-test (H0: mean difference 0).
public struct PairedDifference: Codable, Equatable, Sendable {
    public var model: String
    public var baseline: String
    public var task: String
    public var metric: String
    /// The seeds both runs share, and the per-seed differences model − baseline.
    public var seeds: [UInt64]
    public var differences: [Double]
    public var mean: Double
    /// Sample standard deviation of the differences (0 for one pair).
    public var std: Double
    /// t = mean / (std / √n) with n − 1 degrees of freedom, and its two-sided p-value; nil below two pairs or when
    /// every difference is equal.
    public var t: Double?
    public var p: Double?

    /// The paired difference of `model` against `baseline` on `task`'s `metric` in `outcome`, or nil when no seed has both.
    public init?(model: String, baseline: String, task: String, metric: String, in outcome: ComparisonOutcome) {
        let base = Dictionary(outcome.runs.filter { $0.model == baseline }.compactMap { run in run.test[task]?[metric].map { (run.seed, $0) } },
                              uniquingKeysWith: { first, _ in first })
        let pairs = outcome.runs.filter { $0.model == model }.compactMap { run -> (UInt64, Double)? in
            guard let value = run.test[task]?[metric], let other = base[run.seed] else { return nil }
            return (run.seed, value - other)
        }
        guard !pairs.isEmpty else { return nil }
        (self.model, self.baseline, self.task, self.metric) = (model, baseline, task, metric)
        let differences = pairs.map(\.1)
        let n = Double(differences.count)
        let mean = differences.reduce(0, +) / n
        let std = differences.count > 1 ? (differences.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot() : 0
        (seeds, self.differences, self.mean, self.std) = (pairs.map(\.0), differences, mean, std)
        if differences.count > 1, std > 0 {
            let statistic = mean / (std / n.squareRoot())
            t = statistic
            p = Self.twoSidedP(t: statistic, degreesOfFreedom: n - 1)
        }
    }

    /// Every model other than `baseline` × task × metric of `metrics` that both report.
    public static func all(in outcome: ComparisonOutcome, baseline: String, metrics: [String] = ComparisonOutcome.tableMetrics) -> [PairedDifference] {
        outcome.models.filter { $0 != baseline }.flatMap { model in
            outcome.tasks.flatMap { task in
                metrics.compactMap { PairedDifference(model: model, baseline: baseline, task: task, metric: $0, in: outcome) }
            }
        }
    }

    /// P(|T| ≥ |t|) for Student's t with `degreesOfFreedom`: the regularised incomplete beta I_{ν/(ν+t²)}(ν/2, 1/2)
    /// (the same function `PairedTest` uses).
    public static func twoSidedP(t: Double, degreesOfFreedom nu: Double) -> Double {
        regularizedIncompleteBeta(nu / (nu + t * t), a: nu / 2, b: 0.5)
    }
}
