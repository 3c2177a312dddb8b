import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// PyTorch parity of HTLNet on `Tests/Fixtures/models/htlnet*.json` (written by `scripts/make_htlnet_fixtures.py`
/// from the twin in `bench/torch_models.py`): a training forward with the Gumbel noise Funnel draws from the
/// step's generator (the script ports `SeededGenerator`), the per-task losses and per-task shared gradients,
/// then full `TrainingStep`s — HTLNet's adjustment (`HTLNetBalancer` ; `grad_htl`, computed step by step in PyTorch) and the
/// plain sum (`grad_sum`, fixed weights) on the shared embedding, ordinary gradients elsewhere, one Adam step, and the
/// evaluation forward. `htlnet.json` has the default switches, `htlnet_ablations.json` the ablations together.
///
/// Tolerance: 1e-5 relative with the default floor `max(1e-6, RMS)` of `ParityComparison`. No batch norm, so
/// there are no noise-driven biases.
final class HTLNetParityTests: XCTestCase {
    static let fixtures = ["htlnet.json", "htlnet_ablations.json"]

    private struct Setup {
        let fixture: ParityFixture
        let configuration: HTLNet.Configuration
        let tasks: [TaskSpec]
        let batch: Batch
        let scalings: [TargetScaling]
        let rngSeed: UInt64
    }

    private func setup(_ name: String) throws -> Setup {
        let fixture = try ParityFixture(name, area: "models")
        let config = fixture.config, switches = config["switches"] as? [String: Any] ?? [:]
        var c = configured(HTLNet.Configuration()) {
            $0.embeddingWidth = 4
            $0.towerWidths = [8, 6, 4]
            $0.labelEmbeddingWidth = 3
            $0.fusionWidth = 5
            $0.temperature = .constant(Float(config["tau"] as! Double))
        }
        if switches["fusion"] as? String == "concat" { c.fusion = .concat }
        if let stop = switches["stop_gradient"] as? Bool { c.stopGradientOnTransfer = stop }
        if switches["rep_layer"] as? String == "last" { c.repLayer = .last }
        if let sampling = switches["label_sampling"] as? String { c.labelSampling = LabelEmbedding.Sampling(rawValue: sampling)! }
        if let own = switches["ifu_includes_own"] as? Bool { c.ifuIncludesOwn = own }
        if switches["core_activation"] as? String == "softplus" { c.coreActivation = .softplus }
        XCTAssertEqual(switches.count, [c.fusion != .attention, !c.stopGradientOnTransfer, c.repLayer != .first,
                                        c.labelSampling != .gumbelSoftmax, c.ifuIncludesOwn, c.coreActivation != .identity]
                                        .filter { $0 }.count, "every switch of the fixture is mapped")
        let transform = (config["core_transform"] as! [String: Any])
        let standardize = transform["kind"] as! String == "standardize"
        let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "long_view", kind: .binary, parent: "click"),
                     TaskSpec(name: "amount", kind: .continuous, parent: "long_view", targetTransform: standardize ? .standardize : .none)]
        let y = try fixture.tensor("y")
        let batch = Batch(count: 16, ids: try fixture.doubles("x_cat").map { Int32(exactly: $0)! },
                          numeric: try fixture.tensor("x_dense"), labels: y)
        let table = EncodedTable(layout: FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4), tasks: tasks, rowCount: 16,
                                 ids: batch.ids, numeric: batch.numeric!.scalars, labels: y.scalars)
        let scalings = try TargetScaling.fitAll(on: table)
        if standardize {
            XCTAssertEqual(scalings[2].mean, transform["mean"] as! Double, accuracy: 1e-12)
            XCTAssertEqual(scalings[2].scale, transform["std"] as! Double, accuracy: 1e-12)
        } else {
            XCTAssertTrue(scalings[2].isIdentity)
        }
        return Setup(fixture: fixture, configuration: c, tasks: tasks, batch: batch, scalings: scalings,
                     rngSeed: UInt64(config["rng_seed"] as! Int))
    }

    private func model(_ s: Setup) throws -> HTLNet {
        var rng = SeededGenerator(seed: 99)
        let model = HTLNet(configuration: s.configuration, features: FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4),
                           tasks: s.tasks, using: &rng)
        let names = Set(s.fixture.names.filter { $0.hasPrefix("adam.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.map(\.name)), names, "parameter names must be the state_dict keys")
        XCTAssertEqual(model.parameters.count, names.count)
        for p in model.parameters { p.value = try s.fixture.tensor(p.name) }
        return model
    }

    private func value(_ head: TaskHead) -> Variable {
        switch head {
        case .logit(let z), .value(let z): return z
        default: preconditionFailure("unexpected head \(head)")
        }
    }

    func testNoiseIsFunnelsGeneratorStream() throws {
        for name in Self.fixtures {
            let s = try setup(name)
            var rng = SeededGenerator(seed: s.rngSeed)
            for t in 0..<2 { assertParity(Tensor.gumbel([16, 2], using: &rng), try s.fixture.tensor("noise.\(t)"), "\(name) noise.\(t)") }
        }
    }

    func testForwardLossesAndPerTaskSharedGradients() throws {
        for name in Self.fixtures {
            let s = try setup(name)
            let model = try model(s)
            let batch = s.batch
            let tape = Tape()
            let output = model(batch, ForwardContext(tape: tape, mode: .training, rng: SeededGenerator(seed: s.rngSeed)))
            for (t, head) in output.heads.enumerated() { assertParity(value(head).value, try s.fixture.tensor("heads.\(t)"), "\(name) heads.\(t)") }
            guard case .value = output.heads[2] else { return XCTFail("the core head must be .value") }
            let losses = taskLosses(output, batch: batch, tasks: s.tasks, targetScalings: s.scalings)
            for (t, loss) in losses.enumerated() { assertParity(loss.value.scalar, try s.fixture.tensor("loss.\(t)").scalar, "\(name) loss.\(t)") }
            for (t, loss) in losses.enumerated() {
                let set = GradientSet(of: loss, on: tape, wrt: model.sharedParameters)
                XCTAssertEqual(set.rows[0]?.count, Set(batch.ids.enumerated().map { Int32($0.element) + model.embedding.offsets[$0.offset % 3] }).count)
                for (p, g) in zip(set.parameters, set.tensors) {
                    assertParity(g, try s.fixture.tensor("grad_task.\(t).\(p.name)"), "\(name) grad_task.\(t).\(p.name)")
                }
            }
        }
    }

    func testAdjustedStepMatchesPyTorch() throws {
        for name in Self.fixtures {
            try checkStep(name, balancer: HTLNetBalancer(adjustment: HTLNetGradientAdjustment(), coreTask: 2, weights: [1, 1, 1]),
                          shared: "grad_htl", adam: true)
        }
    }

    func testSumStepMatchesPyTorch() throws {
        for name in Self.fixtures { try checkStep(name, balancer: nil, shared: "grad_sum", adam: false) }
    }

    /// `balancer` nil: fixed weights.
    private func checkStep(_ name: String, balancer: HTLNetBalancer?, shared: String, adam: Bool) throws {
        let s = try setup(name)
        let model = try model(s)
        let step = TrainingStep(model: model, tasks: s.tasks, optimizer: Adam(learningRate: 0.01), balancer: balancer,
                                targetScalings: s.scalings)
        var rng = SeededGenerator(seed: s.rngSeed)
        let result = try step(s.batch, rng: &rng)
        for t in 0..<3 { assertParity(result.losses[t], try s.fixture.tensor("loss.\(t)").scalar, "\(name) step loss.\(t)") }
        let sharedNames = Set(model.sharedParameters.map(\.name))
        let noGradient = Set(s.fixture.config["no_gradient"] as! [String])
        for p in model.parameters {
            if noGradient.contains(p.name) { XCTAssertNil(p.grad, "\(name): \(p.name) gets no gradient in PyTorch"); continue }
            guard let grad = p.grad else { XCTFail("\(name): no gradient for \(p.name)"); continue }
            let key = (sharedNames.contains(p.name) ? shared : "grad") + "." + p.name
            assertParity(grad, try s.fixture.tensor(key), "\(name) \(key)")
        }
        if balancer != nil {
            let conflicts = try XCTUnwrap(result.record.details["conflict"]), weights = try XCTUnwrap(result.record.details["magnitudeWeight"])
            let expected = (s.fixture.config["adjustment"] as! [String: Any])["report"] as! [[String: Any]]
            for entry in expected {
                let t = entry["task"] as! Int
                XCTAssertEqual(conflicts[t] == 1, entry["conflict"] as! Bool, "\(name) task \(t) conflict")
                XCTAssertEqual(Double(weights[t]), entry["w"] as! Double, accuracy: 1e-4 * (entry["w"] as! Double))
            }
        }
        guard adam else { return }
        for p in model.parameters { assertParity(p.value, try s.fixture.tensor("adam." + p.name), "\(name) adam.\(p.name)") }
        let evaluation = model(s.batch, .inference())
        for (t, head) in evaluation.heads.enumerated() {
            XCTAssertFalse(value(head).isTracked)
            assertParity(value(head).value, try s.fixture.tensor("eval_heads.\(t)"), "\(name) eval_heads.\(t)")
        }
    }
}
