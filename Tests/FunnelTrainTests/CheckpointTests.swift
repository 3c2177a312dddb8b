import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport
import FunnelData
import FunnelModels
import FunnelNN
@testable import FunnelTrain

/// Checkpoints: safetensors byte layout and Python interoperability, bit-identical round trips of a model with
/// its optimizer (training resumes identically), clear errors, and atomic replacement.
final class CheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let tasks = [TaskSpec(name: "ctr", kind: .binary), TaskSpec(name: "ctcvr", kind: .binary)]
    private let layout = FeatureLayout(vocabularySizes: [5, 7], numericCount: 2)

    private func makeModel(seed: UInt64, experts: Int = 2) -> MMoE {
        var rng = SeededGenerator(seed: seed)
        return MMoE(configuration: configured(MMoE.Configuration()) {
            $0.embeddingWidth = 4
            $0.experts = experts
            $0.expertWidths = [6]
            $0.towerWidths = [4]
        },
                    features: layout, tasks: tasks, using: &rng)
    }

    private let batch: Batch = {
        var rng = SeededGenerator(seed: 3)
        return Batch(count: 6, ids: [0, 1, 2, 3, 4, 6, 1, 1, 0, 5, 3, 2], numeric: Tensor.uniform([6, 2], in: -1...1, using: &rng),
                     labels: Tensor(shape: [6, 2], values: [1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]))
    }()

    private func trainStep(_ model: MMoE, _ optimizer: Optimizer) {
        let tape = Tape()
        let losses = taskLosses(model(batch, ForwardContext(tape: tape, mode: .training)), batch: batch, tasks: tasks)
        _ = FixedWeights(tasks: tasks).backward(BalancingInput(tape: tape, losses: losses, parameters: model.parameters,
                                                               sharedParameters: model.sharedParameters))
        optimizer.step(model.parameters)
    }

    private func metadata(_ model: MMoE, step: Int) throws -> CheckpointMetadata {
        var rng = SeededGenerator(seed: 77)
        _ = rng.next()
        return CheckpointMetadata(model: "MMoE", configuration: try JSONValue(encoding: model.configuration), features: layout,
                                  tasks: tasks, targetScalings: [.identity, TargetScaling(transform: .log1p, clip: 9.5)],
                                  featureMap: .object(["user": .array([.string("a"), .number(3)])]),
                                  balancing: .pcGradDefault, balancerState: PCGrad(weights: [1, 1], seed: 8).state, metrics: ["validation.ctr.auc": 0.71234567891], epoch: 2,
                                  step: step, generatorState: rng.state)
    }

    // MARK: Round trip

    func testModelAndOptimizerRoundTripBitIdenticallyAndTrainingResumesIdentically() throws {
        let model = makeModel(seed: 1)
        let adam = Adam(learningRate: 0.01)
        for _ in 0..<2 { trainStep(model, adam) }
        let saved = Checkpoint(model: model, metadata: try metadata(model, step: adam.stepCount), optimizer: adam)
        let url = directory.appendingPathComponent("run/best")
        try saved.write(to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.path).sorted(),
                       ["checkpoint.json", "model.safetensors", "optimizer.safetensors"])

        let loaded = try Checkpoint.read(from: url)
        // Writing adds the digests of the tensor files (verified on read); everything else round-trips unchanged.
        XCTAssertEqual(loaded.metadata.digests.map { $0.keys.sorted() }, ["model.safetensors", "optimizer.safetensors"])
        var expected = saved.metadata
        expected.digests = loaded.metadata.digests
        XCTAssertEqual(loaded.metadata, expected)
        XCTAssertEqual(loaded.optimizer, saved.optimizer)
        XCTAssertEqual(Set(loaded.tensors.keys), Set((model.parameters + model.buffers).map(\.name)))
        XCTAssertTrue(model.buffers.contains { $0.name.hasSuffix("running_mean") }, "buffers (batch-norm statistics) are saved")
        for (name, tensor) in saved.tensors {
            XCTAssertEqual(loaded.tensors[name]!.scalars.map(\.bitPattern), tensor.scalars.map(\.bitPattern), name)
        }
        XCTAssertEqual(try loaded.metadata.configuration.decode(as: MMoE.Configuration.self).experts, 2)
        var resumed = SeededGenerator(state: try XCTUnwrap(loaded.metadata.generatorState))
        var original = SeededGenerator(seed: 77)
        _ = original.next()
        XCTAssertEqual(resumed.next(), original.next(), "the generator continues its stream")

        // A differently initialised model and a fresh optimizer, restored, train exactly like the original.
        let restored = makeModel(seed: 2), restoredAdam = Adam(learningRate: 0.01)
        try loaded.restore(into: restored)
        try loaded.restoreOptimizer(restoredAdam, parameters: restored.parameters)
        XCTAssertEqual(restoredAdam.stepCount, 2)
        trainStep(model, adam)
        trainStep(restored, restoredAdam)
        for (a, b) in zip(model.parameters + model.buffers, restored.parameters + restored.buffers) {
            XCTAssertEqual(a.value.scalars.map(\.bitPattern), b.value.scalars.map(\.bitPattern), a.name)
        }
    }

    func testSafetensorsByteLayout() throws {
        let tensors = ["b.weight": Tensor(shape: [2, 3], values: [1, -2, 3.5, -0, .infinity, Float(bitPattern: 0x0001_2345)]),  // last: a subnormal
                       "a.bias": Tensor(shape: [2], values: [.pi, -1]), "scalar": Tensor(scalar: 7)]
        let data = try SafeTensors.encode(tensors, metadata: ["format": "pt"])
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
        XCTAssertEqual(data.count, 8 + headerLength + 4 * (6 + 2 + 1))
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        XCTAssertEqual(header["__metadata__"] as? [String: String], ["format": "pt"])
        var expectedOffset = 0
        for name in ["a.bias", "b.weight", "scalar"] {  // sorted by name, contiguous
            let entry = try XCTUnwrap(header[name] as? [String: Any])
            XCTAssertEqual(entry["dtype"] as? String, "F32")
            XCTAssertEqual(entry["shape"] as? [Int], tensors[name]!.shape)
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            XCTAssertEqual(offsets, [expectedOffset, expectedOffset + 4 * tensors[name]!.count])
            for (i, value) in tensors[name]!.scalars.enumerated() {
                let at = 8 + headerLength + offsets[0] + 4 * i
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[at + $1]) << (8 * UInt32($1)) }
                XCTAssertEqual(bits, value.bitPattern, "\(name)[\(i)] little-endian")
            }
            expectedOffset = offsets[1]
        }
        let decoded = try SafeTensors.decode(data)
        XCTAssertEqual(decoded.metadata, ["format": "pt"])
        XCTAssertEqual(decoded.tensors["b.weight"]!.scalars.map(\.bitPattern), tensors["b.weight"]!.scalars.map(\.bitPattern))
        XCTAssertEqual(decoded.tensors["scalar"]!.shape, [])
    }

    func testPythonSafetensorsReadsAndWritesTheSameFormat() throws {
        let python = "/usr/bin/env"
        guard FileManager.default.isExecutableFile(atPath: python),
              run(python, ["python3", "-c", "import safetensors, numpy"]).status == 0 else {
            throw XCTSkip("python3 with the safetensors and numpy packages is not available")
        }
        let tensors = ["layer.weight": Tensor(shape: [2, 2], values: [0.1, -2.5, 3e-8, 1e30]), "layer.bias": Tensor(shape: [3], values: [1, 2, 3])]
        let swiftFile = directory.appendingPathComponent("swift.safetensors")
        try SafeTensors.encode(tensors, metadata: ["format": "pt"]).write(to: swiftFile)
        let read = run(python, ["python3", "-c", """
            from safetensors.numpy import load_file
            from safetensors import safe_open
            t = load_file('\(swiftFile.path)')
            print(safe_open('\(swiftFile.path)', 'np').metadata()['format'])
            for k in sorted(t): print(k, t[k].dtype, list(t[k].shape), ' '.join(str(v) for v in t[k].ravel().view('<u4')))
            """])
        XCTAssertEqual(read.status, 0, read.output)
        XCTAssertEqual(read.output.split(separator: "\n").map(String.init), [
            "pt",
            "layer.bias float32 [3] \(bits(tensors["layer.bias"]!))",
            "layer.weight float32 [2, 2] \(bits(tensors["layer.weight"]!))",
        ])
        // And the other way: a file written by Python (its own header layout and padding) reads back exactly.
        let pythonFile = directory.appendingPathComponent("python.safetensors")
        let write = run(python, ["python3", "-c", """
            import numpy as np
            from safetensors.numpy import save_file
            save_file({'z': np.arange(6, dtype=np.float32).reshape(2, 3) / 7, 'a': np.array([-1.5], dtype=np.float32)}, '\(pythonFile.path)', metadata={'k': 'v'})
            """])
        XCTAssertEqual(write.status, 0, write.output)
        let decoded = try SafeTensors.decode(Data(contentsOf: pythonFile))
        XCTAssertEqual(decoded.metadata, ["k": "v"])
        XCTAssertEqual(decoded.tensors["z"]!.shape, [2, 3])
        XCTAssertEqual(decoded.tensors["z"]!.scalars, (0..<6).map { Float($0) / 7 })
        XCTAssertEqual(decoded.tensors["a"]!.scalars, [-1.5])
    }

    // MARK: Errors

    func testTruncatedAndMalformedFilesGiveClearErrors() throws {
        let data = try SafeTensors.encode(["w": Tensor(shape: [4], values: [1, 2, 3, 4])])
        XCTAssertThrowsError(try SafeTensors.decode(data.prefix(data.count - 3), file: "m.safetensors")) { error in
            guard case CheckpointError.truncated(let file, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "m.safetensors")
            XCTAssertTrue(detail.contains("16 bytes of tensor data expected, 13 present"), detail)
        }
        XCTAssertThrowsError(try SafeTensors.decode(data.prefix(20))) {
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensors.decode(data.prefix(5))) { XCTAssertTrue("\($0)".contains("no header length")) }
        var garbage = data
        garbage[8] = UInt8(ascii: "x")
        XCTAssertThrowsError(try SafeTensors.decode(garbage)) { XCTAssertTrue("\($0)".contains("not JSON"), "\($0)") }
        let f16 = Data(#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#.utf8)
        let half = withUnsafeBytes(of: UInt64(f16.count).littleEndian) { Data($0) } + f16 + Data(count: 4)
        XCTAssertThrowsError(try SafeTensors.decode(half, file: "h")) {
            XCTAssertEqual($0 as? CheckpointError, .unsupportedDType(file: "h", tensor: "w", dtype: "F16"))
        }
        // A checkpoint directory whose model file was cut short.
        let model = makeModel(seed: 1)
        let url = directory.appendingPathComponent("cut")
        try Checkpoint(model: model, metadata: try metadata(model, step: 0)).write(to: url)
        let file = url.appendingPathComponent("model.safetensors")
        let full = try Data(contentsOf: file)
        try full.prefix(full.count / 2).write(to: file)
        // The digest in checkpoint.json catches the cut before the tensor file is parsed.
        XCTAssertThrowsError(try Checkpoint.read(from: url)) { XCTAssertTrue("\($0)".contains("SHA-256 does not match"), "\($0)") }
    }

    func testRestoreChecksNamesAndShapesWithoutPartialLoads() throws {
        let model = makeModel(seed: 1)
        let checkpoint = Checkpoint(model: model, metadata: try metadata(model, step: 0))
        let bigger = makeModel(seed: 5, experts: 3)
        let before = bigger.parameters.map(\.value.scalars)
        XCTAssertThrowsError(try checkpoint.restore(into: bigger)) { error in
            XCTAssertEqual(error as? CheckpointError, .missingTensor(name: "experts.2.linears.0.bias"))
            XCTAssertEqual("\(error)", "checkpoint has no tensor 'experts.2.linears.0.bias' that the model needs")
        }
        XCTAssertEqual(bigger.parameters.map(\.value.scalars), before, "nothing is copied when the check fails")
        var reshaped = checkpoint
        let gate = try XCTUnwrap(model.parameters.first { $0.name == "gates.0.weight" })
        reshaped.tensors[gate.name] = Tensor(zeros: [3, gate.value.shape[1]])
        XCTAssertThrowsError(try reshaped.restore(into: makeModel(seed: 9))) { error in
            XCTAssertEqual("\(error)", "tensor 'gates.0.weight': shape [3, \(gate.value.shape[1])] in the checkpoint, "
                           + "\(gate.value.shape) in the model")
        }
        var extra = checkpoint
        extra.tensors["stray"] = Tensor(scalar: 1)
        XCTAssertThrowsError(try extra.restore(into: makeModel(seed: 9))) {
            XCTAssertEqual($0 as? CheckpointError, .unexpectedTensor(name: "stray"))
        }
        XCTAssertNoThrow(try extra.restore(into: makeModel(seed: 9), strict: false))
        // Optimizer state of another kind or another model.
        let adam = Adam()
        trainStep(model, adam)
        let withState = Checkpoint(model: model, metadata: try metadata(model, step: 1), optimizer: adam)
        XCTAssertThrowsError(try withState.restoreOptimizer(SGD(learningRate: 0.1), parameters: model.parameters)) {
            XCTAssertEqual($0 as? OptimizerRestoreError, .wrongKind(expected: "SGD", found: "Adam"))
        }
        XCTAssertThrowsError(try withState.restoreOptimizer(Adam(), parameters: Array(model.parameters.dropFirst()))) {
            XCTAssertEqual($0 as? OptimizerRestoreError, .unknownTensor("embedding.weight.exp_avg"))
        }
    }

    // MARK: Atomicity

    func testInterruptedWriteLeavesThePreviousCheckpointIntact() throws {
        let model = makeModel(seed: 1)
        let url = directory.appendingPathComponent("last")
        try Checkpoint(model: model, metadata: try metadata(model, step: 1)).write(to: url)
        let first = try Checkpoint.read(from: url)

        // A crash after staging the next checkpoint, before the rename.
        trainStep(model, SGD(learningRate: 0.5))
        let staged = try Checkpoint(model: model, metadata: try metadata(model, step: 2)).stage(at: url)
        XCTAssertTrue(FileManager.default.fileExists(atPath: staged.temporaryDirectory.path))
        let afterCrash = try Checkpoint.read(from: url)
        XCTAssertEqual(afterCrash.metadata.step, 1)
        for (name, tensor) in first.tensors { XCTAssertEqual(afterCrash.tensors[name]!.scalars, tensor.scalars, name) }
        XCTAssertNotEqual(model.parameters[0].value.scalars, first.tensors[model.parameters[0].name]!.scalars)

        // The next write replaces it atomically and removes the stale temporary.
        try Checkpoint(model: model, metadata: try metadata(model, step: 3)).write(to: url)
        XCTAssertEqual(try Checkpoint.read(from: url).metadata.step, 3)
        XCTAssertEqual(try Checkpoint.read(from: url).tensors[model.parameters[0].name]!.scalars, model.parameters[0].value.scalars)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["last"],
                       "no temporary or previous directories remain")
    }

    // MARK: Helpers

    private func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The bit patterns of a tensor's elements, as Python prints them (`view('<u4')`).
    private func bits(_ tensor: Tensor) -> String { tensor.scalars.map { "\($0.bitPattern)" }.joined(separator: " ") }
}
