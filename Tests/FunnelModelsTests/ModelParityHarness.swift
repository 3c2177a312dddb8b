import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// One case of `Tests/Fixtures/models/` (written by `scripts/make_model_fixtures.py`): the model is built through
/// `ModelRegistry.standard` from the fixture's registry name and partial configuration, its parameters are
/// replaced by PyTorch's initial state, and one training step is compared with PyTorch:
///
/// 1. every task's raw output (a chained head's own logit), the extras, each task loss, the auxiliary loss and
///    the total Σ λ_t L_t + R of a training-mode forward;
/// 2. the gradient of every parameter, the batch-norm running statistics after the forward;
/// 3. the parameters after one Adam(lr 0.01) step, and the raw outputs of an evaluation-mode forward after it.
///
/// Tolerances are `assertParity`'s (1e-5 relative, floor RMS); gradients use `assertGradientParity`, which falls
/// back to the fixture's float64 gradient as arbiter for cancellation-limited tensors. Parameters whose exact
/// gradient is zero (`config.zero_gradient`: biases feeding a batch norm, as in `MMoEParityTests`) must have a
/// Funnel gradient below 1e-5 of the layer's weight-gradient RMS; their Adam step is checked against the Adam rule
/// on Funnel's own gradient, and the evaluation forward uses PyTorch's values of exactly those parameters.
struct ModelParityCase {
    let fixture: ParityFixture
    let modelName: String
    let tasks: [TaskSpec]
    let model: AnyMultiTaskModel
    let batch: Batch

    init(_ file: String) throws {
        fixture = try ParityFixture(file + ".json", area: "models")
        let config = fixture.config
        modelName = try XCTUnwrap(config["model"] as? String)
        let taskObjects = try XCTUnwrap(config["tasks"] as? [[String: Any]])
        tasks = try taskObjects.map(Self.task)
        let vocabulary = try XCTUnwrap(config["vocab"] as? [Int]), numeric = try XCTUnwrap(config["n_dense"] as? Int)
        let overrides = try JSONValue(data: JSONSerialization.data(withJSONObject: try XCTUnwrap(config["configuration"])))
        var rng = SeededGenerator(seed: 1)
        model = try ModelRegistry.standard.makeModel(named: modelName, configuration: overrides,
                                                     features: FeatureLayout(vocabularySizes: vocabulary, numericCount: numeric),
                                                     tasks: tasks, using: &rng)
        let rows = try fixture.shape("x_cat")[0]
        batch = Batch(count: rows, ids: try fixture.doubles("x_cat").map { Int32(exactly: $0)! },
                      numeric: try fixture.tensor("x_dense"), labels: try fixture.tensor("y"))
        try loadInitialState()
    }

    /// A fixture task `{"name", "kind", "loss", "weight"}`.
    static func task(_ object: [String: Any]) throws -> TaskSpec {
        let kind = try XCTUnwrap(TaskKind(rawValue: try XCTUnwrap(object["kind"] as? String)))
        let losses: [String: TaskLoss] = ["bce": .binaryCrossEntropy(), "mse": .squaredError, "ziln": .zeroInflatedLognormal]
        return TaskSpec(name: try XCTUnwrap(object["name"] as? String), kind: kind,
                        loss: try XCTUnwrap(losses[try XCTUnwrap(object["loss"] as? String)]),
                        weight: Float(try XCTUnwrap(object["weight"] as? Double)))
    }

    private func loadInitialState() throws {
        let gradientNames = Set(fixture.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.map(\.name)), gradientNames, "\(modelName): parameter names must be the state_dict keys")
        XCTAssertEqual(model.parameters.count, gradientNames.count, "\(modelName): duplicate parameter names")
        XCTAssertEqual(Set(model.buffers.map(\.name)),
                       Set(fixture.names.filter { $0.hasPrefix("after.") }.map { String($0.dropFirst(6)) }), "\(modelName): buffers")
        for parameter in model.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, parameter.name)
            parameter.value = value
        }
    }

    /// Parameters whose exact (float64) gradient is zero: biases of `Linear` layers feeding a batch norm, and
    /// anything that only shifts a batch norm's input (the numeric projection's bias when every consumer of e
    /// starts with Linear → BN; AITM-MTReclib's value bias). Their float32 gradients are noise.
    var zeroGradientParameters: Set<String> { Set(fixture.config["zero_gradient"] as? [String] ?? []) }

    /// Runs the comparison; returns the training-mode output for case-specific checks.
    @discardableResult
    func run(file: StaticString = #filePath, line: UInt = #line) throws -> ModelOutput {
        let initial = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0.value.copy()) })
        let tape = Tape()
        let output = model(batch, ForwardContext(tape: tape, mode: .training))
        XCTAssertEqual(output.heads.count, tasks.count, file: file, line: line)
        for (t, head) in output.heads.enumerated() {
            assertParity(head.ownOutput.value, try fixture.tensor("raw.\(t)"), "\(modelName) raw.\(t)", file: file, line: line)
        }
        let extraKeys = Set(fixture.names.filter { $0.hasPrefix("extra.") }.map { String($0.dropFirst(6)) })
        XCTAssertEqual(Set(output.extras.keys), extraKeys, "\(modelName) extras", file: file, line: line)
        for key in extraKeys where output.extras[key] != nil {
            assertParity(output.extras[key]!.value, try fixture.tensor("extra." + key), "\(modelName) extra.\(key)", file: file, line: line)
        }

        let losses = parityTaskLosses(output, batch: batch, tasks: tasks)
        for (t, loss) in losses.enumerated() {
            assertParity(loss.value.scalar, try fixture.tensor("loss.task.\(t)").scalar, "\(modelName) loss.task.\(t)", file: file, line: line)
        }
        XCTAssertEqual(output.auxiliaryLoss != nil, fixture.entries["loss.aux"] != nil, "\(modelName): auxiliary loss presence",
                       file: file, line: line)
        if let auxiliary = output.auxiliaryLoss {
            assertParity(auxiliary.value.scalar, try fixture.tensor("loss.aux").scalar, "\(modelName) loss.aux", file: file, line: line)
        }
        var total = sum(zip(losses, tasks).map { $0 * $1.weight })
        if let auxiliary = output.auxiliaryLoss { total = total + auxiliary }
        assertParity(total.value.scalar, try fixture.tensor("loss").scalar, "\(modelName) loss", file: file, line: line)

        tape.backward(total)
        let zero = zeroGradientParameters
        for parameter in model.parameters where parameter.name.range(of: #"linears\.\d+\.bias$"#, options: .regularExpression) != nil {
            let norm = parameter.name.replacingOccurrences(of: #"linears\.(\d+)\.bias$"#, with: "norms.$1.weight", options: .regularExpression)
            if model.parameters.contains(where: { $0.name == norm }) {
                XCTAssert(zero.contains(parameter.name), "\(parameter.name) feeds a batch norm: its exact gradient must be 0", file: file, line: line)
            }
        }
        for parameter in model.parameters {
            guard let grad = parameter.grad else { XCTFail("\(modelName): no gradient for \(parameter.name)", file: file, line: line); continue }
            let label = "\(modelName) grad.\(parameter.name)"
            if zero.contains(parameter.name) {
                // Funnel's value must be zero up to float32 noise: 1e-5 of the same layer's weight gradient.
                let weight = try fixture.doubles("exact.grad." + parameter.name.dropLast("bias".count) + "weight")
                let scale = (weight.reduce(0) { $0 + $1 * $1 } / Double(weight.count)).squareRoot()
                assertParity(grad, Tensor(zeros: grad.shape), label + " (exact 0)", floor: scale, file: file, line: line)
            } else {
                assertGradientParity(grad, pytorch: try fixture.tensor("grad." + parameter.name),
                                     exact: try fixture.doubles("exact.grad." + parameter.name), label, file: file, line: line)
            }
        }
        for buffer in model.buffers {
            assertParity(buffer.value, try fixture.tensor("after." + buffer.name), "\(modelName) after.\(buffer.name)", file: file, line: line)
        }

        Adam(learningRate: 0.01).step(model.parameters)
        for parameter in model.parameters {
            let expected = try fixture.tensor("adam." + parameter.name)
            if zero.contains(parameter.name) {
                checkNoiseDrivenAdamStep(parameter, initial: initial[parameter.name]!, pytorch: expected, learningRate: 0.01,
                                         file: file, line: line)
                parameter.value = expected
            } else {
                assertParity(parameter.value, expected, "\(modelName) adam.\(parameter.name)", file: file, line: line)
            }
        }
        let evaluation = model(batch, ForwardContext.inference())
        XCTAssertNil(evaluation.auxiliaryLoss, "\(modelName): no auxiliary loss in evaluation", file: file, line: line)
        for (t, head) in evaluation.heads.enumerated() {
            XCTAssertFalse(head.ownOutput.isTracked, file: file, line: line)
            assertParity(head.ownOutput.value, try fixture.tensor("eval.\(t)"), "\(modelName) eval.\(t)", file: file, line: line)
        }
        return output
    }
}

extension TaskHead {
    /// The task's own raw output: the logit, the last logit of a chain, the prediction, or the ZILN logits.
    var ownOutput: Variable {
        switch self {
        case .logit(let z), .probability(let z), .value(let z), .zeroInflatedLognormal(let z): z
        case .chain(let logits): logits.last!
        }
    }
}

/// The task losses of `output`: `taskLosses` for every head it supports, and — until `taskLosses` supports
/// chains — the chained BCE (losses-and-balancing.md §2.3) for `.chain` heads, built from core ops:
/// log p = −Σ_s softplus(−z_s), ℓ = −[y log p + (1 − y) log(1 − e^{log p})], mean over rows. The fixtures keep
/// p in (0.005, 0.95), where this direct form of log(1 − p) is accurate to float32 rounding and the −100 clamp
/// never applies.
func parityTaskLosses(_ output: ModelOutput, batch: Batch, tasks: [TaskSpec]) -> [Variable] {
    output.heads.enumerated().map { t, head in
        let targets = batch.labels(ofTask: t)
        if case .chain(let logits) = head {
            let logP = sum(logits.map { (-$0).softplus() }) * -1
            let negatives = targets.map({ 1 - $0 }, { 1 - $0 })
            let logOneMinusP = (1 - logP.exp()).log()
            return -(Variable(targets) * logP + Variable(negatives) * logOneMinusP).mean()
        }
        let column = Batch(count: batch.count, ids: batch.ids, numeric: batch.numeric, labels: targets.reshaped([batch.count, 1]))
        return taskLosses(ModelOutput(heads: [head]), batch: column, tasks: [tasks[t]])[0]
    }
}

/// `Σ terms` (at least one).
func sum(_ terms: [Variable]) -> Variable { terms.dropFirst().reduce(terms[0], +) }
