import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport
@testable import FunnelData

/// The funnel generator (synthetic-data.md §5): §5.4 reference values, parity with the Python twin
/// (`Tests/Fixtures/synthetic/funnel.json`), nesting, base rates, tasks, table and CSV.
final class FunnelGeneratorTests: XCTestCase {
    enum Shared {
        static let smoke = try! FunnelDataset(configuration: .smoke)
    }

    func testSmokeReferenceValues() {
        let data = Shared.smoke
        XCTAssertEqual(Array(data.vocabularySizes[0..<4]), [873, 17, 26, 181])
        XCTAssertEqual(data.vocabularySizes.reduce(0, +), 5127)
        XCTAssertEqual(Array(data.categorical[0..<16]), [91, 0, 17, 0, 14, 124, 3, 94, 695, 0, 22, 203, 4, 584, 29, 42])
        assertElementsEqual(Array(data.dense[0..<3]), [0.488978922532942, 0.9185620691277946, -0.6839141829402997], accuracy: 1e-15)
        XCTAssertEqual(data.statistics.clickBias, -0.8028794177, accuracy: 1e-9)
        XCTAssertEqual(data.statistics.conversionBias, -1.0605553957, accuracy: 1e-9)
        assertElementsEqual(Array(data.clickProbability[0..<3]), [0.267545019, 0.407557042, 0.110994750], accuracy: 1e-9)
        assertElementsEqual(Array(data.conversionProbability[0..<3]), [0.136566148, 0.270528395, 0.095372665], accuracy: 1e-9)
        XCTAssertEqual(Array(data.click[0..<16]), [0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1])
        XCTAssertEqual(data.statistics.clicks, 1213)
        XCTAssertEqual(data.statistics.conversions, 346)
    }

    func testMatchesPythonTwin() throws {
        let fixture = try ParityFixture("funnel.json", area: "synthetic")
        let data = Shared.smoke
        XCTAssertEqual(data.vocabularySizes.map(Double.init), try fixture.doubles("V"))
        XCTAssertEqual(data.offsets.map(Double.init), try fixture.doubles("offsets"))
        XCTAssertEqual(Array(data.categorical[0..<128]).map(Double.init), try fixture.doubles("x_cat_head"))
        XCTAssertEqual(Array(data.dense[0..<64]), try fixture.doubles("x_dense_head"), "Box–Muller: same libm results here")
        assertMatchesPython(Array(data.scores[0..<24]), try fixture.doubles("U_head"), "U")
        assertMatchesPython([data.statistics.clickBias, data.statistics.conversionBias], try fixture.doubles("bias"), "b_c, b_v")
        assertMatchesPython(Array(data.clickProbability[0..<64]), try fixture.doubles("p_click_head"), "p_click")
        assertMatchesPython(Array(data.conversionProbability[0..<64]), try fixture.doubles("p_cvr_head"), "p_cvr")
        assertMatchesPython(Array(data.amountLocation[0..<64]), try fixture.doubles("mu_head"), "mu")
        assertMatchesPython(Array(data.amount[0..<64]), try fixture.doubles("amount_head"), "amount")
        // Every label of all 4,096 rows, exactly.
        XCTAssertEqual(data.click.map(Double.init), try fixture.doubles("click"))
        XCTAssertEqual(data.conversion.map(Double.init), try fixture.doubles("conv"))
        assertMatchesPython([data.amount.reduce(0, +)], try fixture.doubles("amount_sum"), "Σ amount")

        var cross = FunnelConfiguration.smoke
        cross.crossStrength = 0.5
        let crossed = try FunnelDataset(configuration: cross)
        assertMatchesPython(Array(crossed.scores[0..<24]), try fixture.doubles("cross.U_head"), "cross U")
        assertMatchesPython([crossed.statistics.clickBias, crossed.statistics.conversionBias], try fixture.doubles("cross.bias"), "cross b")
        XCTAssertEqual([crossed.statistics.clicks, crossed.statistics.conversions].map(Double.init), try fixture.doubles("cross.counts"))
        XCTAssertNotEqual(crossed.scores[0], data.scores[0], "the field-0 × field-1 effect changes the click score")
        XCTAssertEqual(crossed.scores[2], data.scores[2], "and not the amount score")
    }

    /// click ⊇ conversion ⊇ positive amount, and the entire-space identities of the ground truth.
    func testLabelsAreNested() {
        let data = Shared.smoke
        for r in 0..<data.rowCount {
            XCTAssertLessThanOrEqual(data.conversion[r], data.click[r], "row \(r): conversion without click")
            XCTAssertEqual(data.amount[r] > 0, data.conversion[r] == 1, "row \(r): amount > 0 exactly on conversion")
        }
        XCTAssertEqual(data.ctcvrProbability[5], data.clickProbability[5] * data.conversionProbability[5])
        XCTAssertEqual(data.expectedAmount[5], data.ctcvrProbability[5] * exp(data.amountLocation[5] + 0.32), accuracy: 1e-12)
    }

    /// Realised rates against the targets. Given the scores, labels are independent Bernoulli draws whose
    /// probabilities average the target exactly (the bisection), so a rate's standard error is at most
    /// sqrt(π(1 − π)/n) (n = rows for CTR, clicks for CVR); the test allows 4 of them.
    func testBaseRatesWithinSamplingError() {
        let s = Shared.smoke.statistics
        XCTAssertEqual(s.clickRate, 0.30, accuracy: 4 * (0.3 * 0.7 / 4096).squareRoot())
        XCTAssertEqual(s.conversionRateOnClicks, 0.30, accuracy: 4 * (0.3 * 0.7 / Double(s.clicks)).squareRoot())
        XCTAssertEqual(s.meanCVRProbabilityOnClicks, 0.30, accuracy: 1e-9, "bisection over the clicked rows")
        let meanClick = Shared.smoke.clickProbability.reduce(0, +) / 4096
        XCTAssertEqual(meanClick, 0.30, accuracy: 1e-9, "bisection over every impression")
    }

    /// The default preset (n = 200,000): §5.4's biases, counts and sanity statistics.
    func testDefaultPresetReferenceValues() throws {
        let data = try FunnelDataset(configuration: .default)
        let s = data.statistics
        print("[funnel] default preset: " + s.summary)
        XCTAssertEqual(s.clickBias, -3.288880, accuracy: 1e-6)
        XCTAssertEqual(s.conversionBias, -2.852480, accuracy: 1e-6)
        XCTAssertEqual(s.clicks, 10_079)
        XCTAssertEqual(s.conversions, 1_020)
        XCTAssertEqual(s.clickRate, 0.0504, accuracy: 5e-5)
        XCTAssertEqual(s.conversionRateOnClicks, 0.1012, accuracy: 5e-5)
        XCTAssertEqual(s.ctcvrRate, 0.0051, accuracy: 5e-5)
        // Selection bias: converted-if-clicked probability is lower over all impressions than over clicks.
        XCTAssertEqual(s.meanCVRProbability, 0.074, accuracy: 5e-4)
        XCTAssertEqual(s.meanCVRProbabilityOnClicks, 0.100, accuracy: 5e-4)
        let click = data.click.map(Double.init), conversion = data.conversion.map(Double.init)
        XCTAssertEqual(pearsonCorrelation(click, conversion)!, 0.31, accuracy: 5e-3)
        let u0 = (0..<data.rowCount).map { data.scores[$0 * 3] }, u1 = (0..<data.rowCount).map { data.scores[$0 * 3 + 1] }
        XCTAssertEqual(pearsonCorrelation(u0, u1)!, 0.32, accuracy: 5e-3)
        let amounts = data.amount.filter { $0 > 0 }.sorted()
        XCTAssertEqual(amounts.count, 1020)
        XCTAssertEqual((amounts[509] + amounts[510]) / 2, 63, accuracy: 0.5, "median amount among converters")
        XCTAssertEqual(amounts.reduce(0, +) / 1020, 101, accuracy: 0.5, "mean amount among converters")
    }

    func testTasksTableAndSplits() {
        let data = Shared.smoke
        XCTAssertEqual(data.tasks.map(\.name), ["ctr", "cvr", "amount"])
        XCTAssertEqual(data.tasks.map(\.label), ["click", "conv", "amount"])
        XCTAssertEqual(data.tasks[1].parent, "ctr")
        XCTAssertEqual(data.tasks[1].lossSpace, .whereLabel("ctr"))
        XCTAssertEqual(data.tasks[1].evaluationSpace, .whereLabel("ctr"))
        XCTAssertEqual(data.tasks[2].kind, .continuous)
        XCTAssertEqual(data.tasks[2].loss, .zeroInflatedLognormal)
        let table = data.table
        XCTAssertEqual(table.layout.vocabularySizes, data.vocabularySizes)
        XCTAssertEqual(table.layout.numericCount, 8)
        XCTAssertEqual(table.layout.fieldCount, 17)
        XCTAssertEqual(table.ids, data.categorical)
        XCTAssertTrue(table.ids.enumerated().allSatisfy { i, id in id >= 0 && Int(id) < data.vocabularySizes[i % 16] })
        XCTAssertEqual(Array(table.labels[0..<6]), [0, 0, 0, 1, Float(data.conversion[1]), Float(data.amount[1])])
        // The CVR loss mask of a batch is the click label.
        let batch = table.batch(rows: Array(0..<16))
        let mask = try! XCTUnwrap(batch.mask(ofTask: 1))
        XCTAssertEqual(mask.scalars, data.click[0..<16].map(Float.init))
        XCTAssertEqual(batch.mask(ofTask: 0)?.scalars, [Float](repeating: 1, count: 16), "CTR is over every impression")

        let splits = data.splits
        XCTAssertEqual([splits.train.count, splits.validation.count, splits.test.count], [3276, 410, 410])
        XCTAssertEqual(splits.train + splits.validation + splits.test, Array(0..<4096))
    }

    func testDeterminismAndSeeds() throws {
        var small = FunnelConfiguration.smoke
        small.rows = 500
        let a = try FunnelDataset(configuration: small, seed: 3), b = try FunnelDataset(configuration: small, seed: 3)
        let c = try FunnelDataset(configuration: small, seed: 4)
        XCTAssertEqual(a.categorical, b.categorical)
        XCTAssertEqual(a.dense, b.dense)
        XCTAssertEqual(a.click, b.click)
        XCTAssertEqual(a.amount, b.amount)
        XCTAssertEqual(a.statistics, b.statistics)
        XCTAssertNotEqual(a.categorical, c.categorical)
        // Rows are addressed by index: the first 500 rows of the smoke preset have the same features.
        XCTAssertEqual(try FunnelDataset(configuration: small).categorical, Array(Shared.smoke.categorical[0..<(500 * 16)]))
        XCTAssertThrowsError(try FunnelDataset(configuration: FunnelConfiguration(rows: 10, clickRate: 1.5)))
    }

    func testCSVKeepsRawValues() throws {
        var small = FunnelConfiguration.smoke
        small.rows = 64
        let data = try FunnelDataset(configuration: small)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-\(ProcessInfo.processInfo.processIdentifier).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try data.writeCSV(to: url, groundTruth: true)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(lines.count, 65)
        XCTAssertEqual(lines[0], (0..<16).map { "cat\($0)" } + (0..<8).map { "dense\($0)" }
                       + ["click", "conv", "amount", "p_click", "p_cvr", "p_ctcvr", "mu_amount", "expected_amount"])
        for r in [0, 1, 63] {
            let row = lines[r + 1]
            XCTAssertEqual(row[0..<16].map { Int32($0)! }, Array(data.categorical[(r * 16)..<(r * 16 + 16)]))
            XCTAssertEqual(row[16..<24].map { Double($0)! }, Array(data.dense[(r * 8)..<(r * 8 + 8)]))
            XCTAssertEqual(row[24..<26].map { UInt8($0)! }, [data.click[r], data.conversion[r]])
            XCTAssertEqual(Double(row[26])!, data.amount[r])
            XCTAssertEqual(Double(row[27])!, data.clickProbability[r])
        }
    }
}
