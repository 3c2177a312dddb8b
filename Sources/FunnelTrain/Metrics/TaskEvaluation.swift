import FunnelData

/// A metric Funnel computes; the raw value is the name used in `TaskSpec.metrics` and in reports.
public enum MetricName: String, CaseIterable, Codable, Sendable {
    /// Tie-aware ROC AUC (binary).
    case auc
    /// Group AUC over `Batch.groups` (binary); adds `gauc_groups` (valid groups) and `gauc_coverage` (row share).
    case gauc
    /// Clipped binary cross-entropy (binary).
    case logloss
    /// Σ w ŷ / Σ w y.
    case calibration
    case mse, rmse, mae
    /// RMSE and MAE normalised by the variant in `MetricOptions.normalization`.
    case nrmse, nmae
    /// RMSE and MAE normalised by an explicit variant.
    case nrmseMean = "nrmse_mean", nrmseStd = "nrmse_std", nmaeMean = "nmae_mean", nmaeStd = "nmae_std"
    /// Normalized Gini (variant `MetricOptions.gini`); needs y ≥ 0.
    case gini
    /// Spearman rank correlation.
    case spearman

    /// Whether the metric needs 0/1 labels and probability predictions.
    public var isBinaryOnly: Bool { self == .auc || self == .gauc || self == .logloss }

    /// The metrics reported for a task kind when `TaskSpec.metrics` is empty (metrics.md §11).
    public static func defaults(for kind: TaskKind, hasGroups: Bool) -> [MetricName] {
        switch kind {
        case .binary: return hasGroups ? [.auc, .gauc, .logloss, .calibration] : [.auc, .logloss, .calibration]
        case .continuous: return [.mse, .rmse, .mae, .nrmse, .nmae, .gini, .spearman, .calibration]
        }
    }
}

/// Settings shared by every task of an evaluation.
public struct MetricOptions: Codable, Equatable, Sendable {
    /// Probabilities are clipped to [ε, 1 − ε] for logloss (metrics.md §5).
    public var loglossEpsilon: Double
    /// The variant `nrmse` and `nmae` use.
    public var normalization: ErrorNormalization
    public var gini: GiniVariant
    public var groupWeighting: GroupWeighting
    /// Whether the batches' sample weights weigh AUC, GAUC (within groups), logloss, MSE/MAE/NRMSE/NMAE and
    /// calibration. Gini and Spearman are always unweighted. Default false: published tables are unweighted, and
    /// training weights (e.g. inverse propensities) are not evaluation weights.
    public var useSampleWeights: Bool

    public init(loglossEpsilon: Double = 1e-7, normalization: ErrorNormalization = .mean, gini: GiniVariant = .ziln,
                groupWeighting: GroupWeighting = .impressions, useSampleWeights: Bool = false) {
        self.loglossEpsilon = loglossEpsilon
        self.normalization = normalization
        self.gini = gini
        self.groupWeighting = groupWeighting
        self.useSampleWeights = useSampleWeights
    }
}

/// Why an evaluation cannot produce numbers. Every case names the task.
public enum MetricError: Error, Equatable, CustomStringConvertible {
    /// Predictions that are NaN or infinite (counted over every appended row).
    case nonFinitePredictions(task: String, count: Int)
    /// No row falls in the task's evaluation space.
    case emptyEvaluationSpace(task: String)
    /// A rank metric over labels of one class (all equal to `label`): undefined, not 0.5.
    case singleClass(task: String, metric: String, label: Double)
    /// A binary task whose label is neither 0 nor 1.
    case nonBinaryLabel(task: String, value: Double)
    /// A name in `TaskSpec.metrics` that is not a `MetricName`.
    case unknownMetric(task: String, name: String)
    /// A binary-only metric requested for a continuous task.
    case notApplicable(task: String, metric: String, kind: TaskKind)
    /// GAUC requested but the rows carry no group ids.
    case missingGroups(task: String)

    public var description: String {
        switch self {
        case let .nonFinitePredictions(task, count):
            return "task '\(task)': \(count) NaN or infinite prediction(s)"
        case let .emptyEvaluationSpace(task):
            return "task '\(task)': no rows in the evaluation space"
        case let .singleClass(task, metric, label):
            return "task '\(task)': \(metric) is undefined, every label in the evaluation space is \(label)"
        case let .nonBinaryLabel(task, value):
            return "task '\(task)': binary task with label \(value) (expected 0 or 1)"
        case let .unknownMetric(task, name):
            return "task '\(task)': unknown metric '\(name)' (known: \(MetricName.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .notApplicable(task, metric, kind):
            return "task '\(task)': \(metric) needs a binary task, not \(kind.rawValue)"
        case let .missingGroups(task):
            return "task '\(task)': gauc needs group ids (Batch.groups)"
        }
    }
}

/// Computes a task's metrics over every collected row of its evaluation space (metrics.md §1–10).
///
/// Metrics are `task.metrics` in that order, or `MetricName.defaults` when empty. Throws on non-finite
/// predictions, an empty evaluation space, non-0/1 labels of a binary task, unknown or inapplicable metric
/// names, GAUC without groups, and — for AUC and GAUC — labels of a single class. Other undefined metrics (NRMSE
/// with mean(y) ≤ 0, Gini with negative labels, Spearman of a constant vector, GAUC with no valid group,
/// calibration with Σ y = 0) are left out of the values and listed in `TaskMetrics.undefined` with the reason.
public func evaluate(task: TaskSpec, predictions: TaskPredictions, options: MetricOptions = MetricOptions()) throws -> TaskMetrics {
    if predictions.nonFiniteCount > 0 { throw MetricError.nonFinitePredictions(task: task.name, count: predictions.nonFiniteCount) }
    let names = try task.metrics.isEmpty
        ? MetricName.defaults(for: task.kind, hasGroups: predictions.groups != nil)
        : task.metrics.map { name in
            guard let metric = MetricName(rawValue: name) else { throw MetricError.unknownMetric(task: task.name, name: name) }
            return metric
        }
    for name in names where name.isBinaryOnly && task.kind != .binary {
        throw MetricError.notApplicable(task: task.name, metric: name.rawValue, kind: task.kind)
    }
    let y = predictions.labels, p = predictions.predictions
    guard !y.isEmpty else { throw MetricError.emptyEvaluationSpace(task: task.name) }
    let w = options.useSampleWeights ? predictions.weights : nil
    var result = TaskMetrics(task: task.name, kind: task.kind, rows: y.count)

    if task.kind == .binary {
        if let bad = y.first(where: { $0 != 0 && $0 != 1 }) { throw MetricError.nonBinaryLabel(task: task.name, value: bad) }
        let positives = y.reduce(0, +)
        result.positiveRate = positives / Double(y.count)
        let singleLabel: Double? = positives == 0 ? 0 : positives == Double(y.count) ? 1 : nil
        if let label = singleLabel, let rankMetric = names.first(where: { $0 == .auc || $0 == .gauc }) {
            throw MetricError.singleClass(task: task.name, metric: rankMetric.rawValue, label: label)
        }
    }
    if let first = p.first, p.allSatisfy({ $0 == first }) {
        result.warnings.append("constant predictions (\(first)): rank metrics sit at their tie value; a broken model or pipeline?")
    }

    for name in names {
        let key = name.rawValue
        switch name {
        case .auc:
            guard let value = Metrics.auc(scores: p, labels: y, weights: w) else {
                // Both classes occur, so one of them has zero total sample weight.
                let positiveWeight = y.indices.reduce(0.0) { $0 + y[$1] * (w?[$1] ?? 1) }
                throw MetricError.singleClass(task: task.name, metric: key, label: positiveWeight == 0 ? 0 : 1)
            }
            result.append(key, value)
        case .gauc:
            guard let groups = predictions.groups else { throw MetricError.missingGroups(task: task.name) }
            let gauc = Metrics.gauc(scores: p, labels: y, groups: groups, weights: w, weighting: options.groupWeighting)
            result.append(key, gauc.value, reason: "no group holds both classes (\(gauc.groups) groups)")
            result.append("gauc_groups", Double(gauc.validGroups))
            result.append("gauc_coverage", gauc.coverage)
        case .logloss:
            result.append(key, Metrics.logloss(probabilities: p, labels: y, weights: w, epsilon: options.loglossEpsilon),
                          reason: "zero total weight")
        case .calibration:
            result.append(key, Metrics.calibration(predictions: p, labels: y, weights: w), reason: "Σ w·y = 0")
        case .mse:
            result.append(key, Metrics.meanSquaredError(predictions: p, labels: y, weights: w), reason: "zero total weight")
        case .rmse:
            result.append(key, Metrics.meanSquaredError(predictions: p, labels: y, weights: w)?.squareRoot(), reason: "zero total weight")
        case .mae:
            result.append(key, Metrics.meanAbsoluteError(predictions: p, labels: y, weights: w), reason: "zero total weight")
        case .nrmse, .nmae, .nrmseMean, .nrmseStd, .nmaeMean, .nmaeStd:
            let variant: ErrorNormalization
            switch name {
            case .nrmseMean, .nmaeMean: variant = .mean
            case .nrmseStd, .nmaeStd: variant = .std
            default: variant = options.normalization
            }
            let squared = name == .nrmse || name == .nrmseMean || name == .nrmseStd
            let error = squared ? Metrics.meanSquaredError(predictions: p, labels: y, weights: w)?.squareRoot()
                                : Metrics.meanAbsoluteError(predictions: p, labels: y, weights: w)
            let normalizer = Metrics.errorNormalizer(labels: y, weights: w, variant: variant)
            result.append(key, normalizer.flatMap { n in error.map { $0 / n } },
                          reason: variant == .mean ? "mean(y) ≤ 0" : "std(y) = 0")
        case .gini:
            result.append(key, Metrics.normalizedGini(predictions: p, labels: y, variant: options.gini),
                          reason: "needs y ≥ 0 with Σ y > 0 and a non-zero perfect Gini")
        case .spearman:
            result.append(key, Metrics.spearman(p, y), reason: "predictions or labels are constant")
        }
    }
    return result
}
