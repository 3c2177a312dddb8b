import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// Every registry model, trained briefly on the built-in funnel data, exported to ONNX: `onnx.checker` (full check)
/// accepts the file and ONNX Runtime reproduces `funnel predict`'s numbers (`TrainedModel.predictions`) on 1,000
/// rows to 1e-5 (`scripts/onnx_check.py` runs the Python side). Python comes from `FUNNEL_PYTHON` (default
/// `python3`); without onnx and onnxruntime the test skips, except under `CI=true`, where it fails.
final class ONNXExportTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private static let recipe = SyntheticRecipe(generator: .funnel, rows: 1250, seed: 5, preset: "smoke", amountLoss: "mse")

    func testEveryRegistryModelRunsInONNXRuntimeWithFunnelsNumbers() throws {
        let python = try pythonWithONNX()
        let data = try Self.recipe.makeData()
        let batch = data.train.batch(rows: Array(0..<1000))
        var cases: [(name: String, export: ONNXExport)] = []
        for name in ModelRegistry.standard.names {
            let trained = try train(name, on: data)
            do {
                let export = try ONNXExport(trained, checkpointDigest: String(repeating: "0", count: 64))
                try write(case: directory.appendingPathComponent(name), export: export, trained: trained, batch: batch)
                cases.append((name, export))
            } catch let error as ONNXExportError {
                XCTFail("\(name): \(error)")
            }
        }
        let measured = try checkInONNXRuntime(cases, in: directory, python: python, rows: 1000)
        print("| model | exported | ONNX ops | max abs diff |\n|---|---|---|---|")
        for (name, export) in cases {
            let worst = measured[name]?.values.max().map { String(format: "%.1e", $0) } ?? "-"
            print("| \(name) | yes | \(export.opTypes.joined(separator: ", ")) | \(worst) |")
        }
    }

    /// Inputs and folds the funnel data does not exercise: two multi-valued fields (mean and sum pooling, padding
    /// ids, empty bags) as padded ids plus lengths, batch norm with non-trivial running statistics folded into the
    /// preceding layer (OMoE's experts), and a log1p-standardized target inverted in the graph.
    func testMultiValuedFieldsBatchNormAndScaledTargets() throws {
        let python = try pythonWithONNX()
        let layout = FeatureLayout(vocabularySizes: [5, 7], multiValued: [MultiValuedField(vocabularySize: 6, pooling: .mean),
                                                                         MultiValuedField(vocabularySize: 4, pooling: .sum)],
                                   numericCount: 2, fieldNames: ["a", "b", "tags", "topics"])
        let tasks = [TaskSpec(name: "ctr", kind: .binary), TaskSpec(name: "amount", kind: .continuous, loss: .squaredError)]
        var rng = SeededGenerator(seed: 9)
        let model = try ModelRegistry.standard.makeModel(named: "omoe", configuration: .object(["embeddingWidth": .number(4),
                                                         "expertWidths": .array([.number(8)]), "towerWidths": .array([.number(8)])]),
                                                         features: layout, tasks: tasks, using: &rng)
        for buffer in model.buffers {
            buffer.value = buffer.name.hasSuffix("running_var") ? .uniform(buffer.value.shape, in: 0.5...2, using: &rng)
                : .normal(buffer.value.shape, std: 0.5, using: &rng)
        }
        let scalings = [TargetScaling.identity, TargetScaling(transform: .log1pStandardize, mean: 1.5, scale: 0.7)]
        let trained = TrainedModel(model: model, metadata: CheckpointMetadata(model: "omoe", configuration: model.configuration, features: layout,
                                                                              tasks: tasks, targetScalings: scalings), featureMap: nil)
        let export = try ONNXExport(trained, checkpointDigest: String(repeating: "0", count: 64))
        XCTAssertEqual(export.inputNames, ["ids", "multi_ids_0", "multi_ids_0_lengths", "multi_ids_1", "multi_ids_1_lengths", "dense"])
        XCTAssertFalse(export.opTypes.contains("BatchNormalization"))
        let rows = 1000
        let bags = layout.multiValued.map { field -> MultiValuedIDs in
            var offsets: [Int32] = [0], ids: [Int32] = []
            for _ in 0..<rows {
                for _ in 0..<Int(rng.next() % 5) { ids.append(Int32(rng.next() % UInt64(field.vocabularySize))) }
                offsets.append(Int32(ids.count))
            }
            return MultiValuedIDs(offsets: offsets, ids: ids)
        }
        let batch = Batch(count: rows, ids: (0..<rows).flatMap { _ in layout.vocabularySizes.map { Int32(rng.next() % UInt64($0)) } },
                          multiValued: bags, numeric: .normal([rows, 2], using: &rng), labels: Tensor(zeros: [rows, 2]))
        try write(case: directory.appendingPathComponent("bags"), export: export, trained: trained, batch: batch)
        let measured = try checkInONNXRuntime([("bags", export)], in: directory, python: python, rows: rows)
        print("multi-valued fields, batch norm, log1p-standardized amount: max abs diff \(measured["bags"] ?? [:])")
    }

    /// HTLNet's hard label inference takes a one-hot of each row's maximum outside the traced ops: the export fails
    /// naming the op that reads it instead of freezing one batch's one-hot into the graph.
    func testAValueComputedOutsideTheOpsFailsNamingTheOp() throws {
        let layout = FeatureLayout(vocabularySizes: [5, 7], numericCount: 2)
        let tasks = [TaskSpec(name: "ctr", kind: .binary), TaskSpec(name: "amount", kind: .continuous, loss: .squaredError)]
        var rng = SeededGenerator(seed: 2)
        let model = try ModelRegistry.standard.makeModel(named: "htlnet", configuration: .object(["embeddingWidth": .number(4),
                                                         "labelInference": .string("hard")]), features: layout, tasks: tasks, using: &rng)
        let trained = TrainedModel(model: model, metadata: CheckpointMetadata(model: "htlnet", configuration: model.configuration,
                                                                              features: layout, tasks: tasks), featureMap: nil)
        XCTAssertThrowsError(try ONNXExport(trained, checkpointDigest: "")) { error in
            guard case ONNXExportError.unsupported(let op, let detail)? = error as? ONNXExportError else { return XCTFail("\(error)") }
            XCTAssertFalse(op.isEmpty)
            XCTAssertTrue(detail.contains("computed outside the traced ops"), detail)
        }
    }

    /// One epoch on the training split: d = 4, every width at most 8, at most 3 experts.
    private func train(_ name: String, on data: ExperimentData) throws -> TrainedModel {
        guard case .object(var configuration) = try ModelRegistry.standard.entry(named: name).defaultConfiguration else {
            throw XCTSkip("\(name) has no configuration object")
        }
        func small(_ value: JSONValue) -> JSONValue {
            if case .number(let n) = value { return .number(min(n, 8)) }
            if case .array(let items) = value { return .array(items.map(small)) }
            return value
        }
        for key in configuration.keys where key.hasSuffix("Widths") || key.hasSuffix("DimsPerLevel") { configuration[key] = small(configuration[key]!) }
        if configuration["experts"] != nil { configuration["experts"] = .number(3) }
        configuration["embeddingWidth"] = .number(4)
        var training = TrainingConfiguration()
        training.epochs = 1
        training.batchSize = 256
        training.seed = 1
        let choice = RunConfiguration.ModelChoice(name: name, configuration: .object(configuration))
        return try TrainingRun(choice: choice, training: training).run(on: data).trained
    }
}
