import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport
@testable import FunnelData

/// DEPHN-style related / unrelated labels (synthetic-data.md §6) and the seeded permutation of §8.
final class RelatedLabelsTests: XCTestCase {
    /// On the smoke preset (r_click = 0.30 as `.dephnPair`, n = 4,096) against the Python twin.
    func testMatchesPythonTwin() throws {
        let fixture = try ParityFixture("funnel.json", area: "synthetic")
        let pair = try DEPHNPairDataset(funnel: .smoke)
        XCTAssertEqual(pair.funnel.click, FunnelGeneratorTests.Shared.smoke.click)
        assertMatchesPython(Array(pair.confidence[0..<32]), try fixture.doubles("dephn.c_head"), "c")
        assertMatchesPython(Array(pair.labels.relatedValue[0..<32]), try fixture.doubles("dephn.y_rel_head"), "y_rel")
        assertMatchesPython(Array(pair.labels.unrelatedValue[0..<32]), try fixture.doubles("dephn.y_unrel_head"), "y_unrel")
        XCTAssertEqual(pair.labels.related.map(Double.init), try fixture.doubles("dephn.related"))
        XCTAssertEqual(pair.labels.unrelated.map(Double.init), try fixture.doubles("dephn.unrelated"))
        let s = pair.statistics
        assertMatchesPython([s.relatedCorrelation, s.unrelatedCorrelation, s.relatedPhi, s.unrelatedPhi],
                       try fixture.doubles("dephn.stats"), "statistics")
        // c is the true click logit: σ(c) = p_click.
        XCTAssertEqual(stableSigmoid(pair.confidence[7]), pair.funnel.clickProbability[7], accuracy: 1e-15)

        let alternative = RelatedLabels(confidence: pair.confidence, configuration: RelatedLabelsConfiguration(sign: .logarithmOnly, rule: .bernoulli))
        assertMatchesPython(Array(alternative.relatedValue[0..<32]), try fixture.doubles("dephn.log.y_rel_head"), "log-only y_rel")
        XCTAssertEqual(alternative.unrelatedValue, pair.labels.unrelatedValue)
        XCTAssertEqual([alternative.related, alternative.unrelated].map { Double($0.reduce(0) { $0 + Int($1) }) },
                       try fixture.doubles("dephn.bernoulli.counts"))
    }

    /// Hand-computed values of the construction for c = ±1.5 and 0 (noise 0).
    func testConstructionByHand() {
        let labels = RelatedLabels(confidence: [1.5, -1.5, 0], configuration: RelatedLabelsConfiguration(noise: 0))
        let related = 2 * log(2.5) + 0.1 * exp(1.5), unrelated = 2 * sin(1.5) + 0.1 * cos(1.5)
        assertElementsEqual(labels.relatedValue, [related, -related, 0], accuracy: 1e-15)
        assertElementsEqual(labels.unrelatedValue, [unrelated, -unrelated, 0], accuracy: 1e-15)
        XCTAssertEqual(labels.related, [1, 0, 0])
        XCTAssertEqual(labels.unrelated, [1, 0, 0])
        // Past |c| = π the unrelated value changes sign: a positive c gives a negative label.
        XCTAssertEqual(RelatedLabels(confidence: [3.5], configuration: RelatedLabelsConfiguration(noise: 0)).unrelated, [0])
        let logOnly = RelatedLabels(confidence: [-1.5], configuration: RelatedLabelsConfiguration(noise: 0, sign: .logarithmOnly))
        XCTAssertEqual(logOnly.relatedValue[0], -2 * log(2.5) + 0.1 * exp(1.5), accuracy: 1e-15)
    }

    /// `.dephnPair` at n = 200,000 against the spec's approximate statistics (given to 2 decimals: ±0.005).
    func testDephnPairStatistics() throws {
        let pair = try DEPHNPairDataset()
        let s = pair.statistics
        print("[dephn] " + s.summary)
        let expected: [(Double, Double, String)] = [
            (s.confidenceMean, -1.08, "c mean"), (s.confidenceStd, 1.20, "c std"), (s.relatedCorrelation, 0.96, "corr(c, y_rel)"),
            (s.unrelatedCorrelation, 0.46, "corr(c, y_unrel)"), (s.baseRate, 0.30, "base rate"), (s.relatedRate, 0.18, "related rate"),
            (s.unrelatedRate, 0.23, "unrelated rate"), (s.relatedPhi, 0.36, "phi related"), (s.unrelatedPhi, 0.27, "phi unrelated")]
        for (actual, value, name) in expected { XCTAssertEqual(actual, value, accuracy: 0.005, name) }

        let table = pair.table(.unrelated)
        XCTAssertEqual(table.tasks.map(\.name), ["base", "unrelated"])
        XCTAssertEqual(table.tasks.map(\.label), ["click", "unrelated"])
        XCTAssertEqual(table.layout, pair.funnel.table.layout)
        XCTAssertEqual(table.labels[2 * 11], Float(pair.funnel.click[11]))
        XCTAssertEqual(table.labels[2 * 11 + 1], Float(pair.labels.unrelated[11]))
        XCTAssertEqual(pair.table(.related).labels[2 * 11 + 1], Float(pair.labels.related[11]))
    }

    func testSeededPermutationMatchesPython() throws {
        let fixture = try ParityFixture("funnel.json", area: "synthetic")
        XCTAssertEqual(seededPermutation(count: 20, seed: 0).map(Double.init), try fixture.doubles("permutation.20"))
        let order = seededPermutation(count: 1000, seed: 3)
        XCTAssertEqual(order.map(Double.init), try fixture.doubles("permutation.1000.seed3"))
        XCTAssertEqual(order.sorted(), Array(0..<1000))
        let splits = RowSplits.permuted(rowCount: 1000, seed: 3)
        XCTAssertEqual(splits.train, Array(order[0..<800]))
        XCTAssertEqual(splits.validation, Array(order[800..<900]))
        XCTAssertEqual(splits.test, Array(order[900...]))
        XCTAssertEqual(RowSplits.byIndex(rowCount: 10, train: 0.5, validation: 0.2),
                       RowSplits(train: [0, 1, 2, 3, 4], validation: [5, 6], test: [7, 8, 9]))
        for n in [10, 20, 30, 100, 1000] {
            let splits = RowSplits.byIndex(rowCount: n)
            XCTAssertEqual([splits.train.count, splits.validation.count, splits.test.count], [n * 8 / 10, n / 10, n / 10], "n = \(n)")
        }
    }
}
