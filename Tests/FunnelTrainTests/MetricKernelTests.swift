import XCTest
import FunnelCore
import FunnelData
@testable import FunnelTrain

/// The metric kernels against metrics.md §12's worked examples (hand-computed values) and against brute force.
final class MetricKernelTests: XCTestCase {
    // §12.1
    func testAUCWithTwoWayTies() {
        let y: [Double] = [1, 0, 1, 0, 1, 0], s = [0.8, 0.8, 0.6, 0.4, 0.4, 0.2]
        XCTAssertEqual(Metrics.auc(scores: s, labels: y)!, 6.0 / 9.0, accuracy: 1e-15)
        XCTAssertEqual(Metrics.averageRanks(s), [5.5, 5.5, 4, 2.5, 2.5, 1])
    }

    // §12.2
    func testAUCWithThreeWayTie() {
        let y: [Double] = [1, 1, 0, 0, 1, 0, 0, 1], s = [0.9, 0.5, 0.5, 0.5, 0.3, 0.3, 0.1, 0.7]
        XCTAssertEqual(Metrics.auc(scores: s, labels: y)!, 12.5 / 16, accuracy: 1e-15)
        XCTAssertEqual(Metrics.averageRanks(s), [8, 5, 5, 5, 2.5, 2.5, 1, 7])
    }

    func testAUCIsUndefinedForOneClassAndHalfForConstantScores() {
        XCTAssertNil(Metrics.auc(scores: [0.1, 0.2], labels: [1, 1]))
        XCTAssertNil(Metrics.auc(scores: [0.1, 0.2], labels: [0, 0]))
        XCTAssertEqual(Metrics.auc(scores: [0.3, 0.3, 0.3], labels: [1, 0, 0]), 0.5)
        // Weights zeroing every negative leave one class.
        XCTAssertNil(Metrics.auc(scores: [0.1, 0.2], labels: [1, 0], weights: [1, 0]))
    }

    /// Integer weights equal replicating rows, in the rank (tie-aware) form too.
    func testWeightedAUCEqualsReplicatedRows() {
        let y: [Double] = [1, 0, 1, 0, 1, 0], s = [0.8, 0.8, 0.6, 0.4, 0.4, 0.2], w: [Double] = [2, 1, 3, 1, 1, 4]
        var ys: [Double] = [], ss: [Double] = []
        for i in y.indices { for _ in 0..<Int(w[i]) { ys.append(y[i]); ss.append(s[i]) } }
        let replicated = Metrics.auc(scores: ss, labels: ys)!
        XCTAssertEqual(Metrics.auc(scores: s, labels: y, weights: w)!, replicated, accuracy: 1e-15)
        XCTAssertNotEqual(replicated, 6.0 / 9.0, accuracy: 1e-3, "weights change the value on this data")
        XCTAssertEqual(Metrics.logloss(probabilities: s, labels: y, weights: w)!,
                       Metrics.logloss(probabilities: ss, labels: ys)!, accuracy: 1e-14)
        XCTAssertEqual(Metrics.meanSquaredError(predictions: s, labels: y, weights: w)!,
                       Metrics.meanSquaredError(predictions: ss, labels: ys)!, accuracy: 1e-15)
    }

    /// n = 2000 with many ties (scores on a 0.01 grid) and 20% positives: the O(n log n) walk equals the O(n²)
    /// pairwise definition to rounding.
    func testAUCMatchesPairwiseDefinitionOnRandomData() {
        let n = 2000
        let s = (0..<n).map { (PortableRandom.uniform(seed: 7, stream: 0, index: UInt64($0)) * 100).rounded() / 100 }
        let y = (0..<n).map { i -> Double in
            // Labels correlated with scores so the AUC is far from ½.
            PortableRandom.uniform(seed: 7, stream: 1, index: UInt64(i)) < 0.05 + 0.3 * s[i] ? 1 : 0
        }
        var pairs = 0.0, positives = 0.0, negatives = 0.0
        for i in 0..<n where y[i] == 1 {
            positives += 1
            for j in 0..<n where y[j] == 0 { pairs += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0 }
        }
        negatives = Double(n) - positives
        let reference = pairs / (positives * negatives)
        XCTAssertGreaterThan(reference, 0.6)
        XCTAssertEqual(Metrics.auc(scores: s, labels: y)!, reference, accuracy: 1e-12)
        // Rank form U = R₁ − n₁(n₁+1)/2 with average ranks.
        let ranks = Metrics.averageRanks(s)
        let r1 = zip(ranks, y).filter { $0.1 == 1 }.reduce(0) { $0 + $1.0 }
        XCTAssertEqual((r1 - positives * (positives + 1) / 2) / (positives * negatives), reference, accuracy: 1e-12)
    }

    // §12.4
    func testGAUCSkipsSingleClassGroups() {
        let groups: [Int64] = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
        let y: [Double] = [1, 0, 1, 0, 1, 0, 0, 0, 0, 1], s = [0.8, 0.8, 0.6, 0.4, 0.3, 0.5, 0.1, 0.2, 0.9, 0.7]
        // Rows shuffled to check nothing depends on rows of a group being adjacent.
        let perm = [9, 3, 0, 7, 5, 1, 8, 2, 6, 4]
        let g = perm.map { groups[$0] }, yy = perm.map { y[$0] }, ss = perm.map { s[$0] }
        let impressions = Metrics.gauc(scores: ss, labels: yy, groups: g)
        XCTAssertEqual(impressions.value!, 4.0 / 7.0, accuracy: 1e-15)
        XCTAssertEqual(impressions.validGroups, 2)
        XCTAssertEqual(impressions.groups, 4)
        XCTAssertEqual(impressions.coverage, 0.7, accuracy: 1e-15)
        XCTAssertEqual(Metrics.gauc(scores: ss, labels: yy, groups: g, weighting: .positives).value!, 7.0 / 12.0, accuracy: 1e-15)
        XCTAssertEqual(Metrics.gauc(scores: ss, labels: yy, groups: g, weighting: .uniform).value!, (0.625 + 0.5) / 2, accuracy: 1e-15)
        XCTAssertEqual(Metrics.auc(scores: s, labels: y)!, 29.0 / 48.0, accuracy: 1e-15)
        XCTAssertNil(Metrics.gauc(scores: [0.1, 0.2], labels: [1, 0], groups: [1, 2]).value, "no valid group")
    }

    // §12.5
    func testLoglossClipsAtEpsilon() {
        let y: [Double] = [1, 0, 1, 0], p = [0.9, 0.2, 0.6, 1.0]
        let perRow = [0.105361, 0.223144, 0.510826, 16.118096]
        for i in 0..<4 {
            XCTAssertEqual(Metrics.logloss(probabilities: [p[i]], labels: [y[i]])!, perRow[i], accuracy: 1e-6)
        }
        XCTAssertEqual(Metrics.logloss(probabilities: p, labels: y)!, 4.239356, accuracy: 1e-6)
        XCTAssertEqual(Metrics.logloss(probabilities: [1.0], labels: [0], epsilon: 1e-15)!, -log(1e-15), accuracy: 1e-3)
    }

    // §12.6
    func testRegressionMetrics() {
        let y: [Double] = [0, 10, 0, 5, 20], p: [Double] = [1, 6, 3, 2, 15]
        let mse = Metrics.meanSquaredError(predictions: p, labels: y)!, mae = Metrics.meanAbsoluteError(predictions: p, labels: y)!
        XCTAssertEqual(mse, 12, accuracy: 1e-12)
        XCTAssertEqual(mse.squareRoot(), 3.464102, accuracy: 1e-6)
        XCTAssertEqual(mae, 3.2, accuracy: 1e-12)
        let mean = Metrics.errorNormalizer(labels: y, variant: .mean)!, std = Metrics.errorNormalizer(labels: y, variant: .std)!
        XCTAssertEqual(mean, 7, accuracy: 1e-12)
        XCTAssertEqual(std, 56.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(mse.squareRoot() / mean, 0.494872, accuracy: 1e-6)
        XCTAssertEqual(mae / mean, 0.457143, accuracy: 1e-6)
        XCTAssertEqual(mse.squareRoot() / std, 0.462910, accuracy: 1e-6)
        XCTAssertEqual(mae / std, 0.427618, accuracy: 1e-6)
        XCTAssertEqual(Metrics.spearman(p, y)!, 8 / 95.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Metrics.averageRanks(y), [1.5, 4, 1.5, 3, 5])
        XCTAssertEqual(Metrics.calibration(predictions: p, labels: y)!, 27.0 / 35.0, accuracy: 1e-15)
        XCTAssertNil(Metrics.errorNormalizer(labels: [-1, 1], variant: .mean), "mean(y) ≤ 0")
        XCTAssertNil(Metrics.errorNormalizer(labels: [3, 3], variant: .std), "std(y) = 0")
        XCTAssertNil(Metrics.spearman([1, 1, 1], [1, 2, 3]), "constant predictions")
    }

    // §12.6, Gini
    func testNormalizedGini() {
        let y: [Double] = [0, 10, 0, 5, 20]
        XCTAssertEqual(Metrics.normalizedGini(predictions: [1, 6, 3, 2, 15], labels: y)!, 25.0 / 27.0, accuracy: 1e-12)
        XCTAssertEqual(Metrics.normalizedGini(predictions: [1, 6, 3, 2, 15], labels: y, variant: .kaggle)!, 0.9, accuracy: 1e-12)
        // Tie between rows 1 and 2 (true values 10 and 0): the block mean gives the mean of both tie orders.
        let tied = [1.0, 6, 6, 2, 15]
        XCTAssertEqual(Metrics.normalizedGini(predictions: tied, labels: y)!, 23.0 / 27.0, accuracy: 1e-12)
        let swapped = [0, 2, 1, 3, 4]  // the same data in another row order: same value
        XCTAssertEqual(Metrics.normalizedGini(predictions: swapped.map { tied[$0] }, labels: swapped.map { y[$0] })!,
                       23.0 / 27.0, accuracy: 1e-12)
        XCTAssertEqual(Metrics.normalizedGini(predictions: y, labels: y)!, 1, accuracy: 1e-15, "perfect order")
        XCTAssertNil(Metrics.normalizedGini(predictions: [1, 2], labels: [-1, 3]), "negative target")
        XCTAssertNil(Metrics.normalizedGini(predictions: [1, 2], labels: [0, 0]), "Σ y = 0")
    }

    // §12.7
    func testBinaryCalibration() {
        XCTAssertEqual(Metrics.calibration(predictions: [0.8, 0.8, 0.6, 0.4, 0.4, 0.2], labels: [1, 0, 1, 0, 1, 0])!,
                       3.2 / 3, accuracy: 1e-12)
        XCTAssertNil(Metrics.calibration(predictions: [0.1], labels: [0]))
    }

    func testPearsonAndCorrelationMatrix() {
        XCTAssertEqual(pearsonCorrelation([1, 2, 3, 4], [2, 4, 6, 8])!, 1, accuracy: 1e-15)
        XCTAssertEqual(pearsonCorrelation([1, 2, 3, 4], [4, 3, 2, 1])!, -1, accuracy: 1e-15)
        // Hand value: x = [1, 2, 3], y = [1, 3, 2]: Σdxdy = 1, Σdx² = Σdy² = 2 → 0.5.
        XCTAssertEqual(pearsonCorrelation([1, 2, 3], [1, 3, 2])!, 0.5, accuracy: 1e-15)
        XCTAssertNil(pearsonCorrelation([1, 1], [1, 2]))
        let matrix = correlationMatrix([[1, 2, 3], [1, 3, 2], [3, 2, 1]])
        XCTAssertEqual(matrix.count, 9)
        XCTAssertEqual(matrix[1], 0.5, accuracy: 1e-15)
        XCTAssertEqual(matrix[3], 0.5, accuracy: 1e-15)
        XCTAssertEqual(matrix[2], -1, accuracy: 1e-15)
        XCTAssertEqual(matrix[4], 1)
    }
}
