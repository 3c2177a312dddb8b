import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// A small layout and batch shared by the model tests: 3 categorical fields, one mean-pooled multi-valued field,
/// 2 numeric features (F = 5 fields), a binary task and a continuous one.
enum SmallProblem {
    static let features = FeatureLayout(vocabularySizes: [5, 7, 3], multiValued: [MultiValuedField(vocabularySize: 4, pooling: .mean)],
                                        numericCount: 2)
    static let tasks = [TaskSpec(name: "ctr", kind: .binary), TaskSpec(name: "amount", kind: .continuous)]

    static func batch(rows: Int = 8, seed: UInt64 = 1) -> Batch {
        var rng = SeededGenerator(seed: seed)
        var ids: [Int32] = [], offsets: [Int32] = [0], bagIDs: [Int32] = [], labels: [Float] = []
        for _ in 0..<rows {
            for v in features.vocabularySizes { ids.append(Int32(rng.next() % UInt64(v))) }
            for _ in 0..<Int(rng.next() % 3) { bagIDs.append(Int32(rng.next() % 4)) }
            offsets.append(Int32(bagIDs.count))
            labels += [Float(rng.next() % 2), rng.nextUnitFloat() * 2]
        }
        return Batch(count: rows, ids: ids, multiValued: [MultiValuedIDs(offsets: offsets, ids: bagIDs)],
                     numeric: Tensor.uniform([rows, 2], in: -1...1, using: &rng), labels: Tensor(shape: [rows, 2], values: labels))
    }
}

/// The single-task CTR models (baselines.md §13.7): one independent network per task, heads by task kind, names,
/// gradient isolation between tasks, the shared-embedding switch, partial-JSON configurations, and that a few
/// training steps fit a fixed batch.
final class CTRModelTests: XCTestCase {
    /// Builds `Model`, checks names, heads and per-task isolation, then trains on one batch.
    private func check<Model: MultiTaskModel>(
        _ type: Model.Type, _ configuration: Model.Configuration, components: [String], label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var rng = SeededGenerator(seed: 3)
        let model = Model(configuration: configuration, features: SmallProblem.features, tasks: SmallProblem.tasks, using: &rng)
        let names = model.parameters.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "\(label): duplicate names", file: file, line: line)
        for t in 0..<2 {
            for component in ["embedding.weight", "dense_projection.weight"] + components {
                XCTAssertTrue(names.contains { $0.hasPrefix("networks.\(t).\(component)") },
                              "\(label): no networks.\(t).\(component)* in \(names)", file: file, line: line)
            }
        }
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("networks.0.") || $0.hasPrefix("networks.1.") }, "\(label)", file: file, line: line)
        XCTAssertTrue(model.sharedParameters.isEmpty, "\(label): independent networks share nothing", file: file, line: line)

        let batch = SmallProblem.batch()
        let tape = Tape()
        let output = model(batch, ForwardContext(tape: tape, mode: .training))
        guard case .logit(let z) = output.heads[0], case .value(let y) = output.heads[1] else {
            return XCTFail("\(label): heads \(output.heads)", file: file, line: line)
        }
        XCTAssertEqual(z.shape, [batch.count], file: file, line: line)
        XCTAssertEqual(y.shape, [batch.count], file: file, line: line)
        // Task 0's prediction depends on network 0 only.
        let own = model.parameters.filter { $0.name.hasPrefix("networks.0.") }, other = model.parameters.filter { $0.name.hasPrefix("networks.1.") }
        let grads = tape.gradients(of: z.sum(), wrt: own + other)
        XCTAssertTrue(grads.prefix(own.count).contains { $0.scalars.contains { $0 != 0 } }, "\(label)", file: file, line: line)
        XCTAssertTrue(grads.suffix(other.count).allSatisfy { $0.scalars.allSatisfy { $0 == 0 } }, "\(label): task 1 leaks", file: file, line: line)

        let step = TrainingStep(model: model, tasks: SmallProblem.tasks, optimizer: Adam(learningRate: 0.01))
        var stepRNG = SeededGenerator(seed: 4)
        let first = try step(batch, rng: &stepRNG).losses
        var last = first
        for _ in 0..<30 { last = try step(batch, rng: &stepRNG).losses }
        for t in 0..<2 {
            XCTAssertTrue(last[t].isFinite && last[t] < 0.8 * first[t], "\(label) task \(t): loss \(first[t]) → \(last[t])",
                          file: file, line: line)
        }
    }

    func testDCN() throws {
        try check(DCN.self, configured(DCNConfiguration()) { $0.embeddingWidth = 4; $0.crossLayers = 2; $0.deepWidths = [8, 6] },
              components: ["cross.layers.1.weight", "deep.linears.1", "deep.norms.0", "output."], label: "DCN")
    }

    func testDCNV2Forms() throws {
        for form in [CrossNetwork.Form.full, .lowRank, .mixture] {
            let cross = CrossNetwork.Options(layers: 2, form: form, rank: 3, experts: 2)
            try check(DCNV2.self, configured(DCNV2Configuration()) {
                $0.embeddingWidth = 4
                $0.cross = cross
                $0.deepWidths = [8]
            },
                  components: ["cross.layers.1.", "deep.linears.0", "output."], label: "DCN-V2 \(form)")
        }
        try check(DCNV2.self, configured(DCNV2Configuration()) {
            $0.embeddingWidth = 4
            $0.cross = .init(layers: 2)
            $0.structure = .stacked
            $0.deepWidths = [8]
        },
              components: ["cross.layers.1.weight", "deep.linears.0", "output."], label: "DCN-V2 stacked")
    }

    func testNFM() throws {
        try check(NFM.self, configured(NFMConfiguration()) { $0.embeddingWidth = 4; $0.towerWidths = [8] },
              components: ["linear.embedding.weight", "linear.dense_projection.weight", "bi_norm.", "tower.linears.0", "tower.output."],
              label: "NFM")
    }

    func testAutoIntPlus() throws {
        try check(AutoIntPlus.self, configured(AutoIntPlusConfiguration()) {
            $0.embeddingWidth = 4
            $0.attention = .init(layers: 2, heads: 2, headWidth: 2)
            $0.deepWidths = [8]
        },
              components: ["autoint.layers.1.attention.query.weight", "autoint.layers.0.residual.weight", "attention_output.", "deep.output."],
              label: "AutoInt+")
    }

    func testFINT() throws {
        try check(FINT.self, configured(FINTConfiguration()) {
            $0.embeddingWidth = 4
            $0.interaction = .init(layers: 2)
            $0.towerWidths = [8, 8]
        },
              components: ["fint.layers.1.weight", "fint.layers.1.scale", "tower.linears.1", "tower.output."], label: "FINT")
    }

    func testXDeepFM() throws {
        try check(XDeepFM.self, configured(XDeepFMConfiguration()) {
            $0.embeddingWidth = 4
            $0.cin = .init(layerSizes: [4, 2])
            $0.deepWidths = [8]
        },
              components: ["linear.bias", "cin.layers.1.weight", "cin_output.", "deep.output."], label: "xDeepFM")
    }

    func testSharedEmbedding() throws {
        var rng = SeededGenerator(seed: 5)
        let model = DCN(configuration: configured(DCNConfiguration()) {
            $0.embeddingWidth = 4
            $0.shareEmbedding = true
            $0.crossLayers = 1
            $0.deepWidths = [4]
        },
                        features: SmallProblem.features, tasks: SmallProblem.tasks, using: &rng)
        XCTAssertEqual(model.sharedParameters.map(\.name), ["embedding.weight", "dense_projection.weight", "dense_projection.bias"])
        XCTAssertFalse(model.parameters.contains { $0.name.hasPrefix("networks.0.embedding") })
        let tape = Tape()
        let output = model(SmallProblem.batch(), ForwardContext(tape: tape, mode: .training))
        let grads = tape.gradients(of: output.heads[1].valueOrLogit.sum(), wrt: model.sharedParameters)
        XCTAssertTrue(grads[0].scalars.contains { $0 != 0 }, "the shared embedding receives every task's gradient")
    }

    func testConfigurationsMergeFromPartialJSON() throws {
        XCTAssertEqual(try (registryConfiguration("dcn", "{}") as DCNConfiguration).deepWidths, [256, 128, 64])
        let v2: DCNV2Configuration = try registryConfiguration("dcn-v2", #"{"cross": {"form": "lowRank", "rank": 16}, "structure": "stacked"}"#)
        XCTAssertEqual(v2.cross.form, .lowRank)
        XCTAssertEqual(v2.cross.rank, 16)
        XCTAssertEqual(v2.structure, .stacked)
        XCTAssertEqual(v2.embeddingWidth, 16)
        XCTAssertEqual(try (registryConfiguration("nfm", #"{"dropout": 0.2}"#) as NFMConfiguration).dropout, 0.2)
        XCTAssertEqual(try (registryConfiguration("autoint", #"{"attention": {"scaleScores": true}}"#) as AutoIntPlusConfiguration)
            .attention, AutoInt.Options(scaleScores: true))
        XCTAssertEqual(try (registryConfiguration("fint", "{}") as FINTConfiguration).towerWidths, [300, 300, 300])
        XCTAssertEqual(try (registryConfiguration("xdeepfm", #"{"shareEmbedding": true}"#) as XDeepFMConfiguration).shareEmbedding, true)
        XCTAssertThrowsError(try registryConfiguration("xdeepfm", #"{"shareEmbeding": true}"#) as XDeepFMConfiguration,
                             "a misspelt key is rejected")
        let encoded = try JSONEncoder().encode(configured(XDeepFMConfiguration()) { $0.cin = .init(layerSizes: [8, 4]) })
        XCTAssertEqual(try JSONDecoder().decode(XDeepFMConfiguration.self, from: encoded).cin.layerSizes, [8, 4])
    }
}

extension TaskHead {
    /// The prediction variable of a `.logit` or `.value` head.
    var valueOrLogit: Variable {
        switch self {
        case .logit(let z), .value(let z): return z
        default: preconditionFailure("unexpected head \(self)")
        }
    }
}
