import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// Soft selection gating (dephn.md §4.2): the mix it computes, shared attention, and finite-difference checks
/// through SSG alone and through SSG → PHN cross layers → PHN field-interaction layers (DEPHN's private module).
final class SoftSelectionGatingTests: XCTestCase {
    let (batch, fields, width) = (3, 4, 4)

    func input(_ seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: [batch, fields * width], values: (0..<(batch * fields * width)).map { _ in Float(rng.nextNormal()) })
    }

    func randomize(_ parameter: Parameter, seed: UInt64, mean: Float = 0, scale: Float = 1) {
        var rng = SeededGenerator(seed: seed)
        for i in 0..<parameter.count { parameter.value.pointer[i] = mean + scale * Float(rng.nextNormal()) }
    }

    func testInitialGateTakesHalfOfEachViewAndExtremesSelectOne() {
        var rng = SeededGenerator(seed: 1)
        let ssg = SoftSelectionGating(fieldCount: fields, embeddingWidth: width, name: "ssg", using: &rng)
        XCTAssertEqual(ssg.parameters.map(\.name),
                       ["ssg.gate", "ssg.attention.query.weight", "ssg.attention.key.weight", "ssg.attention.value.weight",
                        "ssg.attention.output.weight"], "no biases anywhere in DEPHN's MSA")
        XCTAssertTrue(ssg.gate.value.scalars.allSatisfy { $0 == 0 })
        let e = input(2)
        let context = ForwardContext.inference()
        let attended = ssg.attention(Variable(e).reshaped([batch, fields, width]), context).value.reshaped([batch, fields * width])
        let mixed = ssg(Variable(e), context).value
        for i in 0..<e.count {
            XCTAssertEqual(mixed.pointer[i], 0.5 * (e.pointer[i] + attended.pointer[i]), accuracy: 1e-6)
        }
        XCTAssertFalse(zip(e.scalars, attended.scalars).allSatisfy { abs($0 - $1) < 1e-3 }, "the two views must differ")
        for (g, target) in [(Float(-40), e), (Float(40), attended)] {
            for i in 0..<ssg.gate.count { ssg.gate.value.pointer[i] = g }
            let out = ssg(Variable(e), context).value
            for i in 0..<e.count { XCTAssertEqual(out.pointer[i], target.pointer[i], accuracy: 1e-5) }
        }
        XCTAssertEqual(ssg.meanGate, 1, accuracy: 1e-6)
    }

    func testPerElementGateAndInspectionMeans() {
        let ssg = SoftSelectionGating(fieldCount: 2, embeddingWidth: 2, attention: makeAttention(width: 2), name: "b")
        ssg.gate.value = Tensor(shape: [4], values: [0, 0, 100, -100])
        XCTAssertEqual(ssg.fieldMeanGates, [0.5, 0.5])
        XCTAssertEqual(ssg.meanGate, 0.5, accuracy: 1e-7)
        ssg.gate.value = Tensor(shape: [4], values: [100, 100, 0, 0])
        XCTAssertEqual(ssg.fieldMeanGates, [1, 0.5])
        XCTAssertEqual(ssg.gateValues.shape, [2, 2])
    }

    func makeAttention(width: Int, seed: UInt64 = 3) -> MultiHeadAttention {
        var rng = SeededGenerator(seed: seed)
        return SoftSelectionGating.makeAttention(embeddingWidth: width, heads: 2, name: "attention", using: &rng)
    }

    func testSharedAttentionBranchesReuseOneDifference() {
        let attention = makeAttention(width: width)
        let a = SoftSelectionGating(fieldCount: fields, embeddingWidth: width, attention: attention, name: "ssg.a")
        let b = SoftSelectionGating(fieldCount: fields, embeddingWidth: width, attention: attention, name: "ssg.b")
        XCTAssertEqual(a.parameters.map(\.name), ["ssg.a.gate"], "a shared attention belongs to the model")
        randomize(a.gate, seed: 4)
        randomize(b.gate, seed: 5)
        let e = Variable(input(6)), context = ForwardContext.inference()
        let difference = SoftSelectionGating.attentionDifference(e, attention: attention, fieldCount: fields, context)
        for block in [a, b] {
            XCTAssertEqual(block.mixing(e, difference: difference, context).value.scalars, block(e, context).value.scalars)
        }
        XCTAssertNotEqual(a(e, context).value.scalars, b(e, context).value.scalars, "branches differ by their gates")
    }

    func testFiniteDifferencesThroughSSG() {
        var rng = SeededGenerator(seed: 7)
        let ssg = SoftSelectionGating(fieldCount: fields, embeddingWidth: width, name: "ssg", using: &rng)
        randomize(ssg.gate, seed: 8)
        GradientCheck.assert([input(9)], parameters: ssg.parameters, "SSG") { tape, inputs in
            ssg(inputs[0], ForwardContext(tape: tape, mode: .training))
        }
    }

    /// DEPHN's private module: E_sg = SSG(E), then the PHN cross layers (combined, gated residual) and the PHN
    /// field-interaction layers on E_sg, concatenated.
    func testFiniteDifferencesThroughSSGCrossAndField() {
        var rng = SeededGenerator(seed: 10)
        let ssg = SoftSelectionGating(fieldCount: fields, embeddingWidth: width, name: "ssg", using: &rng)
        let cross = CrossNetwork(width: fields * width, options: .init(layers: 2, form: .combined, residual: .gated), name: "cross", using: &rng)
        let field = FieldInteraction(fieldCount: fields, embeddingWidth: width, options: .init(layers: 2, mixing: .current),
                                     name: "field", using: &rng)
        randomize(ssg.gate, seed: 11)
        for (l, layer) in cross.layers.enumerated() {
            randomize(layer.residualScale!, seed: 12 + UInt64(l), mean: 1, scale: 0.2)
            randomize(layer.bias, seed: 14 + UInt64(l), scale: 0.1)
        }
        for (l, scale) in field.scales.enumerated() { randomize(scale, seed: 16 + UInt64(l), mean: 1, scale: 0.2) }
        let parameters = ssg.parameters + cross.parameters + field.parameters
        XCTAssertEqual(parameters.count, 5 + 2 * 4 + 2 * 2)
        // Small inputs keep the degree-2^L polynomial of the cross layers well conditioned for differences.
        let e = input(18).map({ $0 * 0.5 }, { $0 * 0.5 })
        // The query weights act through the softmax over 4 fields, so their gradients are the smallest (~0.05):
        // the signal floor is lowered to 0.02 (still far above the ~1e-3 difference noise).
        GradientCheck.assert([e], parameters: parameters, minimumSignal: 0.02, "SSG → cross → field") { tape, inputs in
            let context = ForwardContext(tape: tape, mode: .training)
            let view = ssg(inputs[0], context)
            return Variable.concat([cross(view, context), field(view, context)], alongAxis: 1)
        }
    }
}
