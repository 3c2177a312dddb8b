import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// `funnel train` → checkpoint → `funnel predict` / `funnel eval`, end to end on small synthetic data: a reloaded
/// checkpoint (rebuilt through the registry) predicts bit-identically to the model in memory, scoring raw CSV rows
/// equals scoring the encoded table, and evaluation with the saved feature map reproduces the training run's
/// test metrics.
final class TrainedModelTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-trained-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A small shared-bottom model, one epoch.
    private func run(on data: ExperimentData, seed: UInt64 = 3) throws -> TrainingRun.Outcome {
        var training = TrainingConfiguration()
        training.epochs = 1
        training.batchSize = 128
        training.seed = seed
        let choice = RunConfiguration.ModelChoice(name: "shared-bottom", configuration: try JSONValue(data: Data(
            #"{"embeddingWidth": 4, "bottomWidths": [16], "towerWidths": [8]}"#.utf8)))
        return try TrainingRun(choice: choice, training: training).run(on: data)
    }

    private static let recipe = SyntheticRecipe(generator: .funnel, rows: 800, seed: 5, preset: "smoke")

    func testReloadedCheckpointPredictsBitIdentically() throws {
        let data = try Self.recipe.makeData()
        let outcome = try run(on: data)
        let checkpoint = directory.appendingPathComponent("model")
        try outcome.trained.write(to: checkpoint)
        let reloaded = try TrainedModel(contentsOf: checkpoint)

        XCTAssertEqual(reloaded.metadata.model, "shared-bottom")
        XCTAssertEqual(reloaded.model.configuration, outcome.trained.model.configuration)
        XCTAssertEqual(reloaded.metadata.targetScalings, outcome.trained.metadata.targetScalings)
        XCTAssertEqual(reloaded.metadata.synthetic, Self.recipe)
        XCTAssertEqual(reloaded.metadata.metrics["test.ctr.auc"], outcome.test.metrics["ctr"]?["auc"])
        let expected = outcome.trained.predictions(on: data.test, batchSize: 64)
        let actual = reloaded.predictions(on: data.test, batchSize: 64)
        XCTAssertEqual(actual.count, 3)
        for t in 0..<3 {
            XCTAssertEqual(actual[t].count, data.test.rowCount)
            XCTAssertEqual(actual[t].map(\.bitPattern), expected[t].map(\.bitPattern), "task \(t)")
        }
        // Another model of the same architecture with a different seed predicts differently: the weights came from the file.
        let other = try run(on: data, seed: 4).trained.predictions(on: data.test, batchSize: 64)
        XCTAssertNotEqual(other[0], expected[0])
        // Evaluating the reloaded model on the regenerated test split reproduces the run's test metrics.
        let table = try reloaded.table(.test, of: DataSpecification(synthetic: Self.recipe))
        XCTAssertEqual(try reloaded.evaluate(on: table).metrics, outcome.test.metrics)
    }

    func testScoringSyntheticCSVEqualsScoringTheTable() throws {
        let outcome = try run(on: try Self.recipe.makeData())
        let csv = directory.appendingPathComponent("rows.csv"), scores = directory.appendingPathComponent("scores.csv")
        try Self.recipe.writeCSV(to: csv, groundTruth: true)
        let rows = try outcome.trained.score(csv: csv, to: scores, batchSize: 100, passThrough: ["click"])
        XCTAssertEqual(rows, 800)

        let table = try FunnelDataset(configuration: try Self.recipe.funnelConfiguration(), seed: 5).table
        let expected = outcome.trained.predictions(on: table, batchSize: 100)
        let lines = try String(contentsOf: scores, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(lines[0], ["click", "ctr", "cvr", "amount"])
        XCTAssertEqual(lines.count, 801)
        for (r, line) in lines.dropFirst().enumerated() {
            XCTAssertEqual(line[0], String(Int(table.labels[r * 3])), "row \(r): passed-through click")
            for t in 0..<3 { XCTAssertEqual(Float(line[t + 1]), expected[t][r], "row \(r) task \(t)") }
        }
    }

    func testScoringSchemaCSVEqualsScoringTheEncodedTable() throws {
        let csv = directory.appendingPathComponent("funnel.csv")
        let generator = try FunnelDataset(configuration: try Self.recipe.funnelConfiguration(), seed: 5)
        let schema = try generator.writeCSVWithSchema(to: csv)
        let specification = DataSpecification(schema: schema.path)
        let data = try specification.load()
        XCTAssertNotNil(data.featureMap)
        let outcome = try run(on: data)
        let checkpoint = directory.appendingPathComponent("model")
        try outcome.trained.write(to: checkpoint)
        let reloaded = try TrainedModel(contentsOf: checkpoint)
        XCTAssertNotNil(reloaded.featureMap, "the feature map travels inline in checkpoint.json")

        // Raw CSV rows through encodeRow (the serving path) vs. the batch-encoded table of the same file.
        let scores = directory.appendingPathComponent("scores.csv")
        XCTAssertEqual(try reloaded.score(csv: csv, to: scores, batchSize: 128), 800)
        let table = try reloaded.featureMap!.encode(files: [csv]).table
        let expected = reloaded.predictions(on: table, batchSize: 128)
        let lines = try String(contentsOf: scores, encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(lines.count, 800)
        for (r, line) in lines.enumerated() {
            let values = line.split(separator: ",").map { Float(String($0))! }
            XCTAssertEqual(values, (0..<3).map { expected[$0][r] }, "row \(r)")
        }
        // The test split read again with the saved map (no refit) gives the run's test metrics.
        XCTAssertEqual(try reloaded.evaluate(on: try reloaded.table(.test, of: specification)).metrics, outcome.test.metrics)
    }

    func testCheckpointOfSyntheticDataRefusesOtherData() throws {
        let outcome = try run(on: try Self.recipe.makeData())
        let other = SyntheticRecipe(generator: .correlated, rows: 200, seed: 1)
        XCTAssertThrowsError(try outcome.trained.table(.test, of: DataSpecification(synthetic: other)))
    }
}
