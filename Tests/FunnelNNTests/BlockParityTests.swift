import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelNN

/// PyTorch parity of every CTR interaction block on the fixtures of `Tests/Fixtures/blocks/` (written by
/// `scripts/make_block_fixtures.py` from the twins in `bench/torch_ctr.py`; B = 4, F = 3, d = 4): parameter
/// names and shapes equal the twin's `state_dict`, and the forward output and the gradients of
/// `L = Σ seed ⊙ output` with respect to every parameter and the input agree to 1e-5 relative (default floor
/// `max(1e-6, RMS)`, see `ParityComparison`).
///
/// ## Cancellation-limited gradients
/// Some gradients are sums whose terms nearly cancel, so their float32 values carry errors far above 1e-5 of
/// their size in PyTorch as much as in Funnel. The fixtures therefore also hold the float64 evaluation of the
/// same twin from the same float32 values (`f64.*`). Where Funnel and PyTorch differ by more than 1e-5, the test
/// requires Funnel to be about as accurate as PyTorch (`assertParity(_:key:in:)`). Measured: `autoint_scaled_plain` (no residual, scaled scores, so the second
/// layer's attention is nearly uniform and its query/key gradients, RMS ~1e-4 against ~0.7 for the values, cancel):
/// PyTorch is 2.2e-5 from float64 there.
///
/// The key bias of an attention block has an exactly zero gradient (it shifts every score of a query row by the
/// same amount, which softmax ignores); both implementations return float32 noise, compared with the RMS of the
/// key weight's gradient as floor (the scale of the cancelling terms), as the pre-batch-norm biases in
/// `MLPParityTests`.
final class BlockParityTests: XCTestCase {
    private let (fields, width) = (3, 4)

    /// Loads the fixture's parameters into `block`, runs `forward` on the tracked inputs, compares. `data` names
    /// fixture tensors that are neither parameters nor differentiated inputs; `floors` maps a parameter to the
    /// parameter whose gradient RMS is its floor (exactly-zero gradients).
    private func checkParity(
        _ name: String, _ block: Module, inputs: [String] = ["e"], data: [String] = [], floors: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line,
        _ forward: ([Variable], ForwardContext) -> Variable
    ) throws {
        let fixture = try ParityFixture(name + ".json", area: "blocks")
        let reserved = Set(inputs + data + ["output", "seed"])
        let expected = Set(fixture.names.filter { !$0.hasPrefix("grad.") && !$0.hasPrefix("f64.") && !reserved.contains($0) })
        XCTAssertEqual(Set(block.parameters.map(\.name)), expected, "\(name): parameter names", file: file, line: line)
        XCTAssertEqual(block.parameters.count, expected.count, "\(name): duplicate names", file: file, line: line)
        for parameter in block.parameters {
            let value = try fixture.tensor(parameter.name)
            XCTAssertEqual(value.shape, parameter.value.shape, "\(name): \(parameter.name)", file: file, line: line)
            parameter.value = value
        }
        let tape = Tape()
        let tracked = try inputs.map { tape.variable(try fixture.tensor($0)) }
        let output = forward(tracked, ForwardContext(tape: tape, mode: .training))
        try assertParity(output.value, key: "output", in: fixture, file: file, line: line)
        let seed = try fixture.tensor("seed").reshaped(output.shape)
        for (parameter, gradient) in zip(block.parameters, tape.gradients(of: output, seed: seed, wrt: block.parameters)) {
            let floor = try floors[parameter.name].map { rootMeanSquare(try fixture.tensor("grad." + $0)) }
            try assertParity(gradient, key: "grad." + parameter.name, in: fixture, floor: floor, file: file, line: line)
        }
        for (input, gradient) in zip(inputs, tape.gradients(of: output, seed: seed, wrt: tracked)) {
            try assertParity(gradient, key: "grad." + input, in: fixture, file: file, line: line)
        }
    }

    private func cross(_ options: CrossNetwork.Options) -> CrossNetwork {
        var rng = SeededGenerator(seed: 1)
        return CrossNetwork(width: fields * width, options: options, name: "", using: &rng)
    }

    func testCrossNetworkForms() throws {
        let cases: [(String, CrossNetwork.Options)] = [
            ("cross_vector", .init(layers: 2, form: .vector)),
            ("cross_full", .init(layers: 2, form: .full)),
            ("cross_low_rank", .init(layers: 2, form: .lowRank, rank: 3)),
            ("cross_mixture", .init(layers: 2, form: .mixture, rank: 2, experts: 3)),
            ("cross_combined_gated", .init(layers: 2, form: .combined, residual: .gated)),
        ]
        for (name, options) in cases {
            let block = cross(options)
            try checkParity(name, block) { block($0[0], $1) }
        }
    }

    func testBiInteraction() throws {
        let block = BiInteraction(fieldCount: fields, embeddingWidth: width)
        try checkParity("bi_interaction", block) { block($0[0], $1) }
    }

    func testFirstOrderTerm() throws {
        let fixture = try ParityFixture("first_order.json", area: "blocks")
        var rng = SeededGenerator(seed: 2)
        let term = FirstOrderTerm(vocabularySizes: [5, 7, 3], numericFeatures: 2, name: "", using: &rng)
        let ids = try fixture.doubles("x_cat").map { Int32(exactly: $0)! }
        let numeric = try fixture.tensor("x_dense")
        // The numeric features are data (no gradient in Funnel), so only the parameters are compared.
        try checkParity("first_order", term, inputs: [], data: ["x_cat", "x_dense"]) { _, context in
            term(ids: ids, numeric: numeric, context)
        }
    }

    func testMultiHeadAttention() throws {
        var rng = SeededGenerator(seed: 3)
        let block = MultiHeadAttention(queryWidth: 4, keyWidth: 5, heads: 2, headWidth: 3, valueHeadWidth: 2, bias: true,
                                       scaleScores: true, outputWidth: 6, name: "", using: &rng)
        try checkParity("attention", block, inputs: ["x", "y"], floors: ["key.bias": "key.weight"]) {
            block(queries: $0[0], keys: $0[1], $1)
        }
    }

    func testAutoInt() throws {
        for (name, residual, scale) in [("autoint", true, false), ("autoint_scaled_plain", false, true)] {
            var rng = SeededGenerator(seed: 4)
            let block = AutoInt(fieldCount: fields, embeddingWidth: width,
                                options: .init(layers: 2, heads: 2, headWidth: 3, residual: residual, scaleScores: scale),
                                name: "", using: &rng)
            XCTAssertEqual(block.outputWidth, fields * 6)
            try checkParity(name, block) { block($0[0], $1) }
        }
    }

    func testFieldInteraction() throws {
        for (name, mixing) in [("fint", FieldInteraction.Mixing.input), ("field_phn", .current)] {
            var rng = SeededGenerator(seed: 5)
            let block = FieldInteraction(fieldCount: fields, embeddingWidth: width, options: .init(layers: 2, mixing: mixing),
                                         name: "", using: &rng)
            try checkParity(name, block) { block($0[0], $1) }
        }
    }

    func testCIN() throws {
        for (name, options) in [("cin", CIN.Options(layerSizes: [4, 3], splitHalf: true)),
                                ("cin_relu_full", CIN.Options(layerSizes: [3, 2], splitHalf: false, activation: .relu))] {
            var rng = SeededGenerator(seed: 6)
            let block = CIN(fieldCount: fields, embeddingWidth: width, options: options, name: "", using: &rng)
            XCTAssertEqual(block.outputWidth, name == "cin" ? 2 + 3 : 3 + 2)
            try checkParity(name, block) { block($0[0], $1) }
        }
    }
}
