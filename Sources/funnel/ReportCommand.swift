import ArgumentParser
import Foundation
import FunnelTrain

/// `funnel report`: redraws a run directory's `report.html` from its `comparison.json`.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write RUN_DIR/report.html (one offline HTML page: summary, metrics, curves, calibration, gain, inspections).",
        discussion: "RUN_DIR is a `funnel compare --out` or `funnel train --checkpoint` directory; both write the report too.")

    @Argument(help: ArgumentHelp("The run directory (holding comparison.json).", valueName: "run-dir"))
    var runDirectory: String

    @Option(help: "The model paired differences are taken against (default: the first model).")
    var baseline: String?

    func run() throws {
        let report = try RunReport(directory: URL(fileURLWithPath: runDirectory), baseline: baseline)
        printError("wrote \(try report.write(to: URL(fileURLWithPath: runDirectory)).path)")
    }
}
