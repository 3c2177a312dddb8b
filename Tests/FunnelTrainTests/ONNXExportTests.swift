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
        let report = try run(python, [script()] + cases.map { directory.appendingPathComponent($0.name).path })
        print("| model | exported | ONNX ops | max abs diff |\n|---|---|---|---|")
        for (name, export) in cases {
            guard let result = report[name] as? [String: Any] else { XCTFail("\(name): no result"); continue }
            if let error = result["error"] as? String { XCTFail("\(name): \(error)"); continue }
            let diffs = try XCTUnwrap(result["max_abs_diff"] as? [String: Double], name)
            XCTAssertEqual(Set(diffs.keys), Set(export.outputNames), name)
            XCTAssertEqual(result["rows"] as? Int, 1000, name)
            for (output, diff) in diffs { XCTAssertLessThanOrEqual(diff, 1e-5, "\(name): output \(output)") }
            let worst = diffs.values.max() ?? 0
            print("| \(name) | yes | \(export.opTypes.joined(separator: ", ")) | \(String(format: "%.1e", worst)) |")
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

    /// `model.onnx`, the graph inputs of `batch` and Funnel's predictions of every output, as `.npy` files.
    private func write(case caseDirectory: URL, export: ONNXExport, trained: TrainedModel, batch: Batch) throws {
        for sub in ["inputs", "expected"] {
            try FileManager.default.createDirectory(at: caseDirectory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try export.write(to: caseDirectory.appendingPathComponent("model.onnx"))
        let rows = batch.count
        var inputs: [String: Data] = [:]
        let fields = trained.metadata.features.vocabularySizes.count
        if fields > 0 { inputs["ids"] = NumPyExport.array(batch.ids.map(Int64.init), descriptor: "<i8", shape: [rows, fields]) }
        for (k, bag) in batch.multiValued.enumerated() {
            let lengths = (0..<rows).map { Int64(bag.offsets[$0 + 1] - bag.offsets[$0]) }
            let width = max(lengths.max() ?? 0, 1)
            var padded = [Int64](repeating: 0, count: rows * Int(width))
            for r in 0..<rows { for (j, p) in (Int(bag.offsets[r])..<Int(bag.offsets[r + 1])).enumerated() { padded[r * Int(width) + j] = Int64(bag.ids[p]) } }
            inputs["multi_ids_\(k)"] = NumPyExport.array(padded, descriptor: "<i8", shape: [rows, Int(width)])
            inputs["multi_ids_\(k)_lengths"] = NumPyExport.array(lengths, descriptor: "<i8", shape: [rows])
        }
        if let numeric = batch.numeric { inputs["dense"] = NumPyExport.array(numeric.scalars, descriptor: "<f4", shape: numeric.shape) }
        XCTAssertEqual(Set(inputs.keys), Set(export.inputNames))
        var expected: [String: [Float]] = [:]
        for (task, values) in zip(trained.tasks, trained.predictions(batch)) { expected[task.name] = values }
        for (key, extra) in trained.model(batch, .inference()).extras where expected[key] == nil { expected[key] = extra.value.scalars }
        for (name, data) in inputs { try data.write(to: caseDirectory.appendingPathComponent("inputs/\(name).npy")) }
        for (name, values) in expected {
            try NumPyExport.array(values, descriptor: "<f4", shape: [rows]).write(to: caseDirectory.appendingPathComponent("expected/\(name).npy"))
        }
    }

    private func script() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/onnx_check.py").path
    }

    /// The Python interpreter with onnx and onnxruntime; skips (fails under `CI=true`) when there is none.
    private func pythonWithONNX() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let python = environment["FUNNEL_PYTHON"] ?? "python3"
        let available = (try? run(python, ["-c", "import onnx, onnxruntime, numpy; print('{}')"])) != nil
        if available { return python }
        let reason = "\(python) cannot import onnx, onnxruntime and numpy (set FUNNEL_PYTHON; .ci/run installs them)"
        if environment["CI"] == "true" { XCTFail(reason); throw XCTSkip("failed: \(reason)") }
        print("ONNXExportTests skipped: \(reason)")
        throw XCTSkip(reason)
    }

    /// Runs `executable arguments` and parses its standard output as one JSON object.
    private func run(_ executable: String, _ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(executable) exited with \(process.terminationStatus)"])
        }
        return object
    }
}
