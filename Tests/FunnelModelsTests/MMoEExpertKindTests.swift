import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// MMoE with CTR interaction blocks as experts: parameter names as documented on `MMoE`, forward and backward
/// through every kind (homogeneous and mixed), and configurations from before `expertKind` existed.
final class MMoEExpertKindTests: XCTestCase {
    private let settings = ExpertSettings(cross: .init(layers: 2, rank: 3), nfmWidths: [4], autoInt: .init(layers: 1, headWidth: 2),
                                          fint: .init(layers: 2), cin: .init(layerSizes: [4, 2]))

    private func model(_ configuration: MMoE.Configuration) -> MMoE {
        var rng = SeededGenerator(seed: 7)
        return MMoE(configuration: configuration, features: SmallProblem.features, tasks: SmallProblem.tasks, using: &rng)
    }

    func testHomogeneousDCNV2Experts() throws {
        let m = model(configured(.init()) {
            $0.embeddingWidth = 4
            $0.experts = 3
            $0.expertWidths = [8, 6]
            $0.towerWidths = [4]
            $0.expertKind = .dcnV2
            $0.expertSettings = settings
        })
        let names = Set(m.parameters.map(\.name))
        // F = 5 fields of width 4: D = 20, full rank (D ≤ 512), projected to h = 6.
        for i in 0..<3 {
            for suffix in ["cross.layers.0.weight", "cross.layers.0.bias", "cross.layers.1.weight", "projection.weight", "projection.bias"] {
                XCTAssertTrue(names.contains("experts.\(i).\(suffix)"), "missing experts.\(i).\(suffix)")
            }
        }
        XCTAssertEqual(m.parameters.first { $0.name == "experts.0.cross.layers.0.weight" }?.value.shape, [20, 20])
        XCTAssertEqual(m.parameters.first { $0.name == "experts.2.projection.weight" }?.value.shape, [6, 20])
        XCTAssertFalse(names.contains { $0.hasPrefix("experts.0.linears") })
        XCTAssertEqual(m.gates[0].linear.weight.value.shape, [3, 20])
        XCTAssertEqual(Set(m.sharedParameters.map(\.name)),
                       Set(names.filter { $0.hasPrefix("experts.") || $0.hasPrefix("embedding") || $0.hasPrefix("dense_projection") }))
        try trainAndCheckGradients(m)
    }

    func testHeterogeneousExperts() throws {
        let kinds: [ExpertKind] = [.mlp, .dcn, .dcnV2, .nfm, .autoInt, .fint, .cin]
        let m = model(configured(.init()) {
            $0.embeddingWidth = 4
            $0.experts = 99
            $0.expertWidths = [8, 6]
            $0.towerWidths = [4]
            $0.expertKinds = kinds
            $0.expertSettings = settings
        })
        XCTAssertEqual(m.experts.count, kinds.count, "expertKinds overrides experts")
        XCTAssertEqual(m.gates[1].linear.weight.value.shape, [kinds.count, 20])
        let names = Set(m.parameters.map(\.name))
        for expected in ["experts.0.linears.1.weight", "experts.0.norms.0.weight", "experts.1.cross.layers.1.weight",
                         "experts.2.cross.layers.1.weight", "experts.3.mlp.linears.0.weight", "experts.3.projection.weight",
                         "experts.4.autoint.layers.0.attention.query.weight", "experts.4.autoint.layers.0.residual.weight",
                         "experts.5.fint.layers.1.scale", "experts.6.cin.layers.1.weight", "experts.6.projection.bias"] {
            XCTAssertTrue(names.contains(expected), "missing \(expected)")
        }
        XCTAssertFalse(names.contains("experts.0.projection.weight"), "an MLP expert of width h needs no projection")
        XCTAssertEqual(m.parameters.first { $0.name == "experts.1.cross.layers.0.weight" }?.value.shape, [1, 20], "dcn: vector form")
        XCTAssertEqual(m.buffers.filter { $0.name.hasPrefix("experts.3.mlp.norms.0.") }.count, 2, "NFM expert's batch norm buffers")
        try trainAndCheckGradients(m)
    }

    /// Heads by task kind; every expert receives gradient from both tasks' outputs; a few steps reduce the loss on a
    /// fixed batch.
    private func trainAndCheckGradients(_ m: MMoE, file: StaticString = #filePath, line: UInt = #line) throws {
        let batch = SmallProblem.batch()
        let tape = Tape()
        let output = m(batch, ForwardContext(tape: tape, mode: .training))
        guard case .logit = output.heads[0], case .value = output.heads[1] else {
            return XCTFail("heads \(output.heads): a logit for the binary task, a value for the continuous one", file: file, line: line)
        }
        for (i, expert) in m.experts.enumerated() {
            for head in output.heads {
                let grads = tape.gradients(of: head.valueOrLogit.sum(), wrt: expert.parameters)
                XCTAssertTrue(grads.contains { $0.scalars.contains { $0 != 0 } }, "expert \(i) gets no gradient", file: file, line: line)
            }
        }
        let step = TrainingStep(model: m, tasks: SmallProblem.tasks, optimizer: Adam(learningRate: 0.01))
        var rng = SeededGenerator(seed: 8)
        let first = try step(batch, rng: &rng).losses.reduce(0, +)
        var last = first
        for _ in 0..<20 { last = try step(batch, rng: &rng).losses.reduce(0, +) }
        XCTAssertLessThan(last, 0.8 * first, "loss \(first) → \(last)", file: file, line: line)
    }

    func testOldConfigurationsStillDecode() throws {
        let old = #"{"embeddingWidth": 4, "experts": 3, "expertWidths": [8, 6], "towerWidths": [4], "batchNorm": true, "dropout": 0}"#
        let c: MMoE.Configuration = try registryConfiguration("mmoe", old)
        XCTAssertEqual(c.expertKind, .mlp)
        XCTAssertNil(c.expertKinds)
        XCTAssertEqual(c.kinds, [.mlp, .mlp, .mlp])
        XCTAssertEqual(try (registryConfiguration("mmoe", "{}") as MMoE.Configuration).experts, 8)
        let mixed: MMoE.Configuration = try registryConfiguration("mmoe", #"{"expertKinds": ["mlp", "autoInt"], "expertSettings": {"autoInt": {"heads": 1}}}"#)
        XCTAssertEqual(mixed.kinds, [.mlp, .autoInt])
        XCTAssertEqual(mixed.expertSettings.autoInt.heads, 1)
        XCTAssertEqual(mixed.expertSettings.autoInt.headWidth, 8, "nested options merge key by key")
        let roundTrip = try JSONDecoder().decode(MMoE.Configuration.self, from: JSONEncoder().encode(mixed))
        XCTAssertEqual(roundTrip.kinds, mixed.kinds)
    }

    func testExpertSettingsMergeFromPartialJSON() throws {
        let json = #"{"expertSettings": {"cross": {"form": "mixture"}, "autoInt": {"heads": 4}}}"#
        let settings = try (registryConfiguration("mmoe", json) as MMoE.Configuration).expertSettings
        XCTAssertEqual(settings.cross.form, .mixture)
        XCTAssertEqual(settings.cross.layers, 3)
        XCTAssertEqual(settings.autoInt.heads, 4)
        XCTAssertEqual(settings.autoInt.headWidth, 8)
        XCTAssertEqual(settings.nfmWidths, [64])
        XCTAssertEqual(settings.cin, CIN.Options())
    }

    func testMLPKindKeepsTheClassicModel() throws {
        // Same names, shapes and initial values as an MMoE built with the default kind: the parity model is unchanged.
        let classic = model(configured(.init()) {
            $0.embeddingWidth = 4
            $0.experts = 3
            $0.expertWidths = [8, 6]
            $0.towerWidths = [4]
        })
        let explicit = model(configured(.init()) {
            $0.embeddingWidth = 4
            $0.experts = 3
            $0.expertWidths = [8, 6]
            $0.towerWidths = [4]
            $0.expertKinds = [.mlp, .mlp, .mlp]
        })
        XCTAssertEqual(classic.parameters.map(\.name), explicit.parameters.map(\.name))
        XCTAssertTrue(classic.experts.allSatisfy { $0 is MLP })
        for (a, b) in zip(classic.parameters, explicit.parameters) { XCTAssertEqual(a.value.scalars, b.value.scalars, a.name) }
    }
}
