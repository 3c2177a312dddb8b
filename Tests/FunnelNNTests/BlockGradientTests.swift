import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelNN

/// Finite-difference checks through every CTR interaction block (every parameter and the input), at small sizes
/// (B = 3, F = 3, d = 2), plus shape and naming checks of the experts the `ExpertKind` factory builds.
final class BlockGradientTests: XCTestCase {
    private let (batch, fields, width) = (3, 3, 2)

    private func input(seed: UInt64, _ shape: [Int]? = nil) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor.uniform(shape ?? [batch, fields * width], in: -1...1, using: &rng)
    }

    /// Checks `block` on a random input `e` `[B, F·d]`.
    private func check(_ block: ExpertBlock, seed: UInt64, relativeStep: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line) {
        let e = input(seed: seed)
        let output = block(Variable(e), .inference())
        XCTAssertEqual(output.shape, [batch, block.outputWidth], file: file, line: line)
        GradientCheck.assert([e], parameters: block.parameters, relativeStep: relativeStep, minimumSignal: 0.01, file: file, line: line) { tape, inputs in
            block(inputs[0], ForwardContext(tape: tape, mode: .training))
        }
    }

    /// Sets every parameter to random values in ±[0.2, 0.8]: constant initial values (zero biases, unit scales)
    /// would hide a misplaced term, and this keeps ReLU pre-activations away from their kink.
    private func randomize(_ module: Module, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for parameter in module.parameters {
            for i in 0..<parameter.count {
                let magnitude = 0.2 + 0.6 * rng.nextUnitFloat()
                parameter.value.pointer[i] = rng.next() & 1 == 0 ? magnitude : -magnitude
            }
        }
    }

    func testCrossNetworkForms() {
        let forms: [(CrossNetwork.Form, CrossNetwork.Residual)] = [
            (.vector, .plain), (.full, .plain), (.lowRank, .none), (.mixture, .plain), (.combined, .gated),
        ]
        for (form, residual) in forms {
            var rng = SeededGenerator(seed: 1)
            let block = CrossNetwork(width: fields * width, options: .init(layers: 2, form: form, rank: 2, experts: 2, residual: residual),
                                     name: "cross", using: &rng)
            randomize(block, seed: 2)
            check(block, seed: 3)
        }
    }

    func testCrossNetworkDefaultForm() {
        var rng = SeededGenerator(seed: 1)
        let small = CrossNetwork(width: 512, options: .init(layers: 1), name: "", using: &rng)
        XCTAssertEqual(small.form, .full)
        XCTAssertEqual(small.parameters.map(\.name), ["layers.0.weight", "layers.0.bias"])
        let large = CrossNetwork(width: 656, options: .init(layers: 1), name: "", using: &rng)
        XCTAssertEqual(large.form, .lowRank)
        XCTAssertEqual(large.layers[0].down?.weight.value.shape, [64, 656])
        let mixture = CrossNetwork(width: 40, options: .init(layers: 1, form: .mixture), name: "", using: &rng)
        XCTAssertEqual(mixture.layers[0].core?.value.shape, [4, 32, 32])
    }

    func testBiInteraction() {
        let block = BiInteraction(fieldCount: fields, embeddingWidth: width)
        check(block, seed: 4)
        // Σ_k f_BI = Σ_{f<g} ⟨v_f, v_g⟩ (FM's second-order term).
        let e = input(seed: 5)
        let pooled = block(Variable(e), .inference()).value
        for b in 0..<batch {
            var pairs: Float = 0
            for f in 0..<fields {
                for g in (f + 1)..<fields {
                    for k in 0..<width { pairs += e.pointer[b * fields * width + f * width + k] * e.pointer[b * fields * width + g * width + k] }
                }
            }
            XCTAssertEqual(pooled.pointer[b * width] + pooled.pointer[b * width + 1], pairs, accuracy: 1e-5)
        }
    }

    func testFirstOrderTerm() {
        var rng = SeededGenerator(seed: 6)
        let term = FirstOrderTerm(vocabularySizes: [3, 2], bags: [(4, .mean)], numericFeatures: 2, name: "linear", using: &rng)
        XCTAssertEqual(term.parameters.map(\.name), ["linear.embedding.weight", "linear.dense_projection.weight", "linear.bias"])
        randomize(term, seed: 7)
        let ids: [Int32] = [0, 1, 2, 0, 1, 1]
        let bag: (offsets: [Int32], ids: [Int32]) = ([0, 2, 2, 3], [1, 3, 2])  // row 1 empty, id 0 would be padding
        let numeric = input(seed: 8, [batch, 2])
        GradientCheck.assert([], parameters: term.parameters, minimumSignal: 0.01) { tape, _ in
            term(ids: ids, bagIDs: [bag], numeric: numeric, ForwardContext(tape: tape, mode: .training))
        }
        // Row 0 by hand: w0 + w[0] + w[3 + 1] + mean(w[5 + 1], w[5 + 3]) + ⟨w_num, x_0⟩.
        let w = term.weights!.table.value, wn = term.denseProjection!.weight.value
        let z = term(ids: ids, bagIDs: [bag], numeric: numeric, .inference()).value
        XCTAssertEqual(z.shape, [batch])
        let expected = term.bias!.value.pointer[0] + w.pointer[0] + w.pointer[4] + (w.pointer[6] + w.pointer[8]) / 2
            + wn.pointer[0] * numeric.pointer[0] + wn.pointer[1] * numeric.pointer[1]
        XCTAssertEqual(z.pointer[0], expected, accuracy: 1e-6)
    }

    func testMultiHeadAttention() {
        var rng = SeededGenerator(seed: 9)
        let block = MultiHeadAttention(queryWidth: 3, keyWidth: 2, heads: 2, headWidth: 2, valueHeadWidth: 1, bias: true,
                                       scaleScores: true, outputWidth: 3, name: "mha", using: &rng)
        randomize(block, seed: 21)
        let queries = input(seed: 10, [2, 2, 3]), keys = input(seed: 11, [2, 4, 2]), values = input(seed: 12, [2, 4, 2])
        // The key bias has an exactly zero gradient (softmax ignores a per-row shift): excluded from the signal check.
        let checked = block.parameters.filter { $0.name != "mha.key.bias" }
        GradientCheck.assert([queries, keys, values], parameters: checked, minimumSignal: 0.01) { tape, v in
            block(queries: v[0], keys: v[1], values: v[2], ForwardContext(tape: tape, mode: .training))
        }
        let weights = block.attentionWeights(queries: queries, keys: keys)
        XCTAssertEqual(weights.shape, [2, 2, 2, 4])
        for row in 0..<8 { XCTAssertEqual((0..<4).reduce(Float(0)) { $0 + weights.pointer[row * 4 + $1] }, 1, accuracy: 1e-6) }
    }

    func testAutoInt() {
        // With the residual: without it, one attention layer makes the field tokens nearly equal and the next
        // layer's query/key gradients vanish (~1e-5), which would make their check vacuous (the PyTorch parity
        // fixture `autoint_scaled_plain` covers that configuration). Step 1e-3 for the ReLUs (see GradientCheck).
        for scale in [false, true] {
            var rng = SeededGenerator(seed: 13)
            let block = AutoInt(fieldCount: fields, embeddingWidth: width,
                                options: .init(layers: 2, heads: 2, headWidth: 2, residual: true, scaleScores: scale), name: "a",
                                using: &rng)
            XCTAssertEqual(block.outputWidth, fields * 4)
            // Sharper attention (query and key weights ×4), so that their gradients are large enough to check.
            for parameter in block.parameters where parameter.name.contains("query") || parameter.name.contains("key") {
                parameter.value = parameter.value.scaled(by: 4)
            }
            check(block, seed: 14, relativeStep: 1e-3)
        }
    }

    func testFieldInteraction() {
        for mixing in [FieldInteraction.Mixing.input, .current] {
            var rng = SeededGenerator(seed: 15)
            let block = FieldInteraction(fieldCount: fields, embeddingWidth: width, options: .init(layers: 2, mixing: mixing),
                                         name: "f", using: &rng)
            randomize(block, seed: 16)
            check(block, seed: 17)
        }
    }

    func testCIN() {
        for options in [CIN.Options(layerSizes: [4, 3]), CIN.Options(layerSizes: [2, 3], splitHalf: false)] {
            var rng = SeededGenerator(seed: 18)
            let block = CIN(fieldCount: fields, embeddingWidth: width, options: options, name: "cin", using: &rng)
            randomize(block, seed: 19)
            check(block, seed: 20)
        }
    }
}

/// The `ExpertKind` factory: every kind builds, projects to the common width, and names its parameters as
/// documented.
final class ExpertKindTests: XCTestCase {
    func testEveryKindBuildsProjectsAndNames() {
        let (fields, width, batch) = (3, 4, 5)
        var rng = SeededGenerator(seed: 1)
        let e = Tensor.uniform([batch, fields * width], in: -1...1, using: &rng)
        let prefixes: [ExpertKind: [String]] = [
            .mlp: ["x.linears.", "x.norms."], .dcn: ["x.cross.layers.", "x.projection."], .dcnV2: ["x.cross.layers.", "x.projection."],
            .nfm: ["x.mlp.linears.", "x.mlp.norms.", "x.projection."], .autoInt: ["x.autoint.layers.", "x.projection."],
            .fint: ["x.fint.layers.", "x.projection."], .cin: ["x.cin.layers.", "x.projection."],
        ]
        for kind in ExpertKind.allCases {
            let expert = kind.makeExpert(fieldCount: fields, embeddingWidth: width, mlpWidths: [8, 6], batchNorm: true, dropout: 0,
                                         settings: ExpertSettings(cross: .init(layers: 2), autoInt: .init(layers: 1, headWidth: 2),
                                                                  cin: .init(layerSizes: [4, 2])),
                                         projectTo: 6, name: "x", using: &rng)
            XCTAssertEqual(expert.outputWidth, 6, "\(kind)")
            let names = expert.parameters.map(\.name)
            for prefix in prefixes[kind]! {
                XCTAssertTrue(names.contains { $0.hasPrefix(prefix) }, "\(kind): no parameter under \(prefix) in \(names)")
            }
            XCTAssertTrue(names.allSatisfy { name in prefixes[kind]!.contains { name.hasPrefix($0) } }, "\(kind): \(names)")
            XCTAssertEqual(Set(names).count, names.count, "\(kind): duplicate names")
            let tape = Tape()
            let y = expert(Variable(e), ForwardContext(tape: tape, mode: .training))
            XCTAssertEqual(y.shape, [batch, 6], "\(kind)")
            let grads = tape.gradients(of: y.sum(), wrt: expert.parameters)
            XCTAssertTrue(grads.contains { g in g.scalars.contains { $0 != 0 } }, "\(kind): no gradient reaches the parameters")
        }
    }

    func testMLPKindWithoutProjectionIsAPlainMLP() {
        var rng = SeededGenerator(seed: 2)
        let expert = ExpertKind.mlp.makeExpert(fieldCount: 2, embeddingWidth: 3, mlpWidths: [5, 4], batchNorm: false, dropout: 0,
                                               projectTo: 4, name: "experts.0", using: &rng)
        XCTAssertTrue(expert is MLP)
        XCTAssertEqual(expert.parameters.map(\.name), ["experts.0.linears.0.weight", "experts.0.linears.0.bias",
                                                       "experts.0.linears.1.weight", "experts.0.linears.1.bias"])
        let dcn = ExpertKind.dcn.makeExpert(fieldCount: 2, embeddingWidth: 3, mlpWidths: [], batchNorm: false, dropout: 0,
                                            projectTo: 6, name: "d", using: &rng)
        XCTAssertNil((dcn as? InteractionExpert)?.projection, "no projection when the widths already agree")
        XCTAssertEqual((dcn as? InteractionExpert)?.block.parameters.first?.value.shape, [1, 6], "dcn is the vector form")
    }
}
