import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// Rule 1 of RELIABILITY.md: no writer replaces or deletes what Funnel did not create, every file output goes
/// through a temporary file renamed at the end, and a failed write leaves the old file intact.
final class OutputSafetyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-output-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private static let recipe = SyntheticRecipe(generator: .funnel, rows: 400, seed: 5, preset: "smoke")

    private func trained() throws -> TrainedModel {
        var training = TrainingConfiguration()
        training.epochs = 1
        training.batchSize = 128
        let choice = RunConfiguration.ModelChoice(name: "shared-bottom", configuration: try JSONValue(data: Data(
            #"{"embeddingWidth": 4, "bottomWidths": [8], "towerWidths": [4]}"#.utf8)))
        return try TrainingRun(choice: choice, training: training).run(on: try Self.recipe.makeData()).trained
    }

    private func file(_ name: String, _ text: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    private func contents(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }

    func testCheckpointNeverReplacesAForeignDirectoryOrFile() throws {
        let model = try trained()
        let foreign = directory.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        let precious = try file("mine/notes.txt", "keep me")
        for overwrite in [false, true] {
            XCTAssertThrowsError(try model.write(to: foreign, overwrite: overwrite)) { error in
                XCTAssertTrue("\(error)".contains("did not write"), "\(error)")
            }
        }
        XCTAssertEqual(try contents(precious), "keep me")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["mine"], "no staging left behind")

        let plain = try file("plain", "a file")
        XCTAssertThrowsError(try model.write(to: plain)) { XCTAssertTrue("\($0)".contains("--overwrite"), "\($0)") }
        XCTAssertEqual(try contents(plain), "a file")
        try model.write(to: plain, overwrite: true)
        XCTAssertNoThrow(try TrainedModel(contentsOf: plain))

        // Its own kind of artifact is replaced without --overwrite.
        let checkpoint = directory.appendingPathComponent("ckpt")
        try model.write(to: checkpoint)
        try model.write(to: checkpoint)
        XCTAssertNoThrow(try TrainedModel(contentsOf: checkpoint))
    }

    func testScoringRefusesItsInputAndKeepsTheOldOutputOnFailure() throws {
        let model = try trained()
        let input = directory.appendingPathComponent("rows.csv")
        try Self.recipe.writeCSV(to: input)
        let original = try contents(input)
        XCTAssertThrowsError(try model.score(csv: input, to: input, overwrite: true)) { XCTAssertTrue("\($0)".contains("is also the input"), "\($0)") }
        XCTAssertEqual(try contents(input), original)

        let output = try file("scores.csv", "old scores")
        XCTAssertThrowsError(try model.score(csv: input, to: output)) { XCTAssertTrue("\($0)".contains("already exists"), "\($0)") }
        XCTAssertEqual(try contents(output), "old scores")

        // A bad row halfway: the error surfaces, the old output is untouched and no temporary file remains.
        let broken = try file("broken.csv", original.split(separator: "\n").prefix(50).joined(separator: "\n") + "\nnot,a,row\n")
        XCTAssertThrowsError(try model.score(csv: broken, to: output, batchSize: 8, overwrite: true))
        XCTAssertEqual(try contents(output), "old scores")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: directory.path).contains { $0.hasSuffix(".tmp") })

        XCTAssertEqual(try model.score(csv: input, to: output, overwrite: true), 400)
        XCTAssertTrue(try contents(output).hasPrefix("ctr,cvr,amount\n"))
    }

    func testSyntheticCSVAndExportsRefuseExistingFiles() throws {
        let data = try FunnelDataset(configuration: .smoke, seed: 1)
        let csv = try file("data.csv", "precious")
        XCTAssertThrowsError(try data.writeCSVWithSchema(to: csv))
        XCTAssertEqual(try contents(csv), "precious")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data.yaml").path),
                       "nothing is written when one of the two outputs is refused")
        _ = try data.writeCSVWithSchema(to: csv, overwrite: true)
        XCTAssertNotEqual(try contents(csv), "precious")

        let export = directory.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
        let other = try file("export/other.txt", "other")
        let table = try Self.recipe.makeData().train
        XCTAssertThrowsError(try NumPyExport.write(["train": table], to: export))
        try NumPyExport.write(["train": table], to: export, overwrite: true)
        XCTAssertEqual(try contents(other), "other", "only the export's own files are written")
        XCTAssertNoThrow(try NumPyExport.write(["train": table], to: export), "an earlier export is recognised by meta.json")
    }

    func testAnUncommittedOutputFileLeavesNothing() throws {
        let target = try file("kept.txt", "old")
        do {
            let output = try OutputFile(target, overwrite: true)
            try output.write(Data("half".utf8))
        }
        XCTAssertEqual(try contents(target), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["kept.txt"])
        XCTAssertThrowsError(try OutputFile(directory, overwrite: true)) { XCTAssertTrue("\($0)".contains("is a directory"), "\($0)") }
    }

    func testUnwritableLocationsAreReportedBeforeWork() throws {
        try XCTSkipIf(getuid() == 0, "root may write anywhere")
        let locked = directory.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        chmod(locked.path, 0o500)
        defer { chmod(locked.path, 0o700) }
        XCTAssertThrowsError(try TrainingRun.checkOutputs(checkpoint: locked.appendingPathComponent("ckpt"), overwrite: false)) {
            XCTAssertTrue("\($0)".contains("locked"), "\($0)")
        }
    }
}
