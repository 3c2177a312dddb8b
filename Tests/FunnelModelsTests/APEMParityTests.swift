import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
@testable import FunnelModels
import FunnelNN
import FunnelTrain

/// PyTorch parity of APEM-reconstruction (`bench/torch_models.py` `APEMReconstruction`) on two fixtures written by
/// `scripts/make_apem_fixtures.py`: `apem.json` (the default structure at small size: ISAB with 2 inducing points,
/// 2 DGT blocks, sigmoid SE after attention, adaptive indicators on the flattened DGT output) and
/// `apem_variant.json` (full set attention, ReLU SE before attention, pooled adaptive source, one task-specific
/// pattern per task, calibrator β = 0.6 in the loss). Both: vocabularies [5, 7, 3], 4 numeric features, d = 4,
/// H = 2, 3 patterns MLP(16, [8, 6], BN), towers MLP(6, [4], BN) + output, 2 binary tasks, batch 16, dropout 0.
///
/// Checked: a training-mode forward (logits, selection weights α_t, SE field weights, inducing-point attention,
/// loss, batch-norm running statistics), then one `TrainingStep` with Adam(lr 0.01) (loss, every gradient,
/// running statistics, every updated parameter), then the evaluation-mode logits. The treatment of the biases
/// feeding a batch norm (exact gradient 0, so float32 noise) is that of `MMoEParityTests`.
///
/// ## Gradient tolerance: floor 3·RMS
/// The DGT stacks two attention blocks with four layer norms and a sigmoid SE; its gradients are sums with more
/// cancellation than MMoE's. A float64 recomputation of `apem.json` (the PyTorch twin in double precision from the
/// fixture's inputs and parameters) puts PyTorch's float32 gradients within 1.22e-5·RMS of the exact values
/// (worst: `dgt.blocks.1.se.reduce.weight`) and Funnel's within 1.35e-5·RMS (worst:
/// `dgt.blocks.1.attention.to_fields.norm2.bias`); every other tensor of both fixtures is within 7.7e-6·RMS for
/// both. Two implementations each that close to exact can differ by up to ~2.6e-5·RMS (seen: 1.75e-5·RMS), so
/// gradients are compared with the floor `3·RMS(b)`: elements larger than 3·RMS are held to 1e-5 relative, smaller
/// ones to 3e-5·RMS absolute.
///
/// ## Adam on near-zero gradient elements
/// Adam's first step moves an element by `lr·g/(|g| + ε)`, so where |g| is within a few orders of its float32
/// uncertainty the step is set by rounding noise (apem.json `selector.key.weight[25]`: g = 6.5e-8 against an
/// RMS of 5.6e-3; PyTorch's step 0.866·lr, Funnel's 0.882·lr from g = 7.5e-8). Elements with
/// |g_PyTorch| < 1e-3·RMS(g) are therefore checked against the Adam rule on Funnel's own gradient (and PyTorch's
/// step must stay below lr); all others against PyTorch.
final class APEMParityTests: XCTestCase {
    static let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "conversion", kind: .binary, parent: "click")]

    static func configuration(_ fixture: ParityFixture) -> APEMReconstruction.Configuration {
        let c = fixture.config
        var configuration = APEMReconstruction.Configuration()
        configuration.embeddingWidth = c["d"] as! Int
        configuration.heads = c["heads"] as! Int
        configuration.useDGT = c["use_dgt"] as! Bool
        configuration.attention = .init(rawValue: c["attention"] as! String)!
        configuration.inducingPoints = c["inducing_points"] as? Int ?? 4
        configuration.dgtLayers = c["layers"] as! Int
        configuration.useSE = c["use_se"] as! Bool
        configuration.seActivation = .init(rawValue: c["se_activation"] as! String)!
        configuration.sePlacement = .init(rawValue: c["se_placement"] as! String)!
        configuration.numPatterns = c["n_patterns"] as! Int
        configuration.patternWidths = c["pattern_dims"] as! [Int]
        configuration.patternSharing = .init(rawValue: c["sharing"] as! String)!
        configuration.taskSpecificPatterns = c["task_specific"] as? Int ?? 2
        configuration.patternSelector = .init(rawValue: c["selector"] as! String)!
        configuration.adaptiveSource = .init(rawValue: c["adaptive_source"] as! String)!
        configuration.towerWidths = c["tower_dims"] as! [Int]
        configuration.batchNorm = c["batch_norm"] as! Bool
        configuration.dropout = Float(c["dropout"] as! Double)
        configuration.calibratorWeight = Float(c["calibrator_weight"] as! Double)
        return configuration
    }

    private func makeModel(_ fixture: ParityFixture) throws -> APEMReconstruction {
        var rng = SeededGenerator(seed: 3)
        let model = APEMReconstruction(configuration: Self.configuration(fixture), features: FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4),
                                       tasks: Self.tasks, using: &rng)
        let expected = Set(fixture.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.map(\.name)), expected, "parameter names must be the state_dict keys")
        XCTAssertEqual(model.parameters.count, expected.count, "no duplicate names")
        XCTAssertEqual(Set(model.buffers.map(\.name)), Set(fixture.names.filter { $0.hasPrefix("after.") }.map { String($0.dropFirst(6)) }))
        for parameter in model.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, parameter.name)
            parameter.value = value
        }
        return model
    }

    private func makeBatch(_ fixture: ParityFixture) throws -> Batch {
        let ids = try fixture.doubles("x_cat").map { Int32(exactly: $0)! }
        return Batch(count: 16, ids: ids, numeric: try fixture.tensor("x_dense"), labels: try fixture.tensor("y"))
    }

    private func stacked(_ heads: [TaskHead]) -> Tensor {
        let logits = heads.map(\.logit)
        let rows = logits[0].shape[0]
        return Tensor(shape: [rows, logits.count], values: (0..<rows).flatMap { i in logits.map { $0.value.pointer[i] } })
    }

    private func checkFixture(_ name: String) throws {
        let fixture = try ParityFixture(name, area: "models")
        let model = try makeModel(fixture)
        let batch = try makeBatch(fixture)
        let initialBuffers = model.buffers.map { $0.value.copy() }
        let initialParameters = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0.value.copy()) })
        let calibrated = model.configuration.calibratorWeight > 0

        // Training-mode forward without a tape: outputs and everything the model exposes for inspection.
        let trace = model.forward(batch, ForwardContext(tape: nil, mode: .training))
        assertParity(stacked(trace.output.heads), try fixture.tensor("logits"), "\(name) logits")
        for (t, weights) in trace.selectionWeights.enumerated() {
            assertParity(weights, try fixture.tensor("selection.\(t)"), "\(name) selection.\(t)")
        }
        XCTAssertEqual(trace.fieldWeights.count, fixture.names.filter { $0.hasPrefix("se.") }.count)
        for (l, weights) in trace.fieldWeights.enumerated() { assertParity(weights, try fixture.tensor("se.\(l)"), "\(name) se.\(l)") }
        XCTAssertEqual(trace.groupAttention.count, fixture.names.filter { $0.hasPrefix("groups.") }.count)
        for (l, attention) in trace.groupAttention.enumerated() {
            assertParity(attention, try fixture.tensor("groups.\(l)"), "\(name) groups.\(l)")
        }
        var forwardLoss = trace.output.heads.enumerated().reduce(Float(0)) { total, head in
            total + Variable.binaryCrossEntropy(logits: head.element.logit, targets: batch.labels(ofTask: head.offset)).value.scalar
        }
        if calibrated {
            let auxiliary = try XCTUnwrap(trace.output.auxiliaryLoss, "the calibrator is on in training mode")
            assertParity(auxiliary.value.scalar, try fixture.tensor("calibrator.0").scalar, "\(name) calibrator")
            forwardLoss += auxiliary.value.scalar
        } else {
            XCTAssertNil(trace.output.auxiliaryLoss)
        }
        assertParity(forwardLoss, try fixture.tensor("loss").scalar, "\(name) loss (forward)")
        for buffer in model.buffers {
            assertParity(buffer.value, try fixture.tensor("after." + buffer.name), "\(name) after.\(buffer.name) (forward)")
        }
        for (buffer, initial) in zip(model.buffers, initialBuffers) { buffer.value = initial.copy() }

        // One training step.
        let step = TrainingStep(model: model, tasks: Self.tasks, optimizer: Adam(learningRate: 0.01))
        var rng = SeededGenerator(seed: 0)
        let losses = try step(batch, rng: &rng).losses
        let calibrator = calibrated ? try fixture.tensor("calibrator.0").scalar : 0
        assertParity(losses.reduce(0, +) + calibrator, try fixture.tensor("loss").scalar, "\(name) loss (TrainingStep)")
        for parameter in model.parameters {
            guard let grad = parameter.grad else { XCTFail("\(name): no gradient for \(parameter.name)"); continue }
            let expected = try fixture.tensor("grad." + parameter.name)
            let floor = MMoEParityTestsSupport.isBiasBeforeBatchNorm(parameter.name)
                ? rootMeanSquare(try fixture.tensor("grad." + parameter.name.dropLast("bias".count) + "weight"))
                : 3 * defaultParityFloor(expected)
            assertParity(grad, expected, "\(name) grad.\(parameter.name)", floor: floor)
        }
        for buffer in model.buffers {
            assertParity(buffer.value, try fixture.tensor("after." + buffer.name), "\(name) after.\(buffer.name) (step)")
        }
        for parameter in model.parameters {
            let expected = try fixture.tensor("adam." + parameter.name)
            if MMoEParityTestsSupport.isBiasBeforeBatchNorm(parameter.name) {
                checkNoiseDrivenAdamStep(parameter, initial: initialParameters[parameter.name]!, pytorch: expected, learningRate: 0.01)
            } else {
                try assertAdamStep(parameter, initial: initialParameters[parameter.name]!, pytorch: expected,
                                   pytorchGradient: try fixture.tensor("grad." + parameter.name), "\(name) adam.\(parameter.name)")
            }
        }

        // Evaluation after the step, with PyTorch's values of the noise-driven biases.
        for parameter in model.parameters where MMoEParityTestsSupport.isBiasBeforeBatchNorm(parameter.name) {
            parameter.value = try fixture.tensor("adam." + parameter.name)
        }
        let evaluation = model(batch, .inference())
        XCTAssertNil(evaluation.auxiliaryLoss, "the calibrator is a training-mode term")
        assertParity(stacked(evaluation.heads), try fixture.tensor("eval_logits"), "\(name) eval_logits")
    }

    /// Parity of one Adam step, with noise-driven elements (|g| < 1e-3·RMS) checked against the Adam rule on
    /// Funnel's own gradient (see the type's documentation).
    private func assertAdamStep(_ parameter: Parameter, initial: Tensor, pytorch: Tensor, pytorchGradient: Tensor, _ label: String,
                                learningRate: Float = 0.01) throws {
        let threshold = 1e-3 * rootMeanSquare(pytorchGradient)
        let noisy = (0..<pytorch.count).filter { Double(abs(pytorchGradient.pointer[$0])) < threshold }
        let clean = (0..<pytorch.count).filter { Double(abs(pytorchGradient.pointer[$0])) >= threshold }
        let pick = { (t: Tensor, indices: [Int]) in Tensor(shape: [indices.count], values: indices.map { t.pointer[$0] }) }
        if !clean.isEmpty {
            let comparison = ParityComparison(label, actual: clean.map { Double(parameter.value.pointer[$0]) },
                                              expected: clean.map { Double(pytorch.pointer[$0]) }, floor: defaultParityFloor(pytorch))
            XCTAssert(comparison.passed, comparison.summary)
        }
        guard !noisy.isEmpty else { return }
        let g = parameter.grad!
        let rule = noisy.map { i -> Float in
            let gi = Double(g.pointer[i])
            return Float(Double(initial.pointer[i]) - Double(learningRate) * gi / (abs(gi) + 1e-8))
        }
        assertParity(pick(parameter.value, noisy), Tensor(shape: [noisy.count], values: rule), label + " (noise-driven elements vs Adam rule)",
                     floor: 1e-2)
        for i in noisy {
            XCTAssertLessThanOrEqual(abs(pytorch.pointer[i] - initial.pointer[i]), learningRate * 1.000001, "\(label)[\(i)]")
        }
    }

    func testDefaultStructureMatchesPyTorch() throws { try checkFixture("apem.json") }

    func testAlternativeSwitchesMatchPyTorch() throws { try checkFixture("apem_variant.json") }
}

/// Which parameters are the biases of a `Linear` feeding a batch norm (pattern and tower hidden layers).
enum MMoEParityTestsSupport {
    static func isBiasBeforeBatchNorm(_ name: String) -> Bool {
        name.range(of: #"(^|\.)linears\.\d+\.bias$"#, options: .regularExpression) != nil
    }
}
