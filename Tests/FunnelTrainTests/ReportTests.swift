import Foundation
import FunnelData
import FunnelModels
@testable import FunnelTrain
import XCTest

/// `RunReport` and the pieces it draws with: the paired t-test, fitted chart axes, calibration bins and gain
/// curves, and the rendered page of a real small comparison in headless Chromium.
final class ReportTests: XCTestCase {
    func testPairedTestMatchesStudentsT() {
        // d = 1, 2, 3, 4: t = 3.873 with 3 degrees of freedom, two-sided p = 0.030466 (numerical integration).
        let test = PairedTest(differences: [1, 2, 3, 4])
        XCTAssertEqual(test.meanDifference, 2.5)
        XCTAssertEqual(try XCTUnwrap(test.pValue), 0.030466, accuracy: 2e-6)
        XCTAssertTrue(test.isSignificant())
        // Noisy differences around zero are not significant; one pair has no p-value.
        XCTAssertGreaterThan(try XCTUnwrap(PairedTest(differences: [0.01, -0.012, 0.003]).pValue), 0.5)
        XCTAssertNil(PairedTest(differences: [0.2]).pValue)
        XCTAssertEqual(PairedTest(differences: [0.1, 0.1]).pValue, 0)
    }

    func testAxesAreFittedToTheDataNotToZero() {
        let scale = ChartScale(fitting: [0.701, 0.712, 0.735])
        XCTAssertGreaterThan(scale.lower, 0.68)
        XCTAssertLessThanOrEqual(scale.lower, 0.701)
        XCTAssertLessThan(scale.upper, 0.76)
        XCTAssertGreaterThanOrEqual(scale.upper, 0.735)
        XCTAssertGreaterThanOrEqual(scale.ticks.count, 4)
        XCTAssertEqual(ChartScale(fitting: [0, 1], limits: 0...1).upper, 1)
        XCTAssertEqual(ChartScale(fitting: [1, 7]).integral.step.truncatingRemainder(dividingBy: 1), 0)
    }

    func testCalibrationBinsAndExpectedCalibrationError() {
        var rows = TaskPredictions()
        // Bin [0.1, 0.2): predictions 0.15, 0.15, observed 1 of 2; bin [0.9, 1]: prediction 0.95 and 1.0, observed 2 of 2.
        for (p, y) in [(0.15, 0.0), (0.15, 1.0), (0.95, 1.0), (1.0, 1.0)] { rows.append(prediction: p, label: y) }
        let task = TaskSpec(name: "ctr", kind: .binary, label: "ctr")
        let diagnostics = TaskDiagnostics(task: task, predictions: rows)
        let bins = try! XCTUnwrap(diagnostics.calibration)
        XCTAssertEqual(bins.map(\.rows), [2, 2])
        XCTAssertEqual(bins[0].meanPrediction, 0.15, accuracy: 1e-12)
        XCTAssertEqual(bins[0].observedRate, 0.5)
        XCTAssertEqual(bins[1].lower, 0.9, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(diagnostics.expectedCalibrationError), 0.5 * 0.35 + 0.5 * 0.025, accuracy: 1e-12)
        XCTAssertNil(diagnostics.gain)
    }

    func testGainCurveAgainstTheOracle() throws {
        var rows = TaskPredictions()
        // Labels 0, 0, 4, 6; the model ranks the 4 first, then a 0: top half captures 4/10, the oracle 10/10.
        for (p, y) in [(0.9, 4.0), (0.8, 0.0), (0.5, 6.0), (0.1, 0.0)] { rows.append(prediction: p, label: y) }
        let gain = try XCTUnwrap(TaskDiagnostics(task: TaskSpec(name: "amount", kind: .continuous, label: "amount"), predictions: rows,
                                                 gainPoints: 4).gain)
        XCTAssertEqual(gain.rowShares, [0, 0.25, 0.5, 0.75, 1])
        XCTAssertEqual(gain.model, [0, 0.4, 0.4, 1, 1])
        XCTAssertEqual(gain.oracle, [0, 0.6, 1, 1, 1])
    }

    func testUnknownBaselineIsRefused() throws {
        let outcome = ComparisonOutcome(models: ["a"], tasks: [], seeds: [0], runs: [])
        XCTAssertThrowsError(try RunReport(outcome, baseline: "b")) { XCTAssertTrue("\($0)".contains("baseline 'b'")) }
    }

    /// A real comparison (MMoE and HTLNet on the funnel with a continuous amount) written to a run directory; the
    /// report is redrawn from comparison.json with the same bytes, and Chromium's DOM has every section with data.
    func testReportOfASmallComparisonRendersInChromium() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try Self.smallComparison()
        try outcome.write(to: directory, baseline: "mmoe")
        let written = try Data(contentsOf: directory.appendingPathComponent("report.html"))
        let redrawn = try RunReport(directory: directory, baseline: "mmoe")
        XCTAssertEqual(Data(redrawn.html.utf8), written, "the report redrawn from comparison.json differs")
        XCTAssertEqual(redrawn.html, try RunReport(directory: directory, baseline: "mmoe").html, "two renderings differ")
        let html = String(decoding: written, as: UTF8.self)
        XCTAssertFalse(html.contains("<script"), "the report must not run or fetch scripts")
        XCTAssertFalse(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"),
                       "the report must not reference anything outside itself")

        guard let chromium = Self.chromium() else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("chromium is not installed (CI installs it in .ci/run)") }
            throw XCTSkip("chromium is not installed; skipping the rendering check")
        }
        let dom = try Self.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                                          directory.appendingPathComponent("report.html").absoluteString])
        for (id, _) in RunReport.sections {
            let body = try XCTUnwrap(Self.section(id, in: dom), "section #\(id) missing from the rendered DOM")
            let charts = body.components(separatedBy: "<svg").dropFirst()
            if id == "summary" {  // tables only: splits, models, runs
                XCTAssertGreaterThanOrEqual(body.components(separatedBy: "<table").count - 1, 3, "summary lacks its tables")
                continue
            }
            XCTAssertFalse(charts.isEmpty, "section #\(id) has no chart")
            for chart in charts {
                let plotted = ["class=\"series\"", "class=\"point\"", "class=\"cell\""].map { chart.components(separatedBy: $0).count - 1 }
                XCTAssertGreaterThan(plotted.reduce(0, +), 0, "a chart in #\(id) plots nothing")
            }
        }
        XCTAssertTrue(dom.contains("MMoE gate weights") && dom.contains("HTLNet representation fusion attention"))
    }

    /// MMoE and HTLNet, two seeds, two epochs, on 1,200 funnel rows whose amount has an MSE loss.
    static func smallComparison() throws -> ComparisonOutcome {
        let data = try SyntheticRecipe(generator: .funnel, rows: 1200, seed: 3, preset: "smoke", amountLoss: "mse").makeData()
        var training = TrainingConfiguration()
        training.epochs = 2
        training.batchSize = 128
        training.earlyStopping.patience = 5
        let mmoe = try JSONValue(data: Data(#"{"embeddingWidth": 4, "experts": 2, "expertWidths": [8], "towerWidths": [4]}"#.utf8))
        let htlnet = try JSONValue(data: Data(#"{"embeddingWidth": 4, "towerWidths": [8, 4]}"#.utf8))
        let entries = [
            try Comparison.Entry.registry(name: "mmoe", model: "mmoe", configuration: mmoe, features: data.layout, tasks: data.tasks),
            try Comparison.Entry.registry(name: "htlnet", model: "htlnet", configuration: htlnet, features: data.layout, tasks: data.tasks),
        ]
        var outcome = try Comparison(entries: entries, seeds: [0, 1], training: training, tasks: data.tasks, inspectionRows: 256)
            .run(train: data.train, validation: data.validation, test: data.test)
        outcome.dataSummary = DataSummary(data)
        return outcome
    }

    /// The inner HTML of `<section id="id">`.
    static func section(_ id: String, in dom: String) -> String? {
        guard let start = dom.range(of: "<section id=\"\(id)\">") else { return nil }
        let rest = dom[start.upperBound...]
        return rest.range(of: "</section>").map { String(rest[..<$0.lowerBound]) }
    }

    static func chromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Standard output of `executable arguments`.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
