import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// HTLNet's structure under every switch, the gradient-flow table of `htlnet.md` §3.6, finite differences through
/// the label-embedding and fusion units inside the model, temperature annealing, and a `TrainingStep`
/// with `HTLNetBalancer` against a hand-assembled step.
final class HTLNetTests: XCTestCase {
    static let layout = FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4)
    static let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "long_view", kind: .binary, parent: "click"),
                        TaskSpec(name: "amount", kind: .continuous, parent: "long_view")]
    static func small(_ edit: (inout HTLNet.Configuration) -> Void = { _ in }) -> HTLNet.Configuration {
        var c = configured(HTLNet.Configuration()) {
            $0.embeddingWidth = 4
            $0.towerWidths = [8, 6, 4]
            $0.labelEmbeddingWidth = 3
            $0.fusionWidth = 5
            $0.temperature = .constant(1.5)
        }
        edit(&c)
        return c
    }

    static func makeModel(_ c: HTLNet.Configuration, tasks: [TaskSpec] = tasks, seed: UInt64 = 1) -> HTLNet {
        var rng = SeededGenerator(seed: seed)
        return HTLNet(configuration: c, features: layout, tasks: tasks, using: &rng)
    }

    /// 12 rows of nested labels (click ≥ long_view, amount > 0 only after a long view).
    static func batch(seed: UInt64 = 2) -> Batch {
        var rng = SeededGenerator(seed: seed)
        let n = 12
        var ids: [Int32] = [], labels: [Float] = []
        for _ in 0..<n {
            ids += [5, 7, 3].map { Int32(rng.next() % UInt64($0)) }
            let click: Float = rng.nextUnitFloat() < 0.6 ? 1 : 0, view: Float = click * (rng.nextUnitFloat() < 0.6 ? 1 : 0)
            labels += [click, view, view * Float(1 + 3 * rng.nextUnitDouble())]
        }
        return Batch(count: n, ids: ids, numeric: .normal([n, 4], using: &rng), labels: Tensor(shape: [n, 3], values: labels))
    }

    private func names(_ tape: Tape, _ loss: Variable) -> Set<String> {
        Set(tape.parameterGradients(of: loss).map(\.parameter.name).map { $0.split(separator: ".").prefix(2).joined(separator: ".") })
    }

    private func perTaskReach(_ c: HTLNet.Configuration) -> [Set<String>] {
        let model = Self.makeModel(c), batch = Self.batch()
        let tape = Tape()
        let output = model(batch, ForwardContext(tape: tape, mode: .training))
        return taskLosses(output, batch: batch, tasks: Self.tasks).map { names(tape, $0) }
    }

    func testGradientFlowWithStopGradient() {
        // Tower t from L_t only; Λ_t from L_s, s > t; IFUs of t from L_t; the embedding from every task.
        let reach = perTaskReach(Self.small())
        XCTAssertEqual(reach[0], ["embedding.weight", "dense_projection.weight", "dense_projection.bias", "towers.0"])
        XCTAssertEqual(reach[1], ["embedding.weight", "dense_projection.weight", "dense_projection.bias", "towers.1",
                                  "representation_fusions.1", "label_fusions.1", "label_embeddings.0"])
        XCTAssertEqual(reach[2], ["embedding.weight", "dense_projection.weight", "dense_projection.bias", "towers.2",
                                  "representation_fusions.2", "label_fusions.2", "label_embeddings.0", "label_embeddings.1"])
    }

    func testWithoutStopGradientLaterLossesReachEarlierTowers() {
        let reach = perTaskReach(Self.small { $0.stopGradientOnTransfer = false })
        XCTAssertTrue(reach[1].isSuperset(of: ["towers.0", "towers.1"]))
        XCTAssertTrue(reach[2].isSuperset(of: ["towers.0", "towers.1", "towers.2"]))
        XCTAssertFalse(reach[0].contains("towers.1"))
    }

    func testSwitchesShapeTheNetwork() {
        let d = 16, dh = 5
        func widths(_ model: HTLNet) -> [Int] { model.towers.map { $0.linears[0].inputWidth } }
        func prefixes(_ model: HTLNet) -> Set<String> { Set(model.parameters.map { String($0.name.split(separator: ".")[0]) }) }
        let full = Self.makeModel(Self.small())
        XCTAssertEqual(widths(full), [d, d + 2 * dh, d + 2 * dh])
        XCTAssertEqual(full.sharedParameters.map(\.name), ["embedding.weight", "dense_projection.weight", "dense_projection.bias"])
        XCTAssertEqual(full.labelEmbeddings.map { $0 != nil }, [true, true, false])
        let noLabels = Self.makeModel(Self.small { $0.transferLabels = false })
        XCTAssertEqual(widths(noLabels), [d, d + dh, d + dh])
        XCTAssertFalse(prefixes(noLabels).contains("label_embeddings") || prefixes(noLabels).contains("label_fusions"))
        XCTAssertEqual(widths(Self.makeModel(Self.small { $0.transferRepresentations = false })), [d, d + dh, d + dh])
        // Concatenation: t earlier representations (8 wide) and t label embeddings (3 wide), no fusion parameters.
        let concat = Self.makeModel(Self.small { $0.fusion = .concat })
        XCTAssertEqual(widths(concat), [d, d + 8 + 3, d + 16 + 6])
        XCTAssertEqual(prefixes(concat), ["embedding", "dense_projection", "towers", "label_embeddings"])
        XCTAssertEqual(widths(Self.makeModel(Self.small { $0.fusion = .concat; $0.repLayer = .last })), [d, d + 4 + 3, d + 8 + 6])
        let own = Self.makeModel(Self.small { $0.ifuIncludesOwn = true; $0.fusion = .concat })
        XCTAssertEqual(widths(own), [d, d + 16 + 3, d + 24 + 6])
        XCTAssertEqual(own.ownRepresentations.map { $0 != nil }, [false, true, true])
        let bottom = Self.makeModel(Self.small { $0.backbone = .sharedBottom; $0.sharedBottomWidths = [12, 10] })
        XCTAssertEqual(widths(bottom), [10, 10, 10])
        XCTAssertEqual(prefixes(bottom), ["embedding", "dense_projection", "bottom", "towers"])
        XCTAssertEqual(bottom.sharedParameters.count, 3 + 4)
        // A ZILN core task: a 3-wide head.
        let ziln = Self.tasks.dropLast() + [TaskSpec(name: "amount", kind: .continuous, loss: .zeroInflatedLognormal)]
        let output = Self.makeModel(Self.small(), tasks: Array(ziln))(Self.batch(), .inference())
        guard case .zeroInflatedLognormal(let logits) = output.heads[2] else { return XCTFail("ZILN core head") }
        XCTAssertEqual(logits.shape, [12, 3])
        let softplus = Self.makeModel(Self.small { $0.coreActivation = .softplus })(Self.batch(), .inference())
        guard case .value(let v) = softplus.heads[2] else { return XCTFail("value head") }
        XCTAssertTrue(v.value.scalars.allSatisfy { $0 > 0 })
    }

    func testConfigurationDecodesMissingKeysAsDefaults() throws {
        let decoded: HTLNet.Configuration = try registryConfiguration("htlnet", #"{"fusion": "concat", "towerWidths": [4]}"#)
        var expected = HTLNet.Configuration()
        expected.fusion = .concat
        expected.towerWidths = [4]
        XCTAssertEqual(decoded, expected)
        let roundTrip = try JSONDecoder().decode(HTLNet.Configuration.self, from: JSONEncoder().encode(Self.small { $0.labelSampling = .straightThrough }))
        XCTAssertEqual(roundTrip, Self.small { $0.labelSampling = .straightThrough })
        XCTAssertEqual(HTLNet.Configuration().temperature, TemperatureSchedule(initial: 10, decay: 0.9, interval: 5_000, minimum: 0.5))
    }

    /// L_2 (the core loss) as a function of task 2's fusion units and the label tables — and, without the
    /// stop-gradient, of task 1's output layer, whose logit reaches L_2 only through LEU_1 (sigmoid, clamp, log,
    /// Gumbel-softmax). With the stop-gradient, Λ_1 is checked but not Λ_0: Λ_0 also reaches L_2 through task 1's
    /// tower and sg(p_1), sg(rep_1), which finite differences see and the stop-gradient removes by design.
    /// Tower 2's weights (×2.5 per layer) and the query/key maps (×3) are scaled up so that the gradients carry
    /// signal; the smallest (task 2's representation query/key) are still ≥ 0.03, hence `minimumSignal` 0.02
    /// (a factor-2 error there is still 3× the tolerance).
    func testFiniteDifferencesThroughLabelEmbeddingAndFusionInsideTheModel() {
        for stop in [true, false] {
            let model = Self.makeModel(Self.small { $0.stopGradientOnTransfer = stop })
            for linear in model.towers[2].linears + [model.towers[2].output!] { linear.weight.value = linear.weight.value.scaled(by: 2.5) }
            for unit in [model.representationFusions[2]!, model.labelFusions[2]!] {
                for p in unit.query.parameters + unit.key.parameters { p.value = p.value.scaled(by: 3) }
            }
            let batch = Self.batch()
            var rng = SeededGenerator(seed: 5)
            let noise: [Tensor?] = [.gumbel([12, 2], using: &rng), .gumbel([12, 2], using: &rng), nil]
            let checked = (stop ? model.labelEmbeddings[1]!.parameters : model.labelEmbeddings[0]!.parameters + model.labelEmbeddings[1]!.parameters)
                + model.representationFusions[2]!.parameters + model.labelFusions[2]!.parameters
                + (stop ? [] : model.towers[1].output!.parameters)
            GradientCheck.assert([], parameters: checked, relativeStep: 1e-3, minimumSignal: 0.02, "stop-gradient \(stop)") { tape, _ in
                let output = model.forward(batch, ForwardContext(tape: tape, mode: .training), labelNoise: noise)
                return taskLosses(output, batch: batch, tasks: Self.tasks)[2]
            }
        }
    }

    func testTemperatureFollowsTheTrainingStep() throws {
        let schedule = TemperatureSchedule(initial: 4, decay: 0.5, interval: 2, minimum: 0.5)
        let model = Self.makeModel(Self.small { $0.temperature = schedule })
        XCTAssertEqual(model.temperature, 4)
        let step = TrainingStep(model: model, tasks: Self.tasks, optimizer: SGD(learningRate: 0.01), balancer: Self.htlBalancer())
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<5 { try step(Self.batch(), rng: &rng) }
        XCTAssertEqual(step.stepsTaken, 5)
        XCTAssertEqual(model.temperature, schedule.temperature(atStep: 4))  // the fifth step ran at step index 4
        XCTAssertEqual(model.labelEmbeddings[0]?.temperature, 1)
        model.trainingProgress(step: 1_000, epoch: 3)
        XCTAssertEqual(model.labelEmbeddings[1]?.temperature, 0.5)
    }

    private static func htlBalancer() -> HTLNetBalancer {
        HTLNetBalancer(adjustment: HTLNetGradientAdjustment(), coreTask: 2, weights: [1, 1, 1])
    }

    /// A step with `HTLNetBalancer` equals a hand-assembled step: task-specific parameters get the ordinary
    /// gradient of Σ L_t, shared ones HTLNet's combination of the per-task gradients (also for the shared-bottom
    /// backbone, whose shared set includes dense layers).
    func testStepEqualsHandAssembledGradients() throws {
        for c in [Self.small(), Self.small { $0.backbone = .sharedBottom; $0.sharedBottomWidths = [12, 10] }] {
            let (a, b) = (Self.makeModel(c), Self.makeModel(c))
            let batch = Self.batch()
            let step = TrainingStep(model: a, tasks: Self.tasks, optimizer: SGD(learningRate: 0), balancer: Self.htlBalancer())
            var rng = SeededGenerator(seed: 11)
            let result = try step(batch, rng: &rng)

            let tape = Tape()
            let output = b(batch, ForwardContext(tape: tape, mode: .training, rng: SeededGenerator(seed: 11)))
            let losses = taskLosses(output, batch: batch, tasks: Self.tasks)
            let perTask = losses.map { GradientSet(of: $0, on: tape, wrt: b.sharedParameters) }
            let (combined, report) = HTLNetGradientAdjustment().combine(perTask, coreTask: 2)
            XCTAssertEqual(result.record.details["magnitudeWeight"], report.magnitudeWeights.map(Float.init))
            XCTAssertEqual(result.record.details["conflict"], report.projected.map { $0 ? 1 : 0 })
            tape.backward(losses[0] + losses[1] + losses[2])
            let shared = Set(b.sharedParameters.map(\.name))
            for (p, q) in zip(a.parameters, b.parameters) {
                let expected = shared.contains(p.name) ? combined.tensors[b.sharedParameters.firstIndex { $0 === q }!] : q.grad
                XCTAssertEqual(p.grad?.count, expected?.count, p.name)
                guard let g = p.grad, let e = expected else { continue }
                XCTAssertLessThanOrEqual(g.maxRelativeDifference(to: e, floor: 1e-6), 1e-5, p.name)
            }
            XCTAssertEqual(a.embedding.table.gradientRows, tape.rowsRead(by: b.embedding.table))
            XCTAssertTrue(report.projected.contains(true) || report.magnitudeWeights.contains { $0 != 1 })
        }
    }
}
