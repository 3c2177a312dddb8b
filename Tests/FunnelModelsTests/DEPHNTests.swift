import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// DEPHN's behaviour beyond parity: the virtual gradient is exactly Γ times the plain gate gradient with an
/// unchanged forward, it runs only in training forwards, every switch builds the structure the spec describes,
/// the inspection report, and training on a learnable toy problem.
final class DEPHNTests: XCTestCase {
    static let features = FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4)
    static let binaryTasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "conversion", kind: .binary)]

    static func small(_ edit: (inout DEPHN.Configuration) -> Void = { _ in }) -> DEPHN.Configuration {
        var c = DEPHN.Configuration()
        c.embeddingWidth = 4
        c.expertWidths = [8, 6]
        c.crossLayers = 2
        c.fieldLayers = 2
        c.embeddingInit = .xavierUniform
        edit(&c)
        return c
    }

    /// 16 rows; labels: task 0 from field 0's id, task 1 = task 0 with a few flips (correlated, not equal).
    static func batch(rows: Int = 16, tasks: Int = 2, seed: UInt64 = 7) -> Batch {
        var rng = SeededGenerator(seed: seed)
        var ids = [Int32](), numeric = [Float](), labels = [Float]()
        for r in 0..<rows {
            let first = Int32(rng.next() % 5)
            ids += [first, Int32(rng.next() % 7), Int32(rng.next() % 3)]
            numeric += (0..<4).map { _ in Float(rng.nextNormal()) }
            let click: Float = first >= 2 ? 1 : 0
            labels += (0..<tasks).map { t in t == 0 || r % 5 != 0 ? click : 1 - click }
        }
        return Batch(count: rows, ids: ids, numeric: Tensor(shape: [rows, 4], values: numeric),
                     labels: Tensor(shape: [rows, tasks], values: labels))
    }

    static func make(_ c: DEPHN.Configuration, tasks: [TaskSpec] = binaryTasks, seed: UInt64 = 1) -> DEPHN {
        var rng = SeededGenerator(seed: seed)
        return DEPHN(configuration: c, features: features, tasks: tasks, using: &rng)
    }

    static func loss(_ output: ModelOutput, _ batch: Batch, _ tasks: [TaskSpec] = binaryTasks) -> Variable {
        let losses = taskLosses(output, batch: batch, tasks: tasks)
        return losses.dropFirst().reduce(losses[0], +)
    }

    // MARK: Virtual gradient

    func testGateGradientIsExactlyGammaTimesPlainGradientAndForwardIsUnchanged() throws {
        let batch = Self.batch()
        let scaled = Self.make(Self.small()), plain = Self.make(Self.small { $0.virtualGradient = false })
        var rng = SeededGenerator(seed: 3)
        for (a, b) in zip(scaled.gates.compactMap(\.trainableValue), plain.gates.compactMap(\.trainableValue)) {
            a.weight.value = Tensor(shape: [3, 2], values: (0..<6).map { _ in 1 + 0.5 * Float(rng.nextNormal()) })
            b.weight.value = a.weight.value.copy()
        }
        XCTAssertEqual(scaled.parameters.map(\.name), plain.parameters.map(\.name))
        var grads: [[Tensor]] = [], outputs: [[Tensor]] = []
        for model in [scaled, plain] {
            let tape = Tape()
            let output = model(batch, ForwardContext(tape: tape, mode: .training))
            outputs.append(output.heads.map { $0.logit.value })
            for p in model.parameters { p.zeroGradient() }
            tape.backward(Self.loss(output, batch))
            grads.append(model.parameters.map { $0.grad! })
        }
        for (a, b) in zip(outputs[0], outputs[1]) { XCTAssertTrue(bitIdentical(a, b), "the forward value is unchanged") }
        let record = try XCTUnwrap(scaled.lastVirtualGradient)
        XCTAssertNil(plain.lastVirtualGradient)
        for (i, parameter) in scaled.parameters.enumerated() {
            guard let t = scaled.gates.compactMap(\.trainableValue).firstIndex(where: { $0.weight === parameter }) else {
                XCTAssertTrue(bitIdentical(grads[0][i], grads[1][i]), "\(parameter.name): only gate gradients change")
                continue
            }
            let gamma = record.coefficients[t]
            XCTAssertGreaterThan(Set(gamma).count, 3, "Γ must vary over (expert, mapping)")
            XCTAssertTrue(gamma.contains { abs($0 - 1) > 0.1 })
            XCTAssertEqual(grads[0][i].scalars, zip(grads[1][i].scalars, gamma).map { $0 * $1 }, "\(parameter.name) = Γ ⊙ plain")
            // Γ from the definition: addSqrt of |Pearson| and the gate difference, product over the other task.
            let x = try XCTUnwrap(LabelSimilarity.pearsonCorrelation(batch.labels(ofTask: 0).scalars, batch.labels(ofTask: 1).scalars))
            let valueGates = scaled.gates.compactMap(\.trainableValue)
            let own = valueGates[t].values.scalars, other = valueGates[1 - t].values.scalars
            let expected = zip(own, other).map { Float(VirtualGradientFunction.addSqrt(abs(x), min(1, abs(Double($0) - Double($1))))) }
            XCTAssertEqual(gamma, expected)
        }
    }

    func testVirtualGradientRunsOnlyInTrainingForwards() throws {
        let batch = Self.batch()
        let model = Self.make(Self.small())
        _ = model(batch, .inference())
        XCTAssertNil(model.lastVirtualGradient, "evaluation forwards do not read labels")
        _ = model(batch, ForwardContext(tape: nil, mode: .training))
        XCTAssertEqual(model.lastVirtualGradient?.coefficients.map(\.count), [6, 6])
        // A batch whose conversion labels are all 0: x = 0 (default) or the pair skipped (Γ = 1).
        let constant = Batch(count: 16, ids: batch.ids, numeric: batch.numeric,
                             labels: Tensor(shape: [16, 2], values: (0..<32).map { $0 % 2 == 0 ? Float($0 / 2 % 2) : 0 }))
        _ = model(constant, ForwardContext(tape: nil, mode: .training))
        XCTAssertNil(model.lastVirtualGradient!.similarities[0][1])
        XCTAssertEqual(model.lastVirtualGradient!.coefficients[0], [Float](repeating: Float(VirtualGradientFunction.addSqrt(0, 0)), count: 6))
        let skipping = Self.make(Self.small { $0.constantLabelPolicy = .skip })
        _ = skipping(constant, ForwardContext(tape: nil, mode: .training))
        XCTAssertEqual(skipping.lastVirtualGradient!.coefficients, [[Float](repeating: 1, count: 6), [Float](repeating: 1, count: 6)])
    }

    // MARK: Structure of the switches

    func testDefaultStructureAndSharedParameters() throws {
        let model = Self.make(Self.small())
        let names = Set(model.parameters.map(\.name))
        for expected in ["embedding.weight", "dense_projection.weight", "attention.query.weight", "attention.output.weight",
                         "ssg.dnn.gate", "ssg.cf.0.gate", "ssg.cf.1.gate", "dnn.2.linears.1.weight", "cross.1.layers.1.weight",
                         "cross.0.layers.0.vector_weight", "cross.0.layers.0.residual_scale", "field.1.layers.1.scale",
                         "gates.0", "gates.1", "public_heads.0.weight", "private_heads.1.bias"] {
            XCTAssertTrue(names.contains(expected), expected)
        }
        XCTAssertFalse(names.contains("attention.output.bias"))
        XCTAssertEqual(model.gates.compactMap(\.trainableValue)[0].weight.value.shape, [3, 2], "K = 3 experts × P = 2 mappings")
        XCTAssertEqual(model.publicHeads[0].inputWidth, 3 * 2 * 6)
        XCTAssertEqual(model.privateHeads[0].inputWidth, 2 * 16)
        XCTAssertEqual(model.experts.cross[0].form, .combined)
        XCTAssertEqual(model.experts.field[0].mixing, .current)
        XCTAssertEqual(model.publicExpertNames, ["dnn.0", "dnn.1", "dnn.2"])
        let shared = Set(model.sharedParameters.map(\.name))
        XCTAssertTrue(shared.isSuperset(of: ["embedding.weight", "attention.key.weight", "ssg.dnn.gate", "dnn.0.linears.0.weight"]))
        XCTAssertTrue(shared.isDisjoint(with: ["ssg.cf.0.gate", "cross.0.layers.0.weight", "field.1.layers.0.weight", "gates.0",
                                               "public_heads.0.weight", "private_heads.0.weight"]))
    }

    func testPlacementsAndSwitches() throws {
        let cfPublic = Self.make(Self.small { $0.placement = .dnnPublicCFPublic; $0.mappings = .rmSinCos })
        XCTAssertEqual(cfPublic.publicExpertNames, ["dnn.0", "dnn.1", "dnn.2", "cross", "field"])
        XCTAssertEqual(cfPublic.gates.compactMap(\.trainableValue)[0].weight.value.shape, [5, 3])
        XCTAssertTrue(cfPublic.privateHeads.isEmpty)
        XCTAssertTrue(Set(cfPublic.sharedParameters.map(\.name)).isSuperset(of: ["ssg.cf.gate", "cross.layers.0.weight", "field.layers.0.scale"]))

        let dnnPrivate = Self.make(Self.small { $0.placement = .dnnPrivateCFPublic; $0.useSSG = false; $0.gating = .mapping })
        let names = Set(dnnPrivate.parameters.map(\.name))
        XCTAssertTrue(names.isSuperset(of: ["dnn.1.2.linears.0.weight", "cross.layers.1.bias", "gates.0.weight", "gates.1.bias"]))
        XCTAssertTrue(names.isDisjoint(with: ["attention.query.weight", "ssg.cf.gate", "gates.0"]))
        XCTAssertEqual(dnnPrivate.gates.compactMap(\.mapping)[0].linear.outputWidth, 2 * 2, "cross and field × RM, TM")
        XCTAssertEqual(dnnPrivate.privateHeads[0].inputWidth, 3 * 6)
        XCTAssertFalse(Set(dnnPrivate.sharedParameters.map(\.name)).contains("dnn.0.0.linears.0.weight"))

        let ownAttention = Self.make(Self.small { $0.sharedAttention = false; $0.towerHidden = [5]; $0.residual = .none })
        let own = Set(ownAttention.parameters.map(\.name))
        XCTAssertTrue(own.isSuperset(of: ["ssg.dnn.attention.query.weight", "ssg.cf.1.attention.value.weight", "towers.1.5.linears.0.weight"]))
        XCTAssertFalse(own.contains("attention.query.weight"))
        XCTAssertFalse(own.contains { $0.hasSuffix("residual_scale") })
        XCTAssertEqual(ownAttention.publicHeads[0].inputWidth, 6 * 5)

        let batch = Self.batch()
        for model in [cfPublic, dnnPrivate, ownAttention] {
            let output = model(batch, ForwardContext(tape: nil, mode: .training))
            XCTAssertEqual(output.heads.map { $0.logit.shape }, [[16], [16]])
            XCTAssertTrue(output.heads.allSatisfy { $0.logit.value.scalars.allSatisfy(\.isFinite) })
        }
    }

    func testHeadsForContinuousTasksAndAveragedProbabilities() throws {
        let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "amount", kind: .continuous)]
        let batch = Self.batch()
        let values = Self.make(Self.small(), tasks: tasks)(batch, .inference())
        guard case .value(let amount) = values.heads[1] else { return XCTFail("continuous task must have a value head") }
        XCTAssertEqual(amount.shape, [16])
        // Without private experts ½(σ(z^pub) + σ(z^pri)) reduces to σ(z^pub): compare with the logit of the same weights.
        let probabilities = Self.make(Self.small { $0.placement = .dnnPublicCFPublic; $0.outputCombination = .averageProbabilities })
        let logits = Self.make(Self.small { $0.placement = .dnnPublicCFPublic })
        guard case .probability(let p) = probabilities(batch, .inference()).heads[0] else { return XCTFail("probability head expected") }
        let z = logits(batch, .inference()).heads[0].logit.sigmoid()
        XCTAssertEqual(p.value.scalars, z.value.scalars)
        let averaged = Self.make(Self.small { $0.outputCombination = .averageProbabilities })(batch, .inference())
        guard case .probability(let q) = averaged.heads[1] else { return XCTFail("probability head expected") }
        XCTAssertTrue(q.value.scalars.allSatisfy { $0 > 0 && $0 < 1 })
    }

    func testConfigurationDecodesPartialJSON() throws {
        let json = #"{"placement": "dnnPrivateCFPublic", "vgFunction": "mulCos", "virtualGradientClip": 2.5, "towerHidden": [64]}"#
        let c: DEPHN.Configuration = try registryConfiguration(DEPHN.registryName, json)
        XCTAssertEqual(c.placement, .dnnPrivateCFPublic)
        XCTAssertEqual(c.vgFunction, .mulCos)
        XCTAssertEqual(c.virtualGradientClip, 2.5)
        XCTAssertEqual(c.towerHidden, [64])
        var expected = DEPHN.Configuration()
        expected.placement = .dnnPrivateCFPublic
        expected.vgFunction = .mulCos
        expected.virtualGradientClip = 2.5
        expected.towerHidden = [64]
        XCTAssertEqual(c, expected, "every other key keeps its default")
        XCTAssertEqual(try JSONDecoder().decode(DEPHN.Configuration.self, from: JSONEncoder().encode(c)), c)
        XCTAssertThrowsError(try registryConfiguration(DEPHN.registryName, #"{"gating": "attention"}"#) as DEPHN.Configuration)
        XCTAssertThrowsError(try registryConfiguration(DEPHN.registryName, #"{"gatting": "mapping"}"#) as DEPHN.Configuration,
                             "a misspelt key is rejected")
    }

    // MARK: Inspection

    func testInspectionReportsGatesCoefficientsAndSSGMeans() throws {
        let model = Self.make(Self.small())
        model.gates.compactMap(\.trainableValue)[1].weight.value = Tensor(shape: [3, 2], values: [1.5, 0.25, 1, 1, 2, 0.75])
        model.experts.crossFieldGating[0].gate.value = Tensor(repeating: 40, shape: [16])
        let before = model.inspection()
        XCTAssertNil(before.similarities)
        XCTAssertNil(before.tasks[0].coefficients)
        _ = model(Self.batch(), ForwardContext(tape: nil, mode: .training))
        let report = model.inspection()
        XCTAssertEqual(report.experts, ["dnn.0", "dnn.1", "dnn.2"])
        XCTAssertEqual(report.mappings, ["RM", "TM(sin)"])
        XCTAssertEqual(report.tasks.map(\.task), ["click", "conversion"])
        XCTAssertEqual(report.tasks[1].values, [[1.5, 0.25], [1, 1], [2, 0.75]])
        XCTAssertEqual(report.tasks[0].coefficients?.joined().map { $0 }, model.lastVirtualGradient!.coefficients[0])
        XCTAssertEqual(report.branches.map(\.branch), ["ssg.dnn", "ssg.cf.0", "ssg.cf.1"])
        XCTAssertEqual(report.branches[0].mean, 0.5, accuracy: 1e-7)
        XCTAssertEqual(report.branches[1].mean, 1, accuracy: 1e-6)
        XCTAssertEqual(report.branches[1].fieldMeans.count, 4)
        let markdown = report.markdown
        for fragment in ["## Task `conversion`", "| dnn.2 | 2.0000 | 0.7500 |", "gate TM(sin)", "Γ RM", "| ssg.cf.0 | 1.0000 |",
                         "## Label similarity"] {
            XCTAssertTrue(markdown.contains(fragment), "missing \(fragment) in\n\(markdown)")
        }
        XCTAssertEqual(try JSONDecoder().decode(DEPHNInspection.self, from: JSONEncoder().encode(report)), report)
    }

    func testInspectionOfMappingGatesAveragesABatch() throws {
        let model = Self.make(Self.small { $0.gating = .mapping; $0.useSSG = false })
        XCTAssertNil(model.inspection().tasks[0].values, "mapping gates need data")
        let report = model.inspection(on: Self.batch())
        let values = try XCTUnwrap(report.tasks[1].values)
        XCTAssertEqual(values.joined().reduce(0, +), 1, accuracy: 1e-5, "batch means of softmax rows sum to 1")
        XCTAssertTrue(report.branches.isEmpty)
        XCTAssertTrue(report.markdown.contains("SSG is off"))
    }

    // MARK: Training

    func testTrainingStepsLowerTheLossOfDEPHNAndMTPHN() throws {
        let batch = Self.batch(rows: 32)
        var rng = SeededGenerator(seed: 11)
        let dephn = DEPHN(configuration: Self.small(), features: Self.features, tasks: Self.binaryTasks, using: &rng)
        var configuration = MTPHN.Configuration()
        configuration.embeddingWidth = 4
        configuration.expertWidths = [8, 6]
        configuration.embeddingInit = .xavierUniform
        let mtphn = MTPHN(configuration: configuration, features: Self.features, tasks: Self.binaryTasks, using: &rng)
        func train(_ model: some MultiTaskModel) throws -> (Float, Float) {
            let step = TrainingStep(model: model, tasks: Self.binaryTasks, optimizer: Adam(learningRate: 0.01))
            var stepRNG = SeededGenerator(seed: 0)
            let first = try step(batch, rng: &stepRNG).losses.reduce(0, +)
            var last = first
            for _ in 0..<40 { last = try step(batch, rng: &stepRNG).losses.reduce(0, +) }
            return (first, last)
        }
        for (name, (first, last)) in [("dephn", try train(dephn)), ("mt-phn", try train(mtphn))] {
            XCTAssertLessThan(last, 0.5 * first, "\(name): loss \(first) → \(last)")
        }
        XCTAssertNotNil(dephn.lastVirtualGradient)
    }
}
