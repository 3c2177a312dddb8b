import Foundation
import FunnelCore

/// Measured structure of a correlated-tasks dataset; matrices are K×K row-major.
public struct CorrelatedTasksStatistics: Codable, Equatable, Sendable {
    public var taskCount: Int
    /// The requested cosine matrix P.
    public var targetCosines: [Double]
    /// Cosines of the generated weight vectors (equal to P up to rounding).
    public var weightCosines: [Double]
    /// Pearson correlation of the continuous values y_k.
    public var valueCorrelation: [Double]
    /// Pearson correlation of the labels: equal to `valueCorrelation` for regression, the phi coefficient for
    /// binary labels.
    public var labelCorrelation: [Double]
    /// Share of positive labels per task (binary labels), after nesting.
    public var positiveRates: [Double]?

    /// Label correlation of tasks `a` and `b`.
    public func labelCorrelation(_ a: Int, _ b: Int) -> Double { labelCorrelation[a * taskCount + b] }

    /// One line per task pair: target cosine, measured value and label correlations (what a CLI prints).
    public var summary: String {
        var lines: [String] = []
        for a in 0..<taskCount {
            for b in (a + 1)..<taskCount {
                let i = a * taskCount + b
                var line = "task\(a)–task\(b): cosine p = \(targetCosines[i]), measured corr(y) = "
                    + String(format: "%.4f", valueCorrelation[i])
                if positiveRates != nil { line += ", phi(labels) = " + String(format: "%.4f", labelCorrelation[i]) }
                lines.append(line)
            }
        }
        if let rates = positiveRates { lines.append("positive rates: " + rates.map { String(format: "%.4f", $0) }.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }
}

/// Data of the MMoE correlation-controlled generator (synthetic-data.md §2–4), addressed by `PortableRandom` so
/// that `bench/funnel_synth.py` (`correlated_tasks`, `threshold_rank`, `threshold_bernoulli`, `nest`) produces
/// the same numbers. Features are d dense inputs; tasks `task0…task{K−1}` (binary nested labels name their parent).
public struct CorrelatedTasksDataset: Sendable {
    public let configuration: CorrelatedTasksConfiguration
    public let seed: UInt64
    public var rowCount: Int { configuration.rows }
    /// Inputs x, `[n · d]` row-major.
    public let features: [Double]
    /// Noise-free task functions w_kᵀx + Σ sin(α_i w_kᵀx + β_i), `[n · K]` (the oracle prediction).
    public let signals: [Double]
    /// Continuous task values y_k = signal + σ_ε·ε, `[n · K]`.
    public let values: [Double]
    /// Labels `[n · K]`: the values for regression, 0/1 for binary.
    public let labels: [Double]
    /// Weight vectors w_k, `[K · d]`.
    public let taskWeights: [Double]
    /// Cholesky factor L of P, `[K · K]`.
    public let cholesky: [Double]
    /// Sine frequencies α and phases β, `[m]` each.
    public let alpha: [Double], beta: [Double]
    public let statistics: CorrelatedTasksStatistics

    /// Generates the rows; throws on an invalid configuration or cosine matrix.
    public init(configuration: CorrelatedTasksConfiguration, seed: UInt64 = 0) throws {
        let k = configuration.taskCount, d = configuration.inputDimension, m = configuration.sineTerms, n = configuration.rows
        try Self.validate(configuration)
        self.configuration = configuration
        self.seed = seed
        let p = configuration.cosines.flatMap { $0 }
        let l = try semidefiniteCholesky(p, size: k)
        // Orthonormal u_0…u_{K−1} by modified Gram–Schmidt of v_k[j] = normal(seed, 200, k·d + j).
        var u = [[Double]]()
        for task in 0..<k {
            var v = (0..<d).map { PortableRandom.normal(seed: seed, stream: 200, index: UInt64(task * d + $0)) }
            for q in u {
                var projection = 0.0
                for j in 0..<d { projection += v[j] * q[j] }
                for j in 0..<d { v[j] -= projection * q[j] }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            u.append(v.map { $0 / norm })
        }
        var w = [Double](repeating: 0, count: k * d)
        for task in 0..<k {
            for j in 0..<d {
                var sum = 0.0
                for q in 0...task { sum += l[task * k + q] * u[q][j] }
                w[task * d + j] = configuration.scale * sum
            }
        }
        let alpha = (0..<m).map { PortableRandom.normal(seed: seed, stream: 201, index: UInt64($0)) }
        let beta = (0..<m).map { PortableRandom.normal(seed: seed, stream: 201, index: UInt64(m + $0)) }
        var x = [Double](repeating: 0, count: n * d), signals = [Double](repeating: 0, count: n * k)
        var values = [Double](repeating: 0, count: n * k)
        for r in 0..<n {
            for j in 0..<d { x[r * d + j] = PortableRandom.normal(seed: seed, stream: 202, index: UInt64(r * d + j)) }
            for task in 0..<k {
                var f = 0.0
                for j in 0..<d { f += w[task * d + j] * x[r * d + j] }
                var signal = f
                var sines = 0.0
                for i in 0..<m { sines += sin(alpha[i] * f + beta[i]) }
                signal += sines
                signals[r * k + task] = signal
                values[r * k + task] = signal
                    + configuration.noise * PortableRandom.normal(seed: seed, stream: 203 + UInt64(task), index: UInt64(r))
            }
        }
        var labels = values
        var rates: [Double]?
        if case .binary(let thresholding) = configuration.labels {
            labels = Self.threshold(values, tasks: k, thresholding: thresholding, seed: seed)
            rates = (0..<k).map { task in (0..<n).reduce(0.0) { $0 + labels[$1 * k + task] } / Double(n) }
        }
        features = x
        self.signals = signals
        self.values = values
        self.labels = labels
        taskWeights = w
        cholesky = l
        self.alpha = alpha
        self.beta = beta
        let valueColumns = (0..<k).map { task in (0..<n).map { values[$0 * k + task] } }
        let labelColumns = (0..<k).map { task in (0..<n).map { labels[$0 * k + task] } }
        var cosines = [Double](repeating: 0, count: k * k)
        for a in 0..<k {
            for b in 0..<k {
                let wa = w[(a * d)..<((a + 1) * d)], wb = w[(b * d)..<((b + 1) * d)]
                let dot = zip(wa, wb).reduce(0) { $0 + $1.0 * $1.1 }
                cosines[a * k + b] = dot / (wa.reduce(0) { $0 + $1 * $1 } * wb.reduce(0) { $0 + $1 * $1 }).squareRoot()
            }
        }
        statistics = CorrelatedTasksStatistics(
            taskCount: k, targetCosines: p, weightCosines: cosines, valueCorrelation: correlationMatrix(valueColumns),
            labelCorrelation: correlationMatrix(labelColumns), positiveRates: rates)
    }

    /// Task specs: `task0…`, continuous (MSE) or binary; nested binary tasks name the previous task as parent.
    public var tasks: [TaskSpec] {
        (0..<configuration.taskCount).map { task in
            switch configuration.labels {
            case .regression:
                return TaskSpec(name: "task\(task)", kind: .continuous)
            case .binary(let thresholding):
                return TaskSpec(name: "task\(task)", kind: .binary, parent: thresholding.nested && task > 0 ? "task\(task - 1)" : nil)
            }
        }
    }

    /// Model-ready rows: d numeric features (Float32), no categorical fields, labels per task.
    public var table: EncodedTable {
        EncodedTable(layout: FeatureLayout(vocabularySizes: [], numericCount: configuration.inputDimension), tasks: tasks,
                     rowCount: rowCount, ids: [], numeric: features.map(Float.init), labels: labels.map(Float.init))
    }

    /// 80 / 10 / 10 by row index (synthetic-data.md §8).
    public var splits: RowSplits { .byIndex(rowCount: rowCount) }

    /// Writes `x0…x{d−1}` and the labels `task0…` (with `groundTruth`, also `value_k` and `signal_k`) as CSV.
    public func writeCSV(to url: URL, groundTruth: Bool = false, overwrite: Bool = false) throws {
        let k = configuration.taskCount, d = configuration.inputDimension
        var columns = (0..<d).map { CSVColumn.reals("x\($0)", features, stride: d, offset: $0) }
        for task in 0..<k {
            if case .binary = configuration.labels {
                columns.append(CSVColumn(name: "task\(task)") { String(Int(labels[$0 * k + task])) })
            } else {
                columns.append(.reals("task\(task)", labels, stride: k, offset: task))
            }
        }
        if groundTruth {
            columns += (0..<k).map { CSVColumn.reals("value_\($0)", values, stride: k, offset: $0) }
            columns += (0..<k).map { CSVColumn.reals("signal_\($0)", signals, stride: k, offset: $0) }
        }
        try FunnelData.writeCSV(columns: columns, rows: rowCount, to: url, overwrite: overwrite)
    }

    /// §4: rank or Bernoulli thresholding per task, then optional nesting.
    static func threshold(_ values: [Double], tasks k: Int, thresholding: BinaryThresholding, seed: UInt64) -> [Double] {
        let n = values.count / k
        var labels = [Double](repeating: 0, count: n * k)
        for task in 0..<k {
            let y = (0..<n).map { values[$0 * k + task] }, rate = thresholding.rates[task]
            switch thresholding.method {
            case .rank:
                let order = (0..<n).sorted { y[$0] != y[$1] ? y[$0] > y[$1] : $0 < $1 }
                let positives = Int((rate * Double(n) + 0.5).rounded(.down))
                for row in order.prefix(positives) { labels[row * k + task] = 1 }
            case .bernoulli(let sharpness):
                let mean = y.reduce(0, +) / Double(n)
                let std = (y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)).squareRoot()
                let z = y.map { sharpness * ($0 - mean) / std }
                let bias = baseRateBias(scores: z, target: rate)
                for row in 0..<n where PortableRandom.uniform(seed: seed, stream: 220 + UInt64(task), index: UInt64(row))
                    < stableSigmoid(z[row] + bias) {
                    labels[row * k + task] = 1
                }
            }
        }
        if thresholding.nested {
            for row in 0..<n { for task in 1..<k { labels[row * k + task] *= labels[row * k + task - 1] } }
        }
        return labels
    }

    static func validate(_ c: CorrelatedTasksConfiguration) throws {
        let k = c.taskCount
        guard k >= 1, k <= 10 else { throw SyntheticDataError.invalidConfiguration("\(k) tasks (1…10 supported)") }
        guard c.inputDimension >= k, c.rows >= 2, c.sineTerms >= 0, c.scale > 0, c.noise >= 0 else {
            throw SyntheticDataError.invalidConfiguration("need d ≥ K, n ≥ 2, m ≥ 0, c > 0, σ ≥ 0")
        }
        for a in 0..<k {
            guard c.cosines[a].count == k, c.cosines[a][a] == 1 else {
                throw SyntheticDataError.invalidCosineMatrix("row \(a) must have \(k) entries and a unit diagonal")
            }
            for b in 0..<a where c.cosines[a][b] != c.cosines[b][a] || abs(c.cosines[a][b]) > 1 {
                throw SyntheticDataError.invalidCosineMatrix("entry (\(a), \(b)) must be symmetric and in [−1, 1]")
            }
        }
        if case .binary(let t) = c.labels {
            guard t.rates.count == k, t.rates.allSatisfy({ $0 > 0 && $0 < 1 }) else {
                throw SyntheticDataError.invalidConfiguration("need one base rate in (0, 1) per task")
            }
        }
    }
}
