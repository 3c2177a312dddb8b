import XCTest
import FunnelCore
import FunnelTestSupport

/// Softplus, clamp (HTLNet's label-embedding input) and Gumbel noise.
final class BoundedOpTests: XCTestCase {
    func testSoftplusGradient() {
        let x = GradientCheck.tensor([4, 5], seed: 21, bound: 4)
        GradientCheck.assert([x]) { $0[0].softplus() }
    }

    func testSoftplusValuesAreStableForLargeInputs() {
        let y = Variable(Tensor(shape: [5], values: [-100, -1, 0, 1, 100])).softplus().value.scalars
        let expected: [Float] = [0, 0.31326169, 0.69314718, 1.31326169, 100]
        for (a, b) in zip(y, expected) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, b)) }
        XCTAssertTrue(y[0] >= 0 && y[0] < Float.leastNormalMagnitude, "softplus(−100) = e^−100 ≈ 3.7e-44: subnormal, not negative")
    }

    func testClampGradientInsideAndOutside() {
        // Values at least 0.1 (ten steps) away from the bounds ±0.5, on both sides of each.
        let x = Tensor(shape: [2, 4], values: [-1.5, -0.8, -0.3, 0.1, 0.35, 0.7, 1.2, -0.05])
        GradientCheck.assert([x]) { $0[0].clamped(to: -0.5...0.5) }
        let tape = Tape()
        let v = tape.variable(x)
        let g = tape.gradients(of: v.clamped(to: -0.5...0.5), wrt: [v])[0].scalars
        XCTAssertEqual(g, [0, 0, 1, 1, 1, 0, 0, 1])
    }

    func testClampValuesAndInclusiveBoundsLikePyTorch() {
        let x = Tensor(shape: [5], values: [-2, -0.5, 0, 0.5, 3])
        let tape = Tape()
        let v = tape.variable(x)
        let y = v.clamped(to: -0.5...0.5)
        XCTAssertEqual(y.value.scalars, [-0.5, -0.5, 0, 0.5, 0.5])
        // torch.clamp passes the gradient where min ≤ x ≤ max, bounds included.
        XCTAssertEqual(tape.gradients(of: y, wrt: [v])[0].scalars, [0, 1, 1, 1, 0])
    }

    func testGumbelNoiseIsReproducibleFiniteAndStandard() {
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        let g = Tensor.gumbel([20_000], using: &a)
        XCTAssertEqual(g.scalars, Tensor.gumbel([20_000], using: &b).scalars)
        XCTAssertTrue(g.scalars.allSatisfy { $0.isFinite })
        // Standard Gumbel: mean = Euler–Mascheroni γ ≈ 0.5772, variance π²/6 ≈ 1.6449. Standard errors with
        // 20,000 samples: 0.009 (mean), ≈ 0.03 (variance); the bounds are about 4 of them.
        let values = g.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        XCTAssertEqual(mean, 0.5772, accuracy: 0.04)
        XCTAssertEqual(variance, 1.6449, accuracy: 0.12)
    }

    func testGumbelExtremesAreClamped() {
        // u is clamped to [1e-10, 1 − 1e-10] in Float64: g ∈ [−log(−log 1e-10), −log(1e-10)] = [−3.137, 23.03].
        var rng = SeededGenerator(seed: 1)
        let g = Tensor.gumbel([100_000], using: &rng).scalars
        XCTAssertGreaterThanOrEqual(g.min()!, -3.14)
        XCTAssertLessThanOrEqual(g.max()!, 23.03)
    }
}

/// `Tape.parameterGradients(of:)`, `Tape.rowsRead(by:)` and row-sparse `GradientSet`s.
final class SparseGradientTests: XCTestCase {
    /// A table [6, 2] read by lookups of rows {4, 1, 4} and a dense weight w [2]; two losses.
    private func lookups() -> (Tape, Parameter, Parameter, Variable, Variable) {
        let table = Parameter(name: "table", value: GradientCheck.tensor([6, 2], seed: 3, bound: 1, margin: 0.1))
        let w = Parameter(name: "w", value: Tensor(shape: [2], values: [0.5, -2]))
        let tape = Tape()
        let rows = Variable.gatherRows(tape.watch(table), indices: [4, 1, 4])   // [3, 2]
        let l1 = (rows * tape.watch(w)).sum()
        let l2 = (rows * rows).sum()
        return (tape, table, w, l1, l2)
    }

    func testParameterGradientsListOnlyReachedParameters() {
        let (tape, table, w, l1, l2) = lookups()
        XCTAssertEqual(tape.parameterGradients(of: l1).map(\.parameter.name), ["table", "w"])
        let second = tape.parameterGradients(of: l2)
        XCTAssertEqual(second.map(\.parameter.name), ["table"], "l2 does not depend on w: no zero tensor is made")
        let dense = tape.gradients(of: l2, wrt: [table, w])
        XCTAssertEqual(second[0].gradient.scalars, dense[0].scalars)
        XCTAssertEqual(dense[1].scalars, [0, 0])
    }

    func testRowsReadAreDistinctAndSorted() {
        let (tape, table, w, _, _) = lookups()
        XCTAssertEqual(tape.rowsRead(by: table), [1, 4])
        XCTAssertNil(tape.rowsRead(by: w), "w is used densely")
        // A table that is also used densely has no row restriction.
        let other = Tape()
        let v = other.watch(table)
        _ = Variable.gatherRows(v, indices: [0]) + v.sum()
        XCTAssertNil(other.rowsRead(by: table))
    }

    func testRowSparseSetsMatchDenseComputation() {
        let (tape, table, w, l1, l2) = lookups()
        let sparse1 = GradientSet(of: l1, on: tape, wrt: [table, w]), sparse2 = GradientSet(of: l2, on: tape, wrt: [table, w])
        XCTAssertEqual(sparse1.rows.map { $0 }, [[1, 4], nil])
        let dense1 = GradientSet(parameters: [table, w], tensors: sparse1.tensors)
        let dense2 = GradientSet(parameters: [table, w], tensors: sparse2.tensors)
        XCTAssertEqual(sparse1.dot(sparse2), dense1.dot(dense2), accuracy: 1e-6 * abs(dense1.dot(dense2)))
        XCTAssertEqual(sparse1.norm, dense1.norm, accuracy: 1e-6 * dense1.norm)
        XCTAssertNotEqual(sparse1.dot(sparse2), 0)
        let combined = GradientSet.linearCombination([sparse1, sparse2], coefficients: [0.5, -3])
        let reference = GradientSet.linearCombination([dense1, dense2], coefficients: [0.5, -3])
        XCTAssertEqual(combined.rows[0], [1, 4])
        XCTAssertNil(reference.rows[0])
        for i in 0..<2 { XCTAssertEqual(combined.tensors[i].scalars, reference.tensors[i].scalars) }
        // Rows outside the lookups stay exactly zero.
        for row in [0, 2, 3, 5] { XCTAssertEqual(Array(combined.tensors[0].scalars[(2 * row)..<(2 * row + 2)]), [0, 0]) }
    }

    func testUnionOfDifferentRowsAndAssignment() {
        let p = Parameter(name: "t", value: Tensor(zeros: [4, 1]))
        let a = GradientSet(parameters: [p], gradients: [.rows(RowSparseGradient(rows: [1], values: Tensor(shape: [1, 1], values: [1])))])
        let b = GradientSet(parameters: [p], gradients: [.rows(RowSparseGradient(rows: [3], values: Tensor(shape: [1, 1], values: [2])))])
        let sum = a + b
        XCTAssertEqual(sum.rows[0], [1, 3])
        XCTAssertEqual(sum.tensors[0].scalars, [0, 1, 0, 2])
        XCTAssertEqual(a.dot(b), 0)
        sum.assign()
        XCTAssertEqual(p.gradientRows, [1, 3])
        a.accumulate()
        XCTAssertEqual(p.gradientRows, [1, 3])
        XCTAssertEqual(p.grad?.scalars, [0, 2, 0, 2])
        GradientSet(parameters: [p], tensors: [Tensor(zeros: [4, 1])]).accumulate()
        XCTAssertNil(p.gradientRows, "a dense contribution makes the gradient dense")
    }
}
