import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// PyTorch parity of a small MMoE on `mmoe.json` (vocabularies [5, 7, 3], 4 numeric features, d = 4, 3 experts
/// MLP(16, [8, 6], BN), towers MLP(6, [4], BN, output), 2 binary tasks): gates, logits and loss of a
/// training-mode forward, then one `TrainingStep` with Adam(lr 0.01) — gradients, running statistics, updated
/// parameters — and the evaluation-mode logits afterwards.
///
/// ## Running statistics
/// A training-mode forward updates the batch-norm running statistics, and the fixture's `after.*` are the
/// statistics after exactly one training forward from the initial (0, 1). The test therefore runs a tape-less
/// training forward to read the logits (compares `after.*` once), restores the initial statistics bit for bit,
/// and then runs the `TrainingStep`, whose single forward must land on the same `after.*` again. The gates are
/// read through `gateWeights` (an inference forward), which is exact because the gate path (embedding → Linear →
/// softmax) has no batch norm or dropout.
///
/// ## Tolerances
/// 1e-5 relative with the default floor `max(1e-6, RMS(b))` (see `ParityComparison`, which also gives the float64
/// evidence: both implementations are equally accurate normwise, and neither is within 1e-5 elementwise of the
/// exact values on small, cancellation-limited elements). The biases of the `Linear` layers that feed a batch
/// norm (`experts.*.linears.*.bias`, `towers.*.linears.*.bias`) have a zero exact gradient; their gradients are
/// float32 noise (up to ~1e-7) in both implementations and are compared with the RMS of the same layer's weight
/// gradient as floor (the scale of the terms that cancel). After Adam those biases are noise-driven
/// (`−lr · g / (|g| + 1e-8)` with |g| ~ 1e-8), so `adam.*` of them is not a parity quantity: the test checks
/// Funnel's update against the Adam rule on its own gradient and that PyTorch's moved by less than lr, and the
/// evaluation forward uses PyTorch's post-Adam values of exactly those biases (they shift evaluation outputs
/// because evaluation batch norm subtracts the running mean). `MLPParityTests` in FunnelNNTests documents the
/// same effect with numbers.
final class MMoEParityTests: XCTestCase {
    /// Floor for a pre-batch-norm bias gradient: RMS of the same layer's weight gradient in the fixture.
    static func zeroGradientFloor(_ biasName: String, _ fixture: ParityFixture) throws -> Double {
        rootMeanSquare(try fixture.tensor("grad." + biasName.dropLast("bias".count) + "weight"))
    }
    static let tasks = [TaskSpec(name: "task0", kind: .binary), TaskSpec(name: "task1", kind: .binary)]

    static func isBiasBeforeBatchNorm(_ name: String) -> Bool {
        name.range(of: #"(^|\.)linears\.\d+\.bias$"#, options: .regularExpression) != nil
    }

    private func makeModel(_ fixture: ParityFixture) throws -> MMoE {
        var rng = SeededGenerator(seed: 5)
        let model = MMoE(
            configuration: configured(.init()) {
                $0.embeddingWidth = 4
                $0.experts = 3
                $0.expertWidths = [8, 6]
                $0.towerWidths = [4]
                $0.batchNorm = true
                $0.dropout = 0
            },
            features: FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4), tasks: Self.tasks, using: &rng)
        XCTAssertEqual(model.embedding.offsets, [0, 5, 12])
        let fixtureParameters = Set(fixture.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.map(\.name)), fixtureParameters, "parameter names must be the state_dict keys")
        XCTAssertEqual(Set(model.buffers.map(\.name)),
                       Set(fixture.names.filter { $0.hasPrefix("after.") }.map { String($0.dropFirst(6)) }))
        XCTAssertEqual(model.parameters.count, fixtureParameters.count, "no duplicate names")
        for parameter in model.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, parameter.name)
            parameter.value = value
        }
        return model
    }

    private func makeBatch(_ fixture: ParityFixture) throws -> Batch {
        let ids = try fixture.doubles("x_cat").map { Int32(exactly: $0)! }  // local ids, [16, 3] row-major
        XCTAssertEqual(try fixture.shape("x_cat"), [16, 3])
        return Batch(count: 16, ids: ids, numeric: try fixture.tensor("x_dense"), labels: try fixture.tensor("y"))
    }

    /// `[batch, tasks]` from per-task `[batch]` heads.
    private func stacked(_ heads: [Variable]) -> Tensor {
        let batch = heads[0].shape[0]
        var values = [Float]()
        for i in 0..<batch { for head in heads { values.append(head.value.pointer[i]) } }
        return Tensor(shape: [batch, heads.count], values: values)
    }

    func testTrainingStepMatchesPyTorch() throws {
        let fixture = try ParityFixture("mmoe.json")
        let model = try makeModel(fixture)
        let batch = try makeBatch(fixture)
        let initialBuffers = model.buffers.map { $0.value.copy() }
        let initialParameters = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0.value.copy()) })

        // Gates (mode-independent path).
        for (t, gate) in model.gateWeights(batch).enumerated() {
            assertParity(gate, try fixture.tensor("gates_out.\(t)"), "gates_out.\(t)")
        }

        // A training-mode forward without a tape: logits, loss, and the running statistics after one forward.
        let output = model(batch, ForwardContext(tape: nil, mode: .training))
        XCTAssertEqual(output.heads.count, 2)
        assertParity(stacked(output.heads.map(\.logit)), try fixture.tensor("logits"), "logits")
        let forwardLoss = output.heads.enumerated().reduce(Float(0)) { total, head in
            total + Variable.binaryCrossEntropy(logits: head.element.logit, targets: batch.labels(ofTask: head.offset)).value.scalar
        }
        assertParity(forwardLoss, try fixture.tensor("loss").scalar, "loss (forward)")
        for buffer in model.buffers {
            assertParity(buffer.value, try fixture.tensor("after." + buffer.name), "after." + buffer.name + " (first forward)")
        }
        for (buffer, initial) in zip(model.buffers, initialBuffers) { buffer.value = initial.copy() }

        // One training step: forward (training mode, with a tape), summed task losses, backward, Adam.
        let step = TrainingStep(model: model, tasks: Self.tasks, optimizer: Adam(learningRate: 0.01))
        var rng = SeededGenerator(seed: 0)
        let losses = try step(batch, rng: &rng).losses
        XCTAssertEqual(losses.count, 2)
        assertParity(losses.reduce(0, +), try fixture.tensor("loss").scalar, "loss (TrainingStep, Σ over tasks)")
        for parameter in model.parameters {
            guard let grad = parameter.grad else { XCTFail("no gradient for \(parameter.name)"); continue }
            let floor = Self.isBiasBeforeBatchNorm(parameter.name) ? try Self.zeroGradientFloor(parameter.name, fixture) : nil
            assertParity(grad, try fixture.tensor("grad." + parameter.name), "grad." + parameter.name, floor: floor)
        }
        for buffer in model.buffers {
            assertParity(buffer.value, try fixture.tensor("after." + buffer.name), "after." + buffer.name + " (TrainingStep)")
        }
        for parameter in model.parameters {
            let expected = try fixture.tensor("adam." + parameter.name)
            if Self.isBiasBeforeBatchNorm(parameter.name) {
                checkNoiseDrivenAdamStep(parameter, initial: initialParameters[parameter.name]!, pytorch: expected, learningRate: 0.01)
            } else {
                assertParity(parameter.value, expected, "adam." + parameter.name)
            }
        }

        // Evaluation after the step (Funnel's own parameters and statistics; PyTorch's noise-driven biases).
        for parameter in model.parameters where Self.isBiasBeforeBatchNorm(parameter.name) {
            parameter.value = try fixture.tensor("adam." + parameter.name)
        }
        let evaluation = model(batch, ForwardContext.inference())
        XCTAssertFalse(evaluation.heads.contains { $0.logit.isTracked })
        assertParity(stacked(evaluation.heads.map(\.logit)), try fixture.tensor("eval_logits"), "eval_logits")
    }

    /// Evaluation with PyTorch's whole post-step state: isolates the evaluation-mode forward.
    func testEvaluationForwardMatchesPyTorch() throws {
        let fixture = try ParityFixture("mmoe.json")
        let model = try makeModel(fixture)
        for parameter in model.parameters { parameter.value = try fixture.tensor("adam." + parameter.name) }
        for buffer in model.buffers { buffer.value = try fixture.tensor("after." + buffer.name) }
        let output = model(try makeBatch(fixture), ForwardContext.inference())
        assertParity(stacked(output.heads.map(\.logit)), try fixture.tensor("eval_logits"), "eval_logits (PyTorch state)")
    }
}
