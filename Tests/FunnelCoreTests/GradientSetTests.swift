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

    /// Two lookups into a [6, 3] table (rows {1, 4} and {4, 5}) and a dense vector: the sets are row-sparse on the
    /// table, and every operation equals its dense counterpart.
    func testRowSparseTablesBehaveLikeDenseOnes() {
        let table = Parameter(name: "embedding.weight", value: Tensor(shape: [6, 3], values: (0..<18).map { Float($0) / 10 }))
        let bias = Parameter(name: "bias", value: Tensor(shape: [3], values: [0.5, -1, 2]))
        let tape = Tape()
        let t = tape.watch(table), b = tape.watch(bias)
        let l1 = ((Variable.gatherRows(t, indices: [1, 4]) * 2).sum(alongAxis: 0) * b).sum()
        let l2 = (Variable.gatherRows(t, indices: [4, 5, 5]).squared().sum(alongAxis: 0) + b).sum()
        let g1 = GradientSet(of: l1, on: tape, wrt: [table, bias]), g2 = GradientSet(of: l2, on: tape, wrt: [table, bias])
        XCTAssertEqual(tape.rowsRead(by: table), [1, 4, 5], "the union over the tape's lookups")
        XCTAssertEqual(g1.rows[0], [1, 4], "only the rows l1 reached: the set's size is the rows read, not the table's")
        XCTAssertEqual(g2.rows[0], [4, 5])
        XCTAssertNil(g1.rows[1], "dense tensors carry no rows")
        let dense1 = GradientSet(parameters: g1.parameters, tensors: g1.tensors), dense2 = GradientSet(parameters: g2.parameters, tensors: g2.tensors)
        XCTAssertEqual(g1.dot(g2), dense1.dot(dense2), accuracy: 1e-9)
        XCTAssertEqual(g1.norm(tensor: 0), dense1.norm(tensor: 0), accuracy: 1e-9)
        XCTAssertNotEqual(g1.dot(g2), 0)
        XCTAssertEqual(g1.removingProjection(onto: g2).tensors.map(\.scalars), dense1.removingProjection(onto: dense2).tensors.map(\.scalars))
        var scaled = g1
        scaled.scale(tensor: 0, by: 3)
        XCTAssertEqual(scaled.tensors[0].scalars, g1.tensors[0].scalars.map { $0 * 3 })
        XCTAssertEqual(scaled.tensors[1].scalars, g1.tensors[1].scalars, "other tensors untouched")
        XCTAssertNotEqual(g1.tensors[0].scalars, scaled.tensors[0].scalars, "copy-on-write: the original is unchanged")

        // Handing over keeps the rows, so lazy optimizers still update only those rows.
        table.zeroGradient()
        bias.zeroGradient()
        g1.assign()
        XCTAssertEqual(table.gradientRows, [1, 4])
        XCTAssertNil(bias.gradientRows)
        let onlyRow2 = GradientSet(parameters: [table, bias], gradients: [.rows(RowSparseGradient(rows: [2], values: Tensor(zeros: [1, 3]))),
                                                                   .dense(Tensor(zeros: [3]))])
        onlyRow2.accumulate()
        XCTAssertEqual(table.gradientRows, [1, 2, 4], "row-sparse sums keep the union")
        dense1.accumulate()
        XCTAssertNil(table.gradientRows, "a dense addition makes the gradient dense")
        // Union on add; a zero set is the neutral element.
        var total = GradientSet.zeros(like: [table, bias])
        total.add(g1)
        total.add(onlyRow2, scaledBy: 2)
        XCTAssertEqual(total.rows[0], [1, 2, 4])
        XCTAssertEqual(total.tensors[0].scalars, g1.tensors[0].scalars)
    }
}
