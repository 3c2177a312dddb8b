import XCTest
import FunnelCore

/// Combining per-task gradients of shared parameters from one forward pass.
final class GradientSetTests: XCTestCase {
    /// Two losses over a shared parameter w = [w0, w1] (and a second tensor v):
    /// L1 = 3·w0 + v0, L2 = −w0 + 2·w1 + v0 ⇒ G1 = ([3, 0], [1]), G2 = ([−1, 2], [1]).
    private func twoTaskGradients() -> (GradientSet, GradientSet) {
        let w = Parameter(name: "w", value: Tensor(shape: [2], values: [0.5, -0.25]))
        let v = Parameter(name: "v", value: Tensor(shape: [1], values: [2]))
        let tape = Tape()
        let wv = tape.watch(w), vv = tape.watch(v)
        let c1 = Variable(Tensor(shape: [2], values: [3, 0])), c2 = Variable(Tensor(shape: [2], values: [-1, 2]))
        let l1: Variable = (wv * c1).sum() + vv.sum()
        let l2: Variable = (wv * c2).sum() + vv.sum()
        return (GradientSet(of: l1, on: tape, wrt: [w, v]), GradientSet(of: l2, on: tape, wrt: [w, v]))
    }

    func testPerTaskGradientsFromOneForwardPass() {
        let (g1, g2) = twoTaskGradients()
        XCTAssertEqual(g1.tensors[0].scalars, [3, 0])
        XCTAssertEqual(g2.tensors[0].scalars, [-1, 2])
        XCTAssertEqual(g1.tensors[1].scalars, [1])
        let expectedDot: Double = -3 + 0 + 1
        XCTAssertEqual(g1.dot(g2), expectedDot)
        XCTAssertEqual(g1.norm, Double(10).squareRoot(), accuracy: 1e-12)
    }

    func testProjectionRemovesConflictingComponent() {
        let (g1, g2) = twoTaskGradients()
        // ⟨G2, G1⟩ = −2 < 0: PCGrad projects G2 onto the normal plane of G1: G2 − (−2/10)·G1.
        let projected = g2.removingProjection(onto: g1)
        let w = projected.tensors[0].scalars, v = projected.tensors[1].scalars
        XCTAssertEqual(w[0], Float(-0.4), accuracy: 1e-6)  // −1 + 0.2·3
        XCTAssertEqual(w[1], Float(2), accuracy: 1e-6)
        XCTAssertEqual(v[0], Float(1.2), accuracy: 1e-6)   // 1 + 0.2·1
        XCTAssertEqual(projected.dot(g1), 0, accuracy: 1e-6)
    }

    func testScaleSumAndAssignToParameters() {
        let (g1, g2) = twoTaskGradients()
        let combined = GradientSet.sum([g1.scaled(by: 0.5), g2])
        XCTAssertEqual(combined.tensors[0].scalars, [0.5, 2])
        combined.assign()
        XCTAssertEqual(combined.parameters[0].grad?.scalars, [0.5, 2])
        combined.accumulate()
        XCTAssertEqual(combined.parameters[0].grad?.scalars, [1, 4])
        XCTAssertEqual(combined.parameters[1].grad?.scalars, [3])
    }
}
