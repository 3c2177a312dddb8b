import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelNN
import FunnelTrain

/// PyTorch parity of `MLP(6, [8, 4], BN, output)` on `mlp.json`: one training-mode forward and backward, the
/// batch-norm running statistics, one Adam(lr 0.01) step, and an evaluation-mode forward.
///
/// ## Tolerances
/// Every comparison is `|a − b| ≤ 1e-5 · max(|b|, floor)` with the default floor `max(1e-6, RMS(b))`;
/// `ParityComparison` gives the float64 evidence for it (in the cancellation-limited elements where the floor
/// matters, PyTorch's float32 reference is further from the exact value than Funnel).
///
/// The one exception is the bias of a `Linear` that feeds a `BatchNorm` (`linears.{i}.bias`). Batch norm
/// subtracts the batch mean, so the output does not depend on that bias at all and its exact gradient is 0;
/// both PyTorch and Funnel return float32 rounding noise of order 1e-9…1e-7 (a sum over the batch of the
/// layer's output gradients, which cancel exactly in exact arithmetic). Its own RMS is noise, so the floor is the
/// RMS of the same layer's weight gradient (the scale of the cancelling terms): the bias gradient must be zero
/// to 1e-5 of the layer's gradient scale (absolute ~4e-7 here).
///
/// Noise cannot be compared after Adam: Adam's first step is `−lr · g / (|g| + ε)` with ε = 1e-8, so a 1e-9
/// noise gradient moves the bias by a noise-determined amount of up to lr = 0.01 (PyTorch moved
/// `linears.0.bias[0]` by −8.5e-4). `adam.linears.{i}.bias` therefore depends on the rounding order of the
/// backward pass and is not a parity quantity. For those tensors the test checks instead that Funnel applied
/// the Adam rule to its own gradient and moved by less than lr as PyTorch did, and the evaluation-mode
/// comparison loads PyTorch's post-Adam values of exactly these biases (which shift the evaluation output,
/// because evaluation-mode batch norm subtracts the running mean, not the batch mean). See the report of
/// `testEvaluationLogitsDependOnNoiseDrivenBiases` for the size of that effect.
final class MLPParityTests: XCTestCase {
    /// Floor for the gradient of a pre-batch-norm bias (exactly zero in exact arithmetic): the RMS of the same
    /// layer's weight gradient in the fixture (see the type comment).
    static func zeroGradientFloor(_ biasName: String, _ fixture: ParityFixture) throws -> Double {
        rootMeanSquare(try fixture.tensor("grad." + biasName.dropLast("bias".count) + "weight"))
    }

    /// A pre-batch-norm bias (every hidden `Linear` of an MLP built with `batchNorm: true`).
    static func isBiasBeforeBatchNorm(_ name: String) -> Bool {
        name.range(of: #"(^|\.)linears\.\d+\.bias$"#, options: .regularExpression) != nil
    }

    private func makeModel(_ fixture: ParityFixture) throws -> MLP {
        var rng = SeededGenerator(seed: 1)
        let mlp = MLP(inputWidth: 6, hiddenWidths: [8, 4], batchNorm: true, dropout: 0, outputLayer: true, name: "", using: &rng)
        // Names must be the PyTorch state_dict keys (an empty prefix must not leave a leading dot).
        let fixtureParameters = Set(fixture.names.filter { $0.hasPrefix("grad.") && $0 != "grad.x" }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(mlp.parameters.map(\.name)), fixtureParameters)
        XCTAssertEqual(Set(mlp.buffers.map(\.name)),
                       Set(fixture.names.filter { $0.hasPrefix("after.") }.map { String($0.dropFirst(6)) }))
        for parameter in mlp.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, parameter.name)
            parameter.value = value
        }
        return mlp
    }

    func testTrainingStepMatchesPyTorch() throws {
        let fixture = try ParityFixture("mlp.json")
        let mlp = try makeModel(fixture)
        let x = try fixture.tensor("x"), y = try fixture.tensor("y")
        let initial = Dictionary(uniqueKeysWithValues: mlp.parameters.map { ($0.name, $0.value.copy()) })

        // Training-mode forward and backward.
        let tape = Tape()
        let context = ForwardContext(tape: tape, mode: .training)
        let input = tape.variable(x)
        let logits = mlp(input, context)
        let loss = Variable.binaryCrossEntropy(logits: logits, targets: y)
        assertParity(logits.value, try fixture.tensor("logits"), "logits")
        assertParity(loss.value, try fixture.tensor("loss"), "loss")

        tape.backward(loss)
        for parameter in mlp.parameters {
            guard let grad = parameter.grad else { XCTFail("no gradient for \(parameter.name)"); continue }
            let floor = Self.isBiasBeforeBatchNorm(parameter.name) ? try Self.zeroGradientFloor(parameter.name, fixture) : nil
            assertParity(grad, try fixture.tensor("grad." + parameter.name), "grad." + parameter.name, floor: floor)
        }
        let inputGradient = tape.gradients(of: loss, wrt: [input])[0]
        assertParity(inputGradient, try fixture.tensor("grad.x"), "grad.x")

        // Running statistics after exactly one training forward.
        for buffer in mlp.buffers {
            assertParity(buffer.value, try fixture.tensor("after." + buffer.name), "after." + buffer.name)
        }

        // One Adam step.
        let learningRate: Float = 0.01
        Adam(learningRate: learningRate).step(mlp.parameters)
        for parameter in mlp.parameters {
            let expected = try fixture.tensor("adam." + parameter.name)
            if Self.isBiasBeforeBatchNorm(parameter.name) {
                checkNoiseDrivenAdamStep(parameter, initial: initial[parameter.name]!, pytorch: expected, learningRate: learningRate)
            } else {
                assertParity(parameter.value, expected, "adam." + parameter.name)
            }
        }

        // Evaluation mode with the updated parameters and running statistics; the noise-driven biases take
        // PyTorch's values (see the type comment).
        for parameter in mlp.parameters where Self.isBiasBeforeBatchNorm(parameter.name) {
            parameter.value = try fixture.tensor("adam." + parameter.name)
        }
        let evalLogits = mlp(Variable(x), ForwardContext.inference())
        XCTAssertFalse(evalLogits.isTracked)
        assertParity(evalLogits.value, try fixture.tensor("eval_logits"), "eval_logits")
    }

    /// Evaluation with PyTorch's whole post-step state (parameters and running statistics): isolates the
    /// evaluation-mode forward from the training step.
    func testEvaluationForwardMatchesPyTorch() throws {
        let fixture = try ParityFixture("mlp.json")
        let mlp = try makeModel(fixture)
        for parameter in mlp.parameters { parameter.value = try fixture.tensor("adam." + parameter.name) }
        for buffer in mlp.buffers { buffer.value = try fixture.tensor("after." + buffer.name) }
        let logits = mlp(Variable(try fixture.tensor("x")), ForwardContext.inference())
        assertParity(logits.value, try fixture.tensor("eval_logits"), "eval_logits (PyTorch state)")
    }

    /// Documents the fixture's sensitivity: with Funnel's own post-Adam pre-BN biases (noise-driven, see the type
    /// comment) the evaluation logits move by far more than 1e-5 — and only these biases are responsible.
    func testEvaluationLogitsDependOnNoiseDrivenBiases() throws {
        let fixture = try ParityFixture("mlp.json")
        let mlp = try makeModel(fixture)
        let x = try fixture.tensor("x"), y = try fixture.tensor("y")
        let tape = Tape()
        let loss = Variable.binaryCrossEntropy(logits: mlp(Variable(x), ForwardContext(tape: tape, mode: .training)), targets: y)
        tape.backward(loss)
        Adam(learningRate: 0.01).step(mlp.parameters)
        let own = mlp(Variable(x), ForwardContext.inference()).value
        let reference = try fixture.tensor("eval_logits")
        let comparison = ParityComparison("eval_logits with Funnel's own noise-driven biases",
                                          actual: own.scalars.map(Double.init), expected: reference.scalars.map(Double.init),
                                          floor: 1e-6)
        print("[parity] (informational) " + comparison.summary)
        var biasSteps: [String] = []
        for parameter in mlp.parameters where Self.isBiasBeforeBatchNorm(parameter.name) {
            biasSteps.append("\(parameter.name) Swift \(parameter.value.scalars) vs PyTorch \(try fixture.tensor("adam." + parameter.name).scalars)")
            parameter.value = try fixture.tensor("adam." + parameter.name)
        }
        print("[parity] (informational) post-Adam pre-BN biases:\n  " + biasSteps.joined(separator: "\n  "))
        assertParity(mlp(Variable(x), ForwardContext.inference()).value, reference, "eval_logits after swapping in PyTorch's pre-BN biases")
    }
}
