import Foundation
import XCTest
import FunnelCore
import FunnelData
import FunnelModels
@testable import FunnelTrain

/// `evaluate(task:predictions:options:)`, `MetricAccumulator` and `MetricReport`: spaces, defaults, errors.
final class EvaluationTests: XCTestCase {
    private func collected(_ p: [Double], _ y: [Double], groups: [Int64]? = nil, weights: [Double]? = nil,
                           inSpace: [Bool]? = nil) -> TaskPredictions {
        var rows = TaskPredictions()
        for i in p.indices {
            rows.append(prediction: p[i], label: y[i], weight: weights?[i], group: groups?[i], inSpace: inSpace?[i] ?? true)
        }
        return rows
    }

    /// §12.3 through evaluation spaces: a CVR task over clicked rows gives 0.625; the same predictions over every
    /// row (the common bug) give 0.5625. Batches are split to show rows are pooled, not averaged per batch.
    func testMaskedCVRAUCThroughEvaluationSpace() throws {
        let ctr = TaskSpec(name: "ctr", kind: .binary)
        let cvr = TaskSpec(name: "cvr", kind: .binary, parent: "ctr", lossSpace: .whereLabel("ctr"),
                           evaluationSpace: .whereLabel("ctr"))
        let unmasked = TaskSpec(name: "cvr_all_rows", kind: .binary, label: "cvr")
        let click: [Float] = [1, 1, 1, 0, 0, 1], conv: [Float] = [1, 0, 0, 0, 0, 1]
        let pCVR = [0.7, 0.2, 0.7, 0.9, 0.1, 0.4], pCTR = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
        var accumulator = MetricAccumulator(columns: [ctr, cvr], evaluations: [ctr, cvr, unmasked])
        for range in [0..<2, 2..<6] {
            let labels = range.flatMap { [click[$0], conv[$0]] }
            let batch = Batch(count: range.count, ids: [], numeric: nil, labels: Tensor(shape: [range.count, 2], values: labels))
            accumulator.append(Array(pCTR[range]), for: "ctr", batch: batch)
            accumulator.append(Array(pCVR[range]), for: "cvr", batch: batch)
            accumulator.append(Array(pCVR[range]), for: "cvr_all_rows", batch: batch)
        }
        XCTAssertEqual(accumulator.collected[1].labels, [1, 0, 0, 1])
        XCTAssertEqual(accumulator.collected[1].rowsSeen, 6)
        let report = try accumulator.report()
        XCTAssertEqual(report[task: "cvr"]!.rows, 4)
        XCTAssertEqual(report[task: "cvr"]![.auc]!, 0.625, accuracy: 1e-15)
        XCTAssertEqual(report[task: "cvr_all_rows"]![.auc]!, 0.5625, accuracy: 1e-15)
        // CTR AUC over all six rows: positives 0.6, 0.5, 0.4, 0.1 vs negatives 0.3, 0.2 → 6/8.
        XCTAssertEqual(report[task: "ctr"]![.auc]!, 0.75, accuracy: 1e-15)
        XCTAssertEqual(report.meanAUC!, (0.75 + 0.625 + 0.5625) / 3, accuracy: 1e-15)
        XCTAssertEqual(report[task: "ctr"]!.names, ["auc", "logloss", "calibration"], "binary defaults without groups")

        accumulator.reset()
        XCTAssertTrue(accumulator.collected.allSatisfy { $0.labels.isEmpty && $0.rowsSeen == 0 })
        XCTAssertThrowsError(try accumulator.report()) { error in
            XCTAssertEqual(error as? MetricError, .emptyEvaluationSpace(task: "ctr"))
        }
    }

    /// Logit, chain and ZILN heads are read as probabilities / expected values in Float64.
    func testModelOutputHeadsBecomePredictions() throws {
        let ctr = TaskSpec(name: "ctr", kind: .binary)
        let ctcvr = TaskSpec(name: "ctcvr", kind: .binary)
        let amount = TaskSpec(name: "amount", kind: .continuous, loss: .zeroInflatedLognormal)
        let labels = Tensor(shape: [2, 3], values: [1, 1, 50, 0, 0, 0])
        let batch = Batch(count: 2, ids: [], numeric: nil, labels: labels)
        let z = Variable(Tensor(shape: [2], values: [0.5, -40])), z2 = Variable(Tensor(shape: [2], values: [1, 2]))
        let ziln = Variable(Tensor(shape: [2, 3], values: [0, 3, 0.5, 1, 2, -1]))
        let output = ModelOutput(heads: [.logit(z), .chain([z, z2]), .zeroInflatedLognormal(ziln)])
        var accumulator = MetricAccumulator(columns: [ctr, ctcvr, amount], evaluations: [ctr, ctcvr, amount])
        accumulator.append(output, batch: batch)
        let sigmoid = { (x: Double) in 1 / (1 + exp(-x)) }
        XCTAssertEqual(accumulator.collected[0].predictions[0], sigmoid(0.5), accuracy: 1e-15)
        XCTAssertEqual(accumulator.collected[0].predictions[1], exp(-40) / (1 + exp(-40)), accuracy: 1e-30,
                       "σ in Float64 keeps tiny probabilities distinct")
        XCTAssertEqual(accumulator.collected[1].predictions[1], sigmoid(-40) * sigmoid(2), accuracy: 1e-30)
        let softplus = { (x: Double) in log(1 + exp(x)) }
        let s0 = softplus(0.5), s1 = softplus(-1)
        XCTAssertEqual(accumulator.collected[2].predictions[0], 0.5 * exp(3 + s0 * s0 / 2), accuracy: 1e-12)
        XCTAssertEqual(accumulator.collected[2].predictions[1], sigmoid(1) * exp(2 + s1 * s1 / 2), accuracy: 1e-12)
    }

    /// Two column tasks reading one source column (Census hybrid chain: `has_gains` = capital_gains > 0 and
    /// `gains` = the amount): each task is scored against its own label column, not the first with that source.
    func testTasksSharingASourceColumnReadTheirOwnLabels() throws {
        let hasGains = TaskSpec(name: "has_gains", kind: .binary, label: "capital_gains")
        let gains = TaskSpec(name: "gains", kind: .continuous, label: "capital_gains")
        let labels = Tensor(shape: [3, 2], values: [1, 500, 0, 0, 1, 2000])
        let batch = Batch(count: 3, ids: [], numeric: nil, labels: labels)
        var accumulator = MetricAccumulator(columns: [hasGains, gains])
        accumulator.append([0.9, 0.1, 0.8], for: "has_gains", batch: batch)
        accumulator.append([400, 10, 1500], for: "gains", batch: batch)
        XCTAssertEqual(accumulator.collected[0].labels, [1, 0, 1])
        XCTAssertEqual(accumulator.collected[1].labels, [500, 0, 2000])
        let report = try accumulator.report()
        XCTAssertEqual(report.tasks[1]["calibration"] ?? 0, 1910.0 / 2500.0, accuracy: 1e-12, "Σŷ / Σy over the amounts")
    }

    func testSingleClassLabelsThrowNamingTheTask() {
        let task = TaskSpec(name: "ctcvr", kind: .binary)
        XCTAssertThrowsError(try evaluate(task: task, predictions: collected([0.1, 0.2, 0.3], [0, 0, 0]))) { error in
            XCTAssertEqual(error as? MetricError, .singleClass(task: "ctcvr", metric: "auc", label: 0))
            XCTAssertTrue("\(error)".contains("ctcvr"))
        }
        // Without a rank metric, one class is fine (logloss is defined).
        let loglossOnly = TaskSpec(name: "ctcvr", kind: .binary, metrics: ["logloss"])
        XCTAssertNoThrow(try evaluate(task: loglossOnly, predictions: collected([0.1, 0.2], [1, 1])))
        // Both classes present, but every negative has weight 0.
        let weighted = collected([0.1, 0.2], [1, 0], weights: [1, 0])
        XCTAssertThrowsError(try evaluate(task: task, predictions: weighted, options: MetricOptions(useSampleWeights: true))) {
            XCTAssertEqual($0 as? MetricError, .singleClass(task: "ctcvr", metric: "auc", label: 1))
        }
    }

    func testErrorsNameTheTask() {
        let task = TaskSpec(name: "ctr", kind: .binary)
        XCTAssertThrowsError(try evaluate(task: task, predictions: collected([.nan, 0.2, .infinity], [1, 0, 1]))) {
            XCTAssertEqual($0 as? MetricError, .nonFinitePredictions(task: "ctr", count: 2))
        }
        // A NaN outside the evaluation space still counts: it is a broken model.
        XCTAssertThrowsError(try evaluate(task: task, predictions: collected([.nan, 0.2, 0.3], [1, 0, 1], inSpace: [false, true, true]))) {
            XCTAssertEqual($0 as? MetricError, .nonFinitePredictions(task: "ctr", count: 1))
        }
        XCTAssertThrowsError(try evaluate(task: task, predictions: collected([0.1, 0.2], [1, 0], inSpace: [false, false]))) {
            XCTAssertEqual($0 as? MetricError, .emptyEvaluationSpace(task: "ctr"))
        }
        XCTAssertThrowsError(try evaluate(task: task, predictions: collected([0.1, 0.2], [2, 0]))) {
            XCTAssertEqual($0 as? MetricError, .nonBinaryLabel(task: "ctr", value: 2))
        }
        XCTAssertThrowsError(try evaluate(task: TaskSpec(name: "ctr", kind: .binary, metrics: ["auroc"]), predictions: collected([0.1, 0.2], [1, 0]))) {
            XCTAssertEqual($0 as? MetricError, .unknownMetric(task: "ctr", name: "auroc"))
        }
        XCTAssertThrowsError(try evaluate(task: TaskSpec(name: "ctr", kind: .binary, metrics: ["gauc"]), predictions: collected([0.1, 0.2], [1, 0]))) {
            XCTAssertEqual($0 as? MetricError, .missingGroups(task: "ctr"))
        }
        XCTAssertThrowsError(try evaluate(task: TaskSpec(name: "gmv", kind: .continuous, metrics: ["auc"]), predictions: collected([0.1, 0.2], [1, 0]))) {
            XCTAssertEqual($0 as? MetricError, .notApplicable(task: "gmv", metric: "auc", kind: .continuous))
        }
    }

    /// §12.6 through `evaluate`: the continuous defaults in order, variants by option and by explicit name.
    func testContinuousDefaultsAndVariants() throws {
        let task = TaskSpec(name: "amount", kind: .continuous)
        let rows = collected([1, 6, 3, 2, 15], [0, 10, 0, 5, 20])
        let metrics = try evaluate(task: task, predictions: rows)
        XCTAssertEqual(metrics.names, ["mse", "rmse", "mae", "nrmse", "nmae", "gini", "spearman", "calibration"])
        let expected: [String: Double] = ["mse": 12, "rmse": 3.464102, "mae": 3.2, "nrmse": 0.494872, "nmae": 0.457143,
                                          "gini": 25.0 / 27.0, "spearman": 0.820783, "calibration": 27.0 / 35.0]
        for (name, value) in expected { XCTAssertEqual(metrics[name]!, value, accuracy: 1e-6, name) }
        XCTAssertNil(metrics.positiveRate)
        let std = try evaluate(task: task, predictions: rows, options: MetricOptions(normalization: .std, gini: .kaggle))
        XCTAssertEqual(std["nrmse"]!, 0.462910, accuracy: 1e-6)
        XCTAssertEqual(std["nmae"]!, 0.427618, accuracy: 1e-6)
        XCTAssertEqual(std["gini"]!, 0.9, accuracy: 1e-12)
        let explicit = TaskSpec(name: "amount", kind: .continuous, metrics: ["nmae_std", "nrmse_mean", "rmse"])
        let both = try evaluate(task: explicit, predictions: rows)
        XCTAssertEqual(both.names, ["nmae_std", "nrmse_mean", "rmse"])
        XCTAssertEqual(both["nmae_std"]!, 0.427618, accuracy: 1e-6)
        XCTAssertEqual(both["nrmse_mean"]!, 0.494872, accuracy: 1e-6)
    }

    func testUndefinedMetricsAreListedNotThrown() throws {
        let task = TaskSpec(name: "delta", kind: .continuous)
        let metrics = try evaluate(task: task, predictions: collected([1, 1, 1], [-1, 0, 1]))
        XCTAssertEqual(metrics.undefined.map(\.name), ["nrmse", "nmae", "gini", "spearman", "calibration"])
        XCTAssertEqual(metrics["mse"]!, 5.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(metrics.warnings.count, 1, "constant predictions warn")
    }

    /// §12.4 through `evaluate`: groups switch GAUC on by default, with coverage next to it.
    func testGroupsAddGAUC() throws {
        let groups: [Int64] = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
        let y: [Double] = [1, 0, 1, 0, 1, 0, 0, 0, 0, 1], s = [0.8, 0.8, 0.6, 0.4, 0.3, 0.5, 0.1, 0.2, 0.9, 0.7]
        let metrics = try evaluate(task: TaskSpec(name: "ctr", kind: .binary), predictions: collected(s, y, groups: groups))
        XCTAssertEqual(metrics.names, ["auc", "gauc", "gauc_groups", "gauc_coverage", "logloss", "calibration"])
        XCTAssertEqual(metrics[.gauc]!, 4.0 / 7.0, accuracy: 1e-15)
        XCTAssertEqual(metrics["gauc_groups"], 2)
        XCTAssertEqual(metrics["gauc_coverage"]!, 0.7, accuracy: 1e-15)
        XCTAssertEqual(metrics[.auc]!, 29.0 / 48.0, accuracy: 1e-15)
        XCTAssertEqual(metrics.positiveRate!, 0.4, accuracy: 1e-15)
        let positives = try evaluate(task: TaskSpec(name: "ctr", kind: .binary), predictions: collected(s, y, groups: groups),
                                     options: MetricOptions(groupWeighting: .positives))
        XCTAssertEqual(positives[.gauc]!, 7.0 / 12.0, accuracy: 1e-15)
    }

    /// Sample weights from the batch are used only when asked, and come from the evaluation's label column.
    func testSampleWeightsFromBatches() throws {
        let task = TaskSpec(name: "ctr", kind: .binary, metrics: ["auc", "logloss"])
        let labels = Tensor(shape: [4, 1], values: [1, 0, 1, 0])
        let batch = Batch(count: 4, ids: [], numeric: nil, labels: labels, weights: Tensor(shape: [4, 1], values: [1, 3, 1, 1]))
        let scores = [0.9, 0.8, 0.3, 0.2]
        var plain = MetricAccumulator(columns: [task])
        plain.append(scores, for: "ctr", batch: batch)
        var weighted = MetricAccumulator(columns: [task], options: MetricOptions(useSampleWeights: true))
        weighted.append(scores, for: "ctr", batch: batch)
        XCTAssertNil(plain.collected[0].weights)
        XCTAssertEqual(weighted.collected[0].weights, [1, 3, 1, 1])
        // Unweighted: 0.9 beats both negatives, 0.3 beats 0.2 → 3/4. Weighted (the 0.8 negative counts 3 times):
        // (3 + 1 + 1)/(2 · 4) = 5/8.
        let a = try plain.report()[task: "ctr"]!, b = try weighted.report()[task: "ctr"]!
        XCTAssertEqual(a[.auc]!, 0.75, accuracy: 1e-15)
        XCTAssertEqual(b[.auc]!, 0.625, accuracy: 1e-15)
        let ll = [-log(0.9), -log(0.2), -log(0.3), -log(0.8)]
        XCTAssertEqual(a[.logloss]!, ll.reduce(0, +) / 4, accuracy: 1e-12)
        XCTAssertEqual(b[.logloss]!, (ll[0] + 3 * ll[1] + ll[2] + ll[3]) / 6, accuracy: 1e-12)
    }

    func testReportRendersMarkdownAndRoundTripsJSON() throws {
        let ctr = try evaluate(task: TaskSpec(name: "ctr", kind: .binary), predictions: collected([0.8, 0.8, 0.6, 0.4, 0.4, 0.2], [1, 0, 1, 0, 1, 0]))
        let amount = try evaluate(task: TaskSpec(name: "amount", kind: .continuous, metrics: ["rmse", "gini"]),
                                  predictions: collected([1, 2], [0, 0]))
        let report = MetricReport(tasks: [ctr, amount], options: MetricOptions())
        let table = report.markdownTable()
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "| task | rows | auc | logloss | calibration | rmse |")
        XCTAssertEqual(lines[2], "| ctr | 6 | 0.6667 | \(String(format: "%.4f", ctr[.logloss]!)) | 1.0667 | — |")
        XCTAssertEqual(lines[3], "| amount | 2 | — | — | — | 1.5811 |")
        XCTAssertTrue(table.contains("NRMSE/NMAE ÷ mean(y)"))
        XCTAssertTrue(table.contains("- amount: gini undefined"))
        let decoded = try JSONDecoder().decode(MetricReport.self, from: JSONEncoder().encode(report))
        XCTAssertEqual(decoded, report)
        XCTAssertEqual(decoded[task: "ctr"]!.names, ["auc", "logloss", "calibration"])
    }
}
