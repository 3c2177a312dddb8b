import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport
@testable import FunnelData

/// The MMoE correlation-controlled generator (synthetic-data.md §2–4): spec reference values (seed 0), parity with
/// the Python twin (`Tests/Fixtures/synthetic/correlated_tasks.json`), and the structure the generator promises.
final class CorrelatedTasksTests: XCTestCase {
    /// Datasets shared by several tests (seed 0, n = 10,000, d = 100, m = 10, σ = 0.1).
    enum Shared {
        static let p05 = try! CorrelatedTasksDataset(configuration: .twoTasks(cosine: 0.5))
        static let k3 = try! CorrelatedTasksDataset(configuration: CorrelatedTasksConfiguration(
            cosines: [[1, 0.8, 0.3], [0.8, 1, 0.5], [0.3, 0.5, 1]]))
    }

    func testSpecReferenceValuesForTwoTasks() throws {
        let data = Shared.p05
        XCTAssertEqual(data.alpha[0], 1.158344925623304, accuracy: 1e-14)
        XCTAssertEqual(data.beta[0], 1.6295135155876417, accuracy: 1e-14)
        XCTAssertEqual(data.labels[0], 0.516087, accuracy: 1e-6)
        XCTAssertEqual(data.labels[1], 1.296416, accuracy: 1e-6)
        XCTAssertEqual(data.statistics.labelCorrelation(0, 1), 0.355101, accuracy: 1e-6)
        for (p, expected) in [(0.0, 0.0071), (0.9, 0.8139)] {
            let other = try CorrelatedTasksDataset(configuration: .twoTasks(cosine: p))
            XCTAssertEqual(other.statistics.labelCorrelation(0, 1), expected, accuracy: 1e-4, "p = \(p)")
            XCTAssertEqual(other.values[0], data.values[0], "task 0 does not depend on p")
        }
        // ‖w_k‖ = c and cos(w_1, w_2) = p.
        assertElementsEqual(data.statistics.weightCosines, [1, 0.5, 0.5, 1], accuracy: 1e-12)
        XCTAssertEqual(data.statistics.summary.components(separatedBy: "\n").first,
                       "task0–task1: cosine p = 0.5, measured corr(y) = 0.3551")
    }

    func testMatchesPythonTwin() throws {
        let fixture = try ParityFixture("correlated_tasks.json", area: "synthetic")
        let data = Shared.p05
        assertMatchesPython(data.alpha, try fixture.doubles("p05.alpha"), "alpha")
        assertMatchesPython(data.beta, try fixture.doubles("p05.beta"), "beta")
        assertMatchesPython(data.cholesky, try fixture.doubles("p05.L"), "L")
        assertMatchesPython((0..<2).flatMap { k in Array(data.taskWeights[(k * 100)..<(k * 100 + 8)]) }, try fixture.doubles("p05.w_head"), "w")
        assertMatchesPython(Array(data.features[0..<8]) + Array(data.features[100..<108]), try fixture.doubles("p05.x_head"), "x")
        assertMatchesPython(Array(data.labels[0..<32]), try fixture.doubles("p05.y_head"), "y")
        assertMatchesPython(data.statistics.valueCorrelation, try fixture.doubles("p05.corr"), "corr")
        assertMatchesPython(Shared.k3.cholesky, try fixture.doubles("k3.L"), "K=3 L")
        assertMatchesPython(Array(Shared.k3.labels[0..<24]), try fixture.doubles("k3.y_head"), "K=3 y")
        assertMatchesPython(Shared.k3.statistics.labelCorrelation, try fixture.doubles("k3.corr"), "K=3 corr")
    }

    /// With c = 0.3 the correlation grows with p; seed 0 measures 0.491 / 0.893 / 0.993 (printed), the same as
    /// Python. The value depends strongly on the seed (spec §2), so only seed-exact values are asserted.
    func testScaleZeroPointThreeCorrelationsMatchPython() throws {
        let fixture = try ParityFixture("correlated_tasks.json", area: "synthetic")
        var measured: [Double] = []
        for (p, key) in [(0.5, "05"), (0.9, "09"), (1.0, "10")] {
            let data = try CorrelatedTasksDataset(configuration: .twoTasks(cosine: p, scale: 0.3))
            let corr = data.statistics.labelCorrelation(0, 1)
            XCTAssertEqual(corr, try fixture.doubles("c03.p\(key).corr")[1], accuracy: 1e-9, "p = \(p)")
            measured.append(corr)
            if p == 1 {
                // Singular P stays on the Cholesky path: L = [[1, 0], [1, 0]], so w_1 = w_2 exactly as in §2.
                XCTAssertEqual(data.cholesky, [1, 0, 1, 0])
                XCTAssertEqual(Array(data.taskWeights[0..<100]), Array(data.taskWeights[100..<200]))
                XCTAssertEqual(data.cholesky, try fixture.doubles("p10.L"))
                // The labels then differ by noise only: y_1 − y_2 = σ(ε_1 − ε_2).
                let noise = 0.1 * (PortableRandom.normal(seed: 0, stream: 203, index: 0) - PortableRandom.normal(seed: 0, stream: 204, index: 0))
                XCTAssertEqual(data.labels[0] - data.labels[1], noise, accuracy: 1e-12)
            }
        }
        print("[correlated] c = 0.3, p = 0.5 / 0.9 / 1.0: measured corr = " + measured.map { String(format: "%.4f", $0) }.joined(separator: " / "))
        XCTAssertLessThan(measured[0], measured[1])
        XCTAssertLessThan(measured[1], measured[2])
    }

    /// Without sine terms corr(y_1, y_2) = p·c²/(c² + σ²) (spec §2). The sample correlation's standard error is
    /// about (1 − ρ²)/√n = 0.0065 here; the test allows 4 of them.
    func testWithoutSinesTheCorrelationIsTheCosine() throws {
        let data = try CorrelatedTasksDataset(configuration: CorrelatedTasksConfiguration(sineTerms: 0, cosines: [[1, 0.6], [0.6, 1]]))
        let expected = 0.6 / 1.01, standardError = (1 - expected * expected) / 100
        XCTAssertEqual(data.statistics.labelCorrelation(0, 1), expected, accuracy: 4 * standardError)
    }

    func testThreeTasksThroughCholesky() throws {
        let data = Shared.k3
        assertElementsEqual(data.cholesky, [1, 0, 0, 0.8, 0.6, 0, 0.3, 0.433333, 0.849837], accuracy: 1e-6)
        assertElementsEqual(data.statistics.weightCosines, [1, 0.8, 0.3, 0.8, 1, 0.5, 0.3, 0.5, 1], accuracy: 1e-12)
        XCTAssertEqual(data.statistics.labelCorrelation(0, 1), 0.6665, accuracy: 1e-4)
        XCTAssertEqual(data.statistics.labelCorrelation(0, 2), 0.2021, accuracy: 1e-4)
        XCTAssertEqual(data.statistics.labelCorrelation(1, 2), 0.3447, accuracy: 1e-4)
        // Task 0 is w_0 = c·u_0 with noise stream 203 whatever K is: the K = 3 task 0 equals §2's task 0.
        for r in 0..<100 { XCTAssertEqual(data.values[r * 3], Shared.p05.values[r * 2], "row \(r)") }
        XCTAssertEqual(data.tasks.map(\.name), ["task0", "task1", "task2"])
        XCTAssertTrue(data.tasks.allSatisfy { $0.kind == .continuous && $0.parent == nil })
    }

    func testInvalidConfigurationsThrow() {
        let notPSD = [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]
        XCTAssertThrowsError(try CorrelatedTasksDataset(configuration: CorrelatedTasksConfiguration(rows: 10, cosines: notPSD))) {
            guard case SyntheticDataError.invalidCosineMatrix = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try CorrelatedTasksDataset(configuration: CorrelatedTasksConfiguration(rows: 10, cosines: [[1, 0.5], [0.4, 1]])))
        XCTAssertThrowsError(try CorrelatedTasksDataset(configuration: CorrelatedTasksConfiguration(rows: 10, cosines: [[2, 0], [0, 1]])))
        let eleven = (0..<11).map { i in (0..<11).map { $0 == i ? 1.0 : 0 } }
        XCTAssertThrowsError(try CorrelatedTasksDataset(configuration: CorrelatedTasksConfiguration(rows: 10, cosines: eleven)))
        XCTAssertThrowsError(try CorrelatedTasksDataset(configuration: .twoTasks(cosine: 0.5, rows: 10, labels: .binary(BinaryThresholding(rates: [0.5])))))
        // A singular but valid P (two identical tasks and an orthogonal one) is accepted.
        XCTAssertNoThrow(try semidefiniteCholesky([1, 1, 0, 1, 1, 0, 0, 0, 1], size: 3))
    }

    /// §4: rank labels have exact rates; Bernoulli labels hit the rate within sampling error; nesting; phi.
    func testBinaryThresholding() throws {
        let fixture = try ParityFixture("correlated_tasks.json", area: "synthetic")
        let n = 10_000.0
        for (name, method, nested, rates) in [("rank", BinaryThresholding.Method.rank, false, [0.3, 0.1]),
                                              ("bernoulli", .bernoulli(sharpness: 2), false, [0.3, 0.1]),
                                              ("nested", .rank, true, [0.5, 0.2])] {
            let thresholding = BinaryThresholding(rates: rates, method: method, nested: nested)
            let data = try CorrelatedTasksDataset(configuration: .twoTasks(cosine: 0.5, labels: .binary(thresholding)))
            XCTAssertEqual(data.values, Shared.p05.values, "thresholding does not change the values")
            XCTAssertEqual(Array(data.labels[0..<128]), try fixture.doubles("\(name).head"), name)
            let positives = try fixture.doubles("\(name).positives")
            let rates = try XCTUnwrap(data.statistics.positiveRates)
            assertElementsEqual(rates.map { $0 * n }, positives, accuracy: 1e-9, name)
            XCTAssertEqual(data.statistics.labelCorrelation(0, 1), try fixture.doubles("\(name).phi")[0], accuracy: 1e-12, name)
            XCTAssertLessThanOrEqual(data.statistics.labelCorrelation(0, 1), maximumPhi(rate: rates[0], rate: rates[1]) + 1e-12)
            switch name {
            case "rank":
                XCTAssertEqual(positives, [3000, 1000], "floor(π·n + 0.5)")
            case "bernoulli":
                // Labels are independent Bernoulli draws whose probabilities average π exactly (bisection), so the
                // rate's standard error is at most sqrt(π(1 − π)/n); allow 4.
                for (rate, target) in zip(rates, [0.3, 0.1]) {
                    XCTAssertEqual(rate, target, accuracy: 4 * (target * (1 - target) / n).squareRoot())
                }
            default:
                for r in 0..<10_000 { XCTAssertLessThanOrEqual(data.labels[r * 2 + 1], data.labels[r * 2], "nested row \(r)") }
                XCTAssertEqual(data.tasks[1].parent, "task0")
                XCTAssertEqual(data.tasks[1].kind, .binary)
            }
        }
        XCTAssertEqual(maximumPhi(rate: 0.05, rate: 0.5), 0.2294, accuracy: 1e-4)
    }

    func testDeterminismTableAndCSV() throws {
        let configuration = CorrelatedTasksConfiguration(rows: 300, inputDimension: 6, sineTerms: 3, cosines: [[1, 0.2], [0.2, 1]],
                                                         labels: .binary(BinaryThresholding(rates: [0.4, 0.2])))
        let a = try CorrelatedTasksDataset(configuration: configuration, seed: 5)
        let b = try CorrelatedTasksDataset(configuration: configuration, seed: 5)
        let c = try CorrelatedTasksDataset(configuration: configuration, seed: 6)
        XCTAssertEqual(a.features, b.features)
        XCTAssertEqual(a.values, b.values)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertNotEqual(a.features, c.features)
        let table = a.table
        XCTAssertEqual(table.layout, FeatureLayout(vocabularySizes: [], numericCount: 6))
        XCTAssertEqual(table.rowCount, 300)
        XCTAssertEqual(table.numeric[7], Float(a.features[7]))
        XCTAssertEqual(table.labels, a.labels.map(Float.init))
        XCTAssertEqual(a.splits.train.count, 240)
        XCTAssertEqual(a.splits.validation, Array(240..<270))

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-correlated-\(ProcessInfo.processInfo.processIdentifier).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try a.writeCSV(to: url, groundTruth: true)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 301)
        XCTAssertEqual(lines[0], "x0,x1,x2,x3,x4,x5,task0,task1,value_0,value_1,signal_0,signal_1")
        let row = lines[1].split(separator: ",").map(String.init)
        XCTAssertEqual(row[0..<6].map { Double($0)! }, Array(a.features[0..<6]), "raw Float64 round trip")
        XCTAssertEqual(row[6..<8].map { Double($0)! }, Array(a.labels[0..<2]))
        XCTAssertEqual(row[8..<10].map { Double($0)! }, Array(a.values[0..<2]))
    }
}
