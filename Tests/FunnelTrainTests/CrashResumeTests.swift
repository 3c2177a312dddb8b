import Foundation
import FunnelData
import FunnelTrain
import XCTest

/// Resume after a crash, end to end through the built `funnel` binary: a run killed with SIGKILL in the middle of
/// an epoch and resumed with `--resume` ends with the same weights (byte for byte) and metrics as an
/// uninterrupted run with the same seed.
final class CrashResumeTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The `funnel` executable next to the test bundle (`swift test` builds every product first).
    private func funnelBinary() throws -> URL {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("funnel"),
                          Bundle.main.bundleURL.appendingPathComponent("funnel"),
                          Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("funnel")]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            XCTFail("no funnel binary at \(candidates.map(\.path)); run `swift build` first")
            throw CocoaError(.fileNoSuchFile)
        }
        return found
    }

    private func arguments(checkpoint: URL) -> [String] {
        ["train", "--synthetic", "funnel", "--preset", "smoke", "--rows", "3000", "--model", "shared-bottom",
         "--model-config", #"{"embeddingWidth": 4, "bottomWidths": [32], "towerWidths": [16], "dropout": 0.2}"#,
         "--epochs", "4", "--patience", "10", "--batch-size", "16", "--seed", "7", "--threads", "1", "--quiet",
         "--checkpoint", checkpoint.path]
    }

    private func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = try funnelBinary()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func metrics(_ checkpoint: URL) throws -> [String: Double] {
        try Checkpoint.read(from: checkpoint).metadata.metrics
    }

    func testKilledMidEpochAndResumedEqualsUninterrupted() throws {
        let reference = directory.appendingPathComponent("reference"), resumed = directory.appendingPathComponent("resumed")
        let clock = Date()
        let whole = try start(arguments(checkpoint: reference))
        whole.waitUntilExit()
        XCTAssertEqual(whole.terminationStatus, 0)
        let epochSeconds = Date().timeIntervalSince(clock) / 4

        let killed = try start(arguments(checkpoint: resumed))
        let last = TrainingRun.progressDirectory(for: resumed).appendingPathComponent("last/checkpoint.json")
        let deadline = Date().addingTimeInterval(600)
        while !FileManager.default.fileExists(atPath: last.path) && killed.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(killed.isRunning, "the run finished before it could be killed")
        usleep(useconds_t(epochSeconds * 0.5 * 1e6))  // into the middle of the second epoch
        XCTAssertTrue(killed.isRunning, "the run finished before it could be killed")
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        XCTAssertEqual(killed.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed.path), "no final checkpoint from a killed run")
        let savedEpoch = try Checkpoint.read(from: last.deletingLastPathComponent()).metadata.epoch
        XCTAssertLessThan(savedEpoch, 4)

        let again = try start(arguments(checkpoint: resumed) + ["--resume"])
        again.waitUntilExit()
        XCTAssertEqual(again.terminationStatus, 0)
        XCTAssertEqual(try Data(contentsOf: resumed.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: reference.appendingPathComponent("model.safetensors")), "weights differ after resume")
        XCTAssertEqual(try metrics(resumed), try metrics(reference))
        XCTAssertFalse(FileManager.default.fileExists(atPath: TrainingRun.progressDirectory(for: resumed).path),
                       "the staging directory is removed once the checkpoint is written")
    }
}
