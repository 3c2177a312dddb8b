import Foundation
import FunnelCore
import FunnelData
import FunnelTrain
import XCTest

/// The ONNX Runtime side of the export tests: one directory per case (`model.onnx`, `inputs/*.npy`,
/// `expected/*.npy`) checked by `scripts/onnx_check.py`.
extension XCTestCase {
    /// `model.onnx`, the graph inputs of `batch` and Funnel's predictions of every output, as `.npy` files.
    func write(case caseDirectory: URL, export: ONNXExport, trained: TrainedModel, batch: Batch) throws {
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

    /// Checks every case directory under `directory` with ONNX Runtime; returns each case's outputs' maximum absolute
    /// differences from Funnel, after asserting that the file passed the checker, ran on `rows` rows and every
    /// output is within 1e-5.
    func checkInONNXRuntime(_ cases: [(name: String, export: ONNXExport)], in directory: URL, python: String,
                            rows: Int) throws -> [String: [String: Double]] {
        let report = try run(python, [script()] + cases.map { directory.appendingPathComponent($0.name).path })
        var measured: [String: [String: Double]] = [:]
        for (name, export) in cases {
            guard let result = report[name] as? [String: Any] else { XCTFail("\(name): no result"); continue }
            if let error = result["error"] as? String { XCTFail("\(name): \(error)"); continue }
            let diffs = try XCTUnwrap(result["max_abs_diff"] as? [String: Double], name)
            XCTAssertEqual(Set(diffs.keys), Set(export.outputNames), name)
            XCTAssertEqual(result["rows"] as? Int, rows, name)
            for (output, diff) in diffs { XCTAssertLessThanOrEqual(diff, 1e-5, "\(name): output \(output)") }
            measured[name] = diffs
        }
        return measured
    }

    private func script() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/onnx_check.py").path
    }

    /// The Python interpreter with onnx and onnxruntime; skips (fails under `CI=true`) when there is none.
    func pythonWithONNX() throws -> String {
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
