import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// PyTorch parity of DEPHN and MT-PHN on the fixtures of `Tests/Fixtures/models/` (written by
/// `scripts/make_dephn_fixtures.py` from the twins in `bench/torch_dephn.py`): vocabularies [5, 7, 3] + 4 numeric
/// features (F = 4, d = 4, D = 16), 16 rows, DNN experts [8, 6], L_c = L_f = 2.
///
/// Per fixture: the configuration decodes from the fixture's JSON; parameter names equal the twin's state_dict
/// keys; a training-mode forward matches (outputs, the virtual gradient's similarities and coefficients); one step
/// (forward with a tape, the summed task losses, backward, Adam lr 0.01) matches every gradient — the gates'
/// gradients include Γ — and every updated parameter; the evaluation forward after the step matches.
/// Tolerance: 1e-5 relative with the RMS floor of `ParityComparison`.
final class DEPHNParityTests: XCTestCase {
    struct Setup {
        let fixture: ParityFixture
        let tasks: [TaskSpec]
        let batch: Batch
        let features = FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4)
    }

    static func setup(_ file: String) throws -> Setup {
        let fixture = try ParityFixture(file, area: "models")
        let kinds = try XCTUnwrap(fixture.config["tasks"] as? [String])
        let tasks = kinds.enumerated().map { t, kind in TaskSpec(name: "task\(t)", kind: kind == "binary" ? .binary : .continuous) }
        let ids = try fixture.doubles("x_cat").map { Int32(exactly: $0)! }
        let batch = Batch(count: 16, ids: ids, numeric: try fixture.tensor("x_dense"), labels: try fixture.tensor("y"))
        return Setup(fixture: fixture, tasks: tasks, batch: batch)
    }

    /// The fixture's partial configuration of registry model `name`, merged over its defaults.
    static func configuration<C: Decodable>(_ type: C.Type, of name: String, _ fixture: ParityFixture) throws -> C {
        let object = try XCTUnwrap(fixture.config["configuration"])
        let overrides = try JSONValue(data: JSONSerialization.data(withJSONObject: object))
        return try ModelRegistry.standard.configuration(named: name, overrides: overrides).decode(as: C.self)
    }

    /// Loads the fixture's initial parameters after checking the names are exactly the state_dict keys.
    static func load(_ model: some Module, _ fixture: ParityFixture) throws {
        let names = Set(fixture.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.map(\.name)), names, "parameter names must be the state_dict keys")
        XCTAssertEqual(model.parameters.count, names.count, "no duplicate names")
        for parameter in model.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, parameter.name)
            parameter.value = value
        }
    }

    /// The prediction tensor of a head (logit, value or probability).
    static func prediction(_ head: TaskHead) -> Variable {
        switch head {
        case .logit(let z), .value(let z), .probability(let z): return z
        default: preconditionFailure("unexpected head \(head)")
        }
    }

    /// `[B, T]` from the heads.
    static func stacked(_ output: ModelOutput) -> Tensor {
        let heads = output.heads.map { prediction($0).value }
        let batch = heads[0].shape[0]
        var values = [Float]()
        for i in 0..<batch { for head in heads { values.append(head.pointer[i]) } }
        return Tensor(shape: [batch, heads.count], values: values)
    }

    /// Σ_t of each head's mean loss: BCE on logits, MSE, or BCE on probabilities (PyTorch's `binary_cross_entropy`).
    static func totalLoss(_ output: ModelOutput, _ batch: Batch) -> Variable {
        let terms = output.heads.enumerated().map { t, head -> Variable in
            let y = batch.labels(ofTask: t)
            switch head {
            case .logit(let z): return Variable.binaryCrossEntropy(logits: z, targets: y)
            case .value(let v): return Variable.squaredError(predictions: v, targets: y)
            case .probability(let p):
                let target = Variable(y), complement = Variable(y.map({ 1 - $0 }, { 1 - $0 }))
                return -(target * p.log() + complement * (1 - p).log()).mean()
            default: preconditionFailure("unexpected head")
            }
        }
        return terms.dropFirst().reduce(terms[0], +)
    }

    /// Forward, loss and one Adam step compared with the fixture; `vg` checks the virtual-gradient record.
    static func checkStep(_ model: some MultiTaskModel, _ s: Setup, record: () -> VirtualGradientRecord?) throws {
        let fixture = s.fixture
        let training = model(s.batch, ForwardContext(tape: nil, mode: .training))
        assertParity(stacked(training), try fixture.tensor("outputs"), "outputs (training forward)")
        assertParity(totalLoss(training, s.batch).value.scalar, try fixture.tensor("loss").scalar, "loss")
        if fixture.names.contains("vg.similarities") {
            let vg = try XCTUnwrap(record(), "a training forward records the virtual gradient")
            let expected = try fixture.tensor("vg.similarities")
            let actual = vg.similarities.joined().map { Float($0 ?? -1) }
            assertParity(Tensor(shape: expected.shape, values: actual), expected, "vg.similarities")
            for t in vg.coefficients.indices {
                let full = try fixture.tensor("vg.coefficients.\(t)")
                let (rows, columns) = (full.shape[0], full.shape[1])
                let means = (0..<columns).map { c in
                    Float((0..<rows).reduce(0.0) { $0 + Double(full.pointer[$1 * columns + c]) } / Double(rows))
                }
                assertParity(Tensor(shape: [columns], values: vg.coefficients[t]), Tensor(shape: [columns], values: means),
                             "vg.coefficients.\(t) (batch mean)")
            }
        } else {
            XCTAssertNil(record(), "no virtual gradient expected")
        }

        let tape = Tape()
        let output = model(s.batch, ForwardContext(tape: tape, mode: .training))
        for parameter in model.parameters { parameter.zeroGradient() }
        tape.backward(totalLoss(output, s.batch))
        for parameter in model.parameters {
            guard let grad = parameter.grad else { XCTFail("no gradient for \(parameter.name)"); continue }
            assertParity(grad, try fixture.tensor("grad." + parameter.name), "grad." + parameter.name)
        }
        Adam(learningRate: 0.01).step(model.parameters)
        for parameter in model.parameters {
            let expected = try fixture.tensor("adam." + parameter.name).copy()
            let (initial, pytorchGrad, grad) = (try fixture.tensor(parameter.name), try fixture.tensor("grad." + parameter.name), parameter.grad!)
            // Adam's first step is lr · g / (|g| + 1e-8): for |g| ≲ 1e-6 it depends on g's rounding noise, so such
            // elements are held to the Adam rule on Funnel's own gradient instead of PyTorch's step.
            for i in 0..<expected.count where abs(pytorchGrad.pointer[i]) < 1e-6 {
                let g = Double(grad.pointer[i])
                expected.pointer[i] = Float(Double(initial.pointer[i]) - 0.01 * g / (abs(g) + 1e-8))
            }
            assertParity(parameter.value, expected, "adam." + parameter.name)
        }
        let evaluation = model(s.batch, ForwardContext.inference())
        XCTAssertFalse(evaluation.heads.contains { prediction($0).isTracked })
        assertParity(stacked(evaluation), try fixture.tensor("eval_outputs"), "eval_outputs")
    }

    private func checkDEPHN(_ file: String) throws {
        let s = try Self.setup(file)
        var rng = SeededGenerator(seed: 1)
        let model = DEPHN(configuration: try Self.configuration(DEPHN.Configuration.self, of: DEPHN.registryName, s.fixture), features: s.features,
                          tasks: s.tasks, using: &rng)
        try Self.load(model, s.fixture)
        try Self.checkStep(model, s) { model.lastVirtualGradient }
    }

    func testDefaultDEPHNMatchesPyTorch() throws {
        try checkDEPHN("dephn.json")
    }

    /// All experts public, mapping gates with a per-row virtual gradient, per-branch MSA, towers, a constant label
    /// column, cosine similarity, clipping.
    func testMappingGatingVariantMatchesPyTorch() throws {
        try checkDEPHN("dephn_mapping.json")
    }

    /// Private DNN experts, no SSG, softmax-normalised gates, averaged probabilities and a continuous task.
    func testPrivateDNNVariantMatchesPyTorch() throws {
        try checkDEPHN("dephn_private_dnn.json")
    }

    func testMTPHNMatchesPyTorch() throws {
        let s = try Self.setup("mtphn.json")
        var rng = SeededGenerator(seed: 1)
        let model = MTPHN(configuration: try Self.configuration(MTPHN.Configuration.self, of: MTPHN.registryName, s.fixture), features: s.features,
                          tasks: s.tasks, using: &rng)
        try Self.load(model, s.fixture)
        try Self.checkStep(model, s) { nil }
    }

    /// The fixture's own evidence that Γ reached the raw trainable-value gates: PyTorch's gate gradient is Γ ⊙ its
    /// plain gradient, and Funnel's plain gradient (virtual gradient off) matches PyTorch's plain one.
    func testGateGradientIsCoefficientTimesPlainGradient() throws {
        for file in ["dephn.json"] {
            let s = try Self.setup(file)
            var configuration = try Self.configuration(DEPHN.Configuration.self, of: DEPHN.registryName, s.fixture)
            configuration.virtualGradient = false
            var rng = SeededGenerator(seed: 1)
            let model = DEPHN(configuration: configuration, features: s.features, tasks: s.tasks, using: &rng)
            try Self.load(model, s.fixture)
            let tape = Tape()
            let output = model(s.batch, ForwardContext(tape: tape, mode: .training))
            XCTAssertNil(model.lastVirtualGradient)
            for (t, gate) in model.gates.compactMap(\.trainableValue).enumerated() {
                let plain = try s.fixture.tensor("plain_grad.gates.\(t)")
                let scaled = try s.fixture.tensor("grad.gates.\(t)")
                let gamma = try s.fixture.tensor("vg.coefficients.\(t)").reshaped(plain.shape)
                assertParity(plain * gamma, scaled, "\(file): PyTorch grad.gates.\(t) = Γ ⊙ plain")
                XCTAssertGreaterThan(scaled.maxRelativeDifference(to: plain), 1e-2, "\(file): Γ must change the gradient")
                let grad = tape.gradients(of: Self.totalLoss(output, s.batch), wrt: [gate.weight])[0]
                assertParity(grad, plain, "\(file): plain_grad.gates.\(t)")
            }
        }
    }
}
