import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// PyTorch parity of whole models on `Tests/Fixtures/models/` (written by `scripts/make_model_fixtures.py` from the
/// twins `PerTaskModel` and `MixedMMoE` of `bench/torch_ctr.py`): vocabularies [5, 7, 3], 2 numeric features,
/// d = 4, 16 rows, task 0 binary (logit), task 1 continuous (value). One training-mode forward (batch norm on,
/// dropout 0): outputs, the summed task loss from `taskLosses`, and the gradient of every parameter.
///
/// Tolerances: `assertParity(_:key:in:)` (1e-5 relative against PyTorch, or Funnel as accurate as PyTorch against
/// the float64 evaluation). Biases whose exact gradient is zero — a `Linear` feeding a batch norm, and NFM's `bi_norm`
/// shift, which feeds the tower's first `Linear` and batch norm — carry only float32 noise in both implementations; they
/// are recognised by their float64 gradient (< 1e-12) and compared with the RMS of their layer's weight gradient as
/// floor, as in `MMoEParityTests`.
final class CTRParityTests: XCTestCase {
    static let features = FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 2)
    static let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "amount", kind: .continuous)]

    private func check<Model: MultiTaskModel>(_ name: String, _ configuration: Model.Configuration, as type: Model.Type,
                                              file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try ParityFixture(name + ".json", area: "models")
        var rng = SeededGenerator(seed: 9)
        let model = Model(configuration: configuration, features: Self.features, tasks: Self.tasks, using: &rng)
        let data: Set = ["x_cat", "x_dense", "y", "outputs", "loss"]
        let expected = Set(fixture.names.filter { !$0.hasPrefix("grad.") && !$0.hasPrefix("f64.") && !data.contains($0) })
        XCTAssertEqual(Set(model.parameters.map(\.name)), expected, "\(name): parameter names", file: file, line: line)
        XCTAssertEqual(model.parameters.count, expected.count, "\(name): duplicate names", file: file, line: line)
        for parameter in model.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, "\(name): \(parameter.name)", file: file, line: line)
            parameter.value = value
        }
        let ids = try fixture.doubles("x_cat").map { Int32(exactly: $0)! }
        let batch = Batch(count: 16, ids: ids, numeric: try fixture.tensor("x_dense"), labels: try fixture.tensor("y"))

        let tape = Tape()
        let output = model(batch, ForwardContext(tape: tape, mode: .training))
        guard case .logit(let z) = output.heads[0], case .value(let v) = output.heads[1] else {
            return XCTFail("\(name): heads \(output.heads)", file: file, line: line)
        }
        var outputs = [Float]()
        for i in 0..<16 { outputs += [z.value.pointer[i], v.value.pointer[i]] }
        try assertParity(Tensor(shape: [16, 2], values: outputs), key: "outputs", in: fixture, file: file, line: line)
        let losses = taskLosses(output, batch: batch, tasks: Self.tasks)
        let total = losses[0] + losses[1]
        try assertParity(total.value, key: "loss", in: fixture, file: file, line: line)
        for (parameter, gradient) in zip(model.parameters, tape.gradients(of: total, wrt: model.parameters)) {
            var floor: Double?
            if try fixture.doubles("f64.grad." + parameter.name).allSatisfy({ abs($0) < 1e-12 }) {
                XCTAssertTrue(parameter.name.hasSuffix(".bias"), "\(name): unexpected zero gradient of \(parameter.name)", file: file, line: line)
                floor = rootMeanSquare(try fixture.tensor("grad." + parameter.name.dropLast("bias".count) + "weight"))
            }
            try assertParity(gradient, key: "grad." + parameter.name, in: fixture, floor: floor, file: file, line: line)
        }
    }

    func testDCN() throws {
        try check("dcn", configured(DCNConfiguration()) {
            $0.embeddingWidth = 4
            $0.crossLayers = 2
            $0.deepWidths = [6]
        }, as: DCN.self)
    }

    func testDCNV2StackedLowRank() throws {
        try check("dcnv2_stacked_low_rank",
                  configured(DCNV2Configuration()) {
                      $0.embeddingWidth = 4
                      $0.cross = .init(layers: 2, form: .lowRank, rank: 3)
                      $0.structure = .stacked
                      $0.deepWidths = [6]
                  }, as: DCNV2.self)
    }

    func testNFM() throws {
        try check("nfm", configured(NFMConfiguration()) { $0.embeddingWidth = 4; $0.towerWidths = [6] }, as: NFM.self)
    }

    func testAutoIntPlus() throws {
        try check("autoint_plus", configured(AutoIntPlusConfiguration()) {
            $0.embeddingWidth = 4
            $0.attention = .init(layers: 2, heads: 2, headWidth: 2)
            $0.deepWidths = [6]
        }, as: AutoIntPlus.self)
    }

    func testFINT() throws {
        try check("fint", configured(FINTConfiguration()) {
            $0.embeddingWidth = 4
            $0.interaction = .init(layers: 2)
            $0.towerWidths = [6, 5]
        }, as: FINT.self)
    }

    func testXDeepFM() throws {
        try check("xdeepfm", configured(XDeepFMConfiguration()) {
            $0.embeddingWidth = 4
            $0.cin = .init(layerSizes: [4, 3])
            $0.deepWidths = [6]
        }, as: XDeepFM.self)
    }

    func testMMoEWithMixedExperts() throws {
        let settings = ExpertSettings(cross: .init(layers: 2, form: .lowRank, rank: 3), nfmWidths: [4],
                                      autoInt: .init(layers: 1, heads: 2, headWidth: 2), fint: .init(layers: 2), cin: .init(layerSizes: [4, 2]))
        try check("mmoe_mixed", configured(MMoE.Configuration()) {
            $0.embeddingWidth = 4
            $0.expertWidths = [8, 6]
            $0.towerWidths = [4]
            $0.expertKinds = [.mlp, .dcn, .dcnV2, .nfm, .autoInt, .fint, .cin]
            $0.expertSettings = settings
        }, as: MMoE.self)
    }
}
