#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What NRMSE and NMAE divide by (metrics.md §7).
public enum ErrorNormalization: String, Codable, Sendable {
    /// mean(y): the customer-lifetime-value convention (default).
    case mean
    /// Population standard deviation of y.
    case std
}

/// The normalized-Gini convention (metrics.md §8).
public enum GiniVariant: String, Codable, Sendable {
    /// G = 2·mean(c_k) − 1 (google/lifetime_value; default).
    case ziln
    /// G = mean(c_k) − (n + 1)/(2n).
    case kaggle
}

extension Metrics {
    /// Binary cross-entropy of probabilities (metrics.md §5): −Σ w [y log p + (1 − y) log(1 − p)] / Σ w, with p
    /// clipped to [ε, 1 − ε] in Float64. Nil for no rows (or zero total weight).
    public static func logloss(probabilities: [Double], labels: [Double], weights: [Double]? = nil,
                               epsilon: Double = 1e-7) -> Double? {
        precondition(probabilities.count == labels.count && (weights?.count ?? labels.count) == labels.count)
        var total = 0.0, weightSum = 0.0
        for i in labels.indices {
            let p = min(max(probabilities[i], epsilon), 1 - epsilon), y = labels[i], w = weights?[i] ?? 1
            total += w * -(y * log(p) + (1 - y) * log(1 - p))
            weightSum += w
        }
        return weightSum > 0 ? total / weightSum : nil
    }

    /// Weighted mean squared error Σ w (ŷ − y)² / Σ w on the original scale (metrics.md §6).
    public static func meanSquaredError(predictions: [Double], labels: [Double], weights: [Double]? = nil) -> Double? {
        weightedMean(count: labels.count, weights: weights) { let r = predictions[$0] - labels[$0]; return r * r }
    }

    /// Weighted mean absolute error Σ w |ŷ − y| / Σ w (metrics.md §6).
    public static func meanAbsoluteError(predictions: [Double], labels: [Double], weights: [Double]? = nil) -> Double? {
        weightedMean(count: labels.count, weights: weights) { abs(predictions[$0] - labels[$0]) }
    }

    /// The NRMSE/NMAE denominator (metrics.md §7): the weighted mean of y, or its weighted population standard
    /// deviation. Nil when it is ≤ 0 (the normalised metrics are then undefined).
    public static func errorNormalizer(labels: [Double], weights: [Double]? = nil, variant: ErrorNormalization) -> Double? {
        guard let mean = weightedMean(count: labels.count, weights: weights, { labels[$0] }) else { return nil }
        switch variant {
        case .mean:
            return mean > 0 ? mean : nil
        case .std:
            let variance = weightedMean(count: labels.count, weights: weights) { let d = labels[$0] - mean; return d * d }
            return variance.map { $0.squareRoot() }.flatMap { $0 > 0 ? $0 : nil }
        }
    }

    /// Normalized Gini of non-negative targets (metrics.md §8): the Lorenz-curve Gini of the order by prediction
    /// (descending) divided by that of the perfect order. Within a block of tied predictions the true values are
    /// replaced by their block mean, so the value does not depend on row order. Nil when some y < 0, Σ y = 0, or
    /// the perfect Gini is 0.
    public static func normalizedGini(predictions: [Double], labels: [Double], variant: GiniVariant = .ziln) -> Double? {
        precondition(predictions.count == labels.count)
        guard !labels.isEmpty, labels.allSatisfy({ $0 >= 0 }) else { return nil }
        let total = labels.reduce(0, +)
        guard total > 0 else { return nil }
        let perfect = rawGini(keys: labels, values: labels, total: total, variant: variant)
        guard perfect != 0 else { return nil }
        return rawGini(keys: predictions, values: labels, total: total, variant: variant) / perfect
    }

    /// Σ w ŷ / Σ w y: predicted over observed totals (metrics.md §10); nil when Σ w y = 0.
    public static func calibration(predictions: [Double], labels: [Double], weights: [Double]? = nil) -> Double? {
        precondition(predictions.count == labels.count && (weights?.count ?? labels.count) == labels.count)
        var predicted = 0.0, observed = 0.0
        for i in labels.indices {
            let w = weights?[i] ?? 1
            predicted += w * predictions[i]
            observed += w * labels[i]
        }
        return observed != 0 ? predicted / observed : nil
    }

    /// Σ w f(i) / Σ w over `count` rows; nil when Σ w = 0.
    static func weightedMean(count: Int, weights: [Double]?, _ term: (Int) -> Double) -> Double? {
        precondition((weights?.count ?? count) == count)
        var total = 0.0, weightSum = 0.0
        for i in 0..<count {
            let w = weights?[i] ?? 1
            total += w * term(i)
            weightSum += w
        }
        return weightSum > 0 ? total / weightSum : nil
    }

    /// The raw Gini of `values` ordered by `keys` descending, tie blocks of `keys` averaged.
    private static func rawGini(keys: [Double], values: [Double], total: Double, variant: GiniVariant) -> Double {
        let order = ascendingOrder(of: keys)
        let n = order.count
        var cumulative = 0.0, shareSum = 0.0
        var end = n
        while end > 0 {
            var start = end - 1
            while start > 0 && keys[order[start - 1]] == keys[order[end - 1]] { start -= 1 }
            var blockSum = 0.0
            for position in start..<end { blockSum += values[order[position]] }
            let blockMean = blockSum / Double(end - start)
            for _ in start..<end {
                cumulative += blockMean
                shareSum += cumulative / total
            }
            end = start
        }
        let meanShare = shareSum / Double(n)
        switch variant {
        case .ziln: return 2 * meanShare - 1
        case .kaggle: return meanShare - Double(n + 1) / Double(2 * n)
        }
    }
}
