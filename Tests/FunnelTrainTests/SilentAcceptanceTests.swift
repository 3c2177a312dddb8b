import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// Rule 3 of RELIABILITY.md: what a person names is read and checked; nonsense is an error, never accepted
/// without a word.
final class SilentAcceptanceTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-silent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func schema(_ extra: String = "", file: String = "rows.csv") throws -> DatasetSchema {
        try DatasetSchema.decode(Data("""
            name: t
            files: [\(file)]
            features: [{name: f, kind: categorical}, {name: x, kind: numeric}]
            tasks: [{name: y, kind: binary, label: y}]
            \(extra)
            """.utf8), name: "t.yaml")
    }

    func testOverflowingNumbersAreNotNumbers() {
        XCTAssertNil(NumberParser.parse("1e999"))
        XCTAssertNil(NumberParser.parse("-1e999"))
        XCTAssertNil(NumberParser.parse("inf"))
        XCTAssertEqual(NumberParser.parse("1e308"), 1e308)
    }

    func testDuplicateHeaderNamesAreLocated() throws {
        let reader = { try CSVReader(bytes: Array("f,x,f\na,1,b\n".utf8), name: "rows.csv") }
        XCTAssertThrowsError(try reader()) { XCTAssertEqual("\($0)", "rows.csv:1: column 2 (f): duplicate column name (also column 0); rename one in the header") }
    }

    func testMisspeltSplitRolesAndFractionsNotSummingToOneAreErrors() throws {
        XCTAssertThrowsError(try schema("split: {divide: {method: random, fractions: {train: 0.8, valdation: 0.2}}}")) {
            XCTAssertTrue("\($0)".contains("unknown key 'valdation'"), "\($0)")
        }
        XCTAssertThrowsError(try schema("split: {divide: {method: random, fractions: {train: 0.8, validation: 0.3}}}")) {
            XCTAssertTrue("\($0)".contains("fractions must sum to 1, got 1.1"), "\($0)")
        }
        XCTAssertNoThrow(try schema("split: {divide: {method: random, fractions: {train: 0.8, validation: 0.1, test: 0.1}}}"))
    }

    func testUnknownTrainingKeysInARunFileAreErrors() throws {
        XCTAssertThrowsError(try RunConfiguration.decode(Data("training: {epoch: 1}\n".utf8), name: "run.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("run.yaml: training: unknown key 'epoch'; known keys: epochs,"), "\($0)")
        }
        XCTAssertThrowsError(try RunConfiguration.decode(Data("training: {epochs: 0}\n".utf8), name: "run.yaml").applying(RunOverrides())) {
            XCTAssertTrue("\($0)".contains("training.epochs (--epochs) must be ≥ 1, got 0"), "\($0)")
        }
    }

    func testABrokenQuoteSkipsOnlyItsLineUnderSkip() throws {
        var text = "f,x,y\na,1,0\n\"b,2,1\n"
        for i in 0..<200 { text += "c\(i),\(i),\(i % 2)\n" }
        let reader = try CSVReader(bytes: Array(text.utf8), name: "rows.csv", badRows: .skip)
        var rows = 0
        try reader.forEachRecord { _ in rows += 1 }
        XCTAssertEqual(rows, 201, "every good row after the broken quote is read")
        XCTAssertEqual(reader.report.count, 1)
        let message = reader.report.examples.first?.description ?? ""
        XCTAssertTrue(message.hasPrefix("rows.csv:3: column 0: quoted field spans more than 64 lines"), message)
        XCTAssertTrue(message.contains("skipped 1 physical line(s)"), message)
        // An unterminated quote at the end of the file loses only its own line too.
        let tail = try CSVReader(bytes: Array("f,x,y\na,1,0\n\"b,2,1\nc,3,0".utf8), name: "rows.csv", badRows: .skip)
        var kept: [String] = []
        try tail.forEachRecord { kept.append($0.string(0)) }
        XCTAssertEqual(kept, ["a", "c"])
        // A legitimate multi-line quoted field within the bound still reads.
        let multi = try CSVReader(bytes: Array("f,x,y\n\"a\nb\",1,0\n".utf8), name: "rows.csv")
        var fields: [String] = []
        try multi.forEachRecord { fields.append($0.string(0)) }
        XCTAssertEqual(fields, ["a\nb"])
    }

    func testDivergenceStopsTrainingNamingTaskAndStep() throws {
        let data = try SyntheticRecipe(generator: .correlated, rows: 2000, seed: 1).makeData()
        var training = TrainingConfiguration()
        training.epochs = 3
        training.batchSize = 64
        training.optimizer = OptimizerConfiguration(kind: .sgd, learningRate: 50)
        let choice = RunConfiguration.ModelChoice(name: "shared-bottom", configuration: try JSONValue(data: Data(
            #"{"embeddingWidth": 4, "bottomWidths": [32], "towerWidths": [16], "batchNorm": false}"#.utf8)))
        XCTAssertThrowsError(try TrainingRun(choice: choice, training: training).run(on: data)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("training stopped: loss of task 'task"), text)
            XCTAssertTrue(text.contains("diverged to"), text)
            XCTAssertTrue(text.contains("at step"), text)
        }
    }

    func testNonFiniteWeightsAreRefusedAtScoringAndFlippedBytesAtLoading() throws {
        let recipe = SyntheticRecipe(generator: .funnel, rows: 300, seed: 2, preset: "smoke")
        var training = TrainingConfiguration()
        training.epochs = 1
        let choice = RunConfiguration.ModelChoice(name: "shared-bottom", configuration: try JSONValue(data: Data(
            #"{"embeddingWidth": 4, "bottomWidths": [8], "towerWidths": [4]}"#.utf8)))
        let trained = try TrainingRun(choice: choice, training: training).run(on: try recipe.makeData()).trained
        let checkpoint = directory.appendingPathComponent("ckpt")
        try trained.write(to: checkpoint)

        // One flipped byte in the tensor data: the digest no longer matches.
        let modelFile = checkpoint.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: modelFile)
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: modelFile)
        XCTAssertThrowsError(try TrainedModel(contentsOf: checkpoint)) {
            XCTAssertTrue("\($0)".contains("SHA-256 does not match"), "\($0)")
        }

        // NaN weights: predict stops with an error instead of writing nan.
        for parameter in trained.model.parameters { parameter.value.pointer.update(repeating: .nan, count: parameter.value.count) }
        let input = directory.appendingPathComponent("rows.csv"), output = directory.appendingPathComponent("scores.csv")
        try recipe.writeCSV(to: input)
        XCTAssertThrowsError(try trained.score(csv: input, to: output)) {
            XCTAssertTrue("\($0)".contains("weights are not finite"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }
}
