import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// The Information Fusion Unit: finite differences through inputs and all three maps, the attention weights,
/// and the single-input case.
final class AttentionFusionTests: XCTestCase {
    private func fusion(inputWidth: Int = 4, width: Int = 5) -> AttentionFusion {
        var rng = SeededGenerator(seed: 3)
        let unit = AttentionFusion(inputWidth: inputWidth, width: width, name: "fusion", using: &rng)
        // Larger query/key weights than the default init, so the attention weights vary and the scores carry signal.
        for p in unit.query.parameters + unit.key.parameters { p.value = p.value.scaled(by: 3) }
        return unit
    }

    private func inputs(_ n: Int, width: Int = 4) -> [Tensor] {
        (0..<n).map { GradientCheck.tensor([3, width], seed: UInt64(30 + $0), bound: 1.5) }
    }

    func testFiniteDifferencesOverTwoAndThreeInputs() {
        for n in [2, 3] {
            let unit = fusion()
            GradientCheck.assert(inputs(n), parameters: unit.parameters, "\(n) inputs") { tape, u in
                unit(u, ForwardContext(tape: tape, mode: .training))
            }
        }
    }

    func testWeightsAreASoftmaxOfScaledSelfScores() {
        let unit = fusion()
        let u = inputs(3)
        let (fused, weights) = unit.attend(u.map { Variable($0) }, .inference())
        XCTAssertEqual(weights.shape, [3, 3])
        XCTAssertEqual(fused.shape, [3, 5])
        let context = ForwardContext.inference()
        let v = u.map { unit.value(Variable($0), context).value }, q = u.map { unit.query(Variable($0), context).value }
        let k = u.map { unit.key(Variable($0), context).value }
        for b in 0..<3 {
            let scores = (0..<3).map { j in (0..<5).reduce(Float(0)) { $0 + q[j].pointer[b * 5 + $1] * k[j].pointer[b * 5 + $1] } / Float(5).squareRoot() }
            let top = scores.max()!, exps = scores.map { expf($0 - top) }, total = exps.reduce(0, +)
            for j in 0..<3 { XCTAssertEqual(weights.value.pointer[b * 3 + j], exps[j] / total, accuracy: 1e-6) }
            for c in 0..<5 {
                let expected = (0..<3).reduce(Float(0)) { $0 + exps[$1] / total * v[$1].pointer[b * 5 + c] }
                XCTAssertEqual(fused.value.pointer[b * 5 + c], expected, accuracy: 1e-5)
            }
        }
        XCTAssertGreaterThan(weights.value.scalars.max()! - weights.value.scalars.min()!, 0.05, "weights are not uniform")
    }

    func testSingleInputIsTheValueMapAndLeavesQueryAndKeyUntouched() {
        let unit = fusion()
        let u = inputs(1)[0]
        GradientCheck.assert([u], parameters: unit.value.parameters) { tape, x in
            unit([x[0]], ForwardContext(tape: tape, mode: .training))
        }
        let tape = Tape()
        let f = unit([Variable(u)], ForwardContext(tape: tape, mode: .training))
        XCTAssertEqual(f.value.scalars, unit.value(Variable(u), .inference()).value.scalars)
        XCTAssertEqual(Set(tape.parameterGradients(of: f.sum()).map(\.parameter.name)), ["fusion.h1.weight", "fusion.h1.bias"])
    }

    func testParameterNames() {
        XCTAssertEqual(fusion().parameters.map(\.name),
                       ["fusion.h1.weight", "fusion.h1.bias", "fusion.h2.weight", "fusion.h2.bias", "fusion.h3.weight", "fusion.h3.bias"])
    }
}
