import FunnelData

/// Metric kernels over one task's evaluation rows (`../shared/specs/metrics.md`). All sums are Float64; scores are
/// compared exactly. A label counts as positive when it is > 0.5 (binary labels are 0/1). Functions return nil
/// where the spec calls a metric undefined; `evaluate(task:predictions:options:)` turns that into errors or notes.
public enum Metrics {}

/// How GAUC weighs the AUC of each valid group (metrics.md §3).
public enum GroupWeighting: String, Codable, Sendable {
    /// ω_g = number of rows of the group (default).
    case impressions
    /// ω_g = number of positive rows of the group.
    case positives
    /// ω_g = 1.
    case uniform
}

/// A GAUC value with the coverage the spec asks to report next to it.
public struct GroupAUC: Equatable, Sendable {
    /// Σ ω_g AUC_g / Σ ω_g over valid groups, or nil when no group is valid.
    public var value: Double?
    /// Number of groups with at least one positive and one negative row.
    public var validGroups: Int
    /// Number of distinct groups.
    public var groups: Int
    /// Fraction of rows that belong to valid groups.
    public var coverage: Double
}

extension Metrics {
    /// Tie-aware ROC AUC (Mann–Whitney U with average ranks, metrics.md §2): the probability that a random
    /// positive scores above a random negative, ties counting ½, with optional sample weights. O(n log n).
    /// Returns nil when the (weighted) rows hold only one class.
    public static func auc(scores: [Double], labels: [Double], weights: [Double]? = nil) -> Double? {
        precondition(scores.count == labels.count && (weights?.count ?? labels.count) == labels.count)
        let order = ascendingOrder(of: scores)
        let sums = aucSums(order[...], scores: scores, labels: labels, weights: weights)
        guard sums.positives > 0, sums.negatives > 0 else { return nil }
        return sums.concordant / (sums.positives * sums.negatives)
    }

    /// Group AUC (metrics.md §3): the ω-weighted mean of per-group tie-aware AUCs over groups holding both
    /// classes; single-class groups are skipped. Sample weights weigh rows inside each group's AUC; ω counts rows.
    public static func gauc(scores: [Double], labels: [Double], groups: [Int64], weights: [Double]? = nil,
                            weighting: GroupWeighting = .impressions) -> GroupAUC {
        precondition(scores.count == labels.count && groups.count == labels.count
                     && (weights?.count ?? labels.count) == labels.count)
        var order = Array(scores.indices)
        order.sort { groups[$0] != groups[$1] ? groups[$0] < groups[$1] : scores[$0] < scores[$1] }
        var weighted = 0.0, totalOmega = 0.0, valid = 0, groupCount = 0, covered = 0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && groups[order[end]] == groups[order[start]] { end += 1 }
            groupCount += 1
            let rows = order[start..<end]
            let sums = aucSums(rows, scores: scores, labels: labels, weights: weights)
            if sums.positives > 0, sums.negatives > 0 {
                let omega: Double
                switch weighting {
                case .impressions: omega = Double(rows.count)
                case .positives: omega = Double(rows.filter { labels[$0] > 0.5 }.count)
                case .uniform: omega = 1
                }
                weighted += omega * sums.concordant / (sums.positives * sums.negatives)
                totalOmega += omega
                valid += 1
                covered += rows.count
            }
            start = end
        }
        return GroupAUC(value: valid > 0 && totalOmega > 0 ? weighted / totalOmega : nil, validGroups: valid,
                        groups: groupCount, coverage: order.isEmpty ? 0 : Double(covered) / Double(order.count))
    }

    /// Average ranks, 1-based, ties given the mean of the ranks they span (metrics.md §9).
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = ascendingOrder(of: values)
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
            // Positions start..<end hold ranks start+1 ... end; their mean is (start + 1 + end) / 2.
            let rank = Double(start + 1 + end) / 2
            for position in start..<end { ranks[order[position]] = rank }
            start = end
        }
        return ranks
    }

    /// Spearman rank correlation: Pearson correlation of the average ranks (metrics.md §9); nil when either rank
    /// vector is constant.
    public static func spearman(_ predictions: [Double], _ labels: [Double]) -> Double? {
        pearsonCorrelation(averageRanks(predictions), averageRanks(labels))
    }

    /// Row indices sorted by ascending value (NaN-free input).
    static func ascendingOrder(of values: [Double]) -> [Int] {
        var order = Array(values.indices)
        order.sort { values[$0] < values[$1] }
        return order
    }

    /// The weighted concordance sum of §2's walk over `order` (ascending scores): Σ P·negBelow + ½·P·N over
    /// blocks of equal score, and the total positive and negative weights.
    static func aucSums(_ order: ArraySlice<Int>, scores: [Double], labels: [Double], weights: [Double]?)
        -> (concordant: Double, positives: Double, negatives: Double) {
        var negativesBelow = 0.0, concordant = 0.0, positives = 0.0
        var start = order.startIndex
        while start < order.endIndex {
            let score = scores[order[start]]
            var blockPositives = 0.0, blockNegatives = 0.0
            var end = start
            while end < order.endIndex && scores[order[end]] == score {
                let row = order[end]
                let weight = weights?[row] ?? 1
                if labels[row] > 0.5 { blockPositives += weight } else { blockNegatives += weight }
                end += 1
            }
            concordant += blockPositives * negativesBelow + 0.5 * blockPositives * blockNegatives
            negativesBelow += blockNegatives
            positives += blockPositives
            start = end
        }
        return (concordant, positives, negativesBelow)
    }
}
