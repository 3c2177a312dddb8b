import XCTest
import FunnelData
@testable import FunnelTrain

/// Metrics of the funnel generator's ground truth (synthetic-data.md §5.4: "oracle AUCs ≈ 0.79 (CTR), 0.79 (CVR on
/// clicked rows), 0.88 (CTCVR)"), computed the way a trainer would: batches of the generated table through a
/// `MetricAccumulator` with the tasks' evaluation spaces.
final class OracleMetricsTests: XCTestCase {
    func testOracleAUCsOfTheDefaultFunnel() throws {
        let data = try FunnelDataset(configuration: .default)
        let table = data.table
        let ctcvr = TaskSpec(name: "ctcvr", kind: .binary, label: "conv")
        let unmasked = TaskSpec(name: "cvr_unmasked", kind: .binary, label: "conv")
        let amount = TaskSpec(name: "amount", kind: .continuous, metrics: ["gini", "spearman", "calibration"])
        var accumulator = MetricAccumulator(columns: table.tasks, evaluations: [table.tasks[0], table.tasks[1], ctcvr, unmasked, amount])
        let ctcvrProbability = data.ctcvrProbability, expectedAmount = data.expectedAmount
        for rows in table.batches(size: 50_000) {
            let batch = table.batch(rows: rows)
            accumulator.append(rows.map { data.clickProbability[$0] }, for: "ctr", batch: batch)
            accumulator.append(rows.map { data.conversionProbability[$0] }, for: "cvr", batch: batch)
            accumulator.append(rows.map { data.conversionProbability[$0] }, for: "cvr_unmasked", batch: batch)
            accumulator.append(rows.map { ctcvrProbability[$0] }, for: "ctcvr", batch: batch)
            accumulator.append(rows.map { expectedAmount[$0] }, for: "amount", batch: batch)
        }
        let report = try accumulator.report()
        print(report.markdownTable())
        XCTAssertEqual(report[task: "cvr"]!.rows, data.statistics.clicks, "CVR is evaluated over clicked rows")
        XCTAssertEqual(report[task: "ctr"]![.auc]!, 0.79, accuracy: 0.005)
        XCTAssertEqual(report[task: "cvr"]![.auc]!, 0.79, accuracy: 0.005)
        XCTAssertEqual(report[task: "ctcvr"]![.auc]!, 0.88, accuracy: 0.005)
        // The same labels and scores in NumPy (scipy rankdata, bench/funnel_synth.py `funnel(0)`).
        XCTAssertEqual(report[task: "ctr"]![.auc]!, 0.7913101887802281, accuracy: 1e-9)
        XCTAssertEqual(report[task: "cvr"]![.auc]!, 0.7914909666261912, accuracy: 1e-9)
        XCTAssertEqual(report[task: "ctcvr"]![.auc]!, 0.8798390566398436, accuracy: 1e-9)
        // Counting unclicked rows as CVR negatives inflates the AUC (metrics.md §4).
        XCTAssertEqual(report[task: "cvr_unmasked"]![.auc]!, 0.8320201212458046, accuracy: 1e-9)
        // Ground-truth probabilities are calibrated: Σp / Σy is 1 within sampling error (≈ 1/√clicks ≈ 1%).
        XCTAssertEqual(report[task: "ctr"]![.calibration]!, 1, accuracy: 0.04)
        let gini = try XCTUnwrap(report[task: "amount"]![.gini])
        XCTAssertGreaterThan(gini, 0.5, "the expected amount ranks value far better than chance")
        XCTAssertLessThan(gini, 1)
    }
}
