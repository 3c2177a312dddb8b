import Foundation
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Finite-difference checks of elementwise arithmetic in every broadcasting role, and of scalar arithmetic.
final class ArithmeticGradientTests: XCTestCase {
    typealias Op = (Variable, Variable) -> Variable

    private let ops: [(String, Op)] = [
        ("+", { $0 + $1 }),
        ("-", { $0 - $1 }),
        ("*", { $0 * $1 }),
        ("/", { $0 / $1 }),
    ]

    /// Checks `a op b` and `b op a` for all four ops, with both operands tracked. Values are kept ≥ 0.5 away
    /// from zero so that division is well conditioned.
    private func checkAllOps(_ aShape: [Int], _ bShape: [Int], expectedShape: [Int],
                             file: StaticString = #filePath, line: UInt = #line) {
        let a = GradientCheck.tensor(aShape, seed: 1, bound: 2, margin: 0.5)
        let b = GradientCheck.tensor(bShape, seed: 2, bound: 2, margin: 0.5)
        for (name, op) in ops {
            let forward = op(Variable(a), Variable(b))
            XCTAssertEqual(forward.shape, expectedShape, "\(aShape) \(name) \(bShape)", file: file, line: line)
            guard forward.shape == expectedShape else { continue }
            GradientCheck.assert([a, b], "\(aShape) \(name) \(bShape)", file: file, line: line) { op($0[0], $0[1]) }
            GradientCheck.assert([b, a], "\(bShape) \(name) \(aShape)", file: file, line: line) { op($0[0], $0[1]) }
        }
    }

    func testFullShapes() { checkAllOps([3, 5], [3, 5], expectedShape: [3, 5]) }

    func testFullShapesRank3() { checkAllOps([2, 3, 4], [2, 3, 4], expectedShape: [2, 3, 4]) }

    func testRowVector() { checkAllOps([4, 5], [5], expectedShape: [4, 5]) }

    func testRowMatrix() { checkAllOps([4, 5], [1, 5], expectedShape: [4, 5]) }

    func testRowVectorAgainstRank3() { checkAllOps([2, 3, 4], [4], expectedShape: [2, 3, 4]) }

    func testColumn() { checkAllOps([4, 5], [4, 1], expectedShape: [4, 5]) }

    func testColumnRank3() { checkAllOps([2, 3, 4], [2, 3, 1], expectedShape: [2, 3, 4]) }

    func testScalarShapes() {
        checkAllOps([3, 4], [], expectedShape: [3, 4])
        checkAllOps([3, 4], [1], expectedShape: [3, 4])
        checkAllOps([3, 4], [1, 1], expectedShape: [3, 4])
    }

    func testColumnAgainstRowGivesOuterShape() {
        checkAllOps([4, 1], [3], expectedShape: [4, 3])
        checkAllOps([4, 1], [1, 3], expectedShape: [4, 3])
    }

    func testSquareColumnAgainstRowGivesOuterShape() {
        // The column and row have the same length: still an outer [M, M] result, as with [M, 1] against [N ≠ M].
        checkAllOps([3, 1], [3], expectedShape: [3, 3])
        checkAllOps([3, 1], [1, 3], expectedShape: [3, 3])
    }

    func testBroadcastShapes() {
        XCTAssertEqual(broadcastShape([3, 4], [4]), [3, 4])
        XCTAssertEqual(broadcastShape([1, 4], [3, 4]), [3, 4])
        XCTAssertEqual(broadcastShape([3, 1], [3, 4]), [3, 4])
        XCTAssertEqual(broadcastShape([], [3, 4]), [3, 4])
        XCTAssertEqual(broadcastShape([1, 1], [5]), [5])
        XCTAssertEqual(broadcastShape([4, 1], [3]), [4, 3])
        XCTAssertEqual(broadcastShape([5], [5, 1]), [5, 5])
        XCTAssertEqual(broadcastShape([1, 5], [5, 1]), [5, 5])
        XCTAssertEqual(broadcastShape([2, 2, 1], [4]), [2, 2, 4])
        XCTAssertEqual(broadcastShape([2, 3, 1], [2, 3, 4]), [2, 3, 4])
    }

    func testSameOperandTwice() {
        // x ⊙ x and x / x: both gradient contributions land on the same node and must be summed.
        let x = GradientCheck.tensor([3, 4], seed: 5, bound: 2, margin: 0.5)
        GradientCheck.assert([x]) { $0[0] * $0[0] }
        GradientCheck.assert([x]) { $0[0] + $0[0] * $0[0] - $0[0] }
        let tape = Tape()
        let v = tape.variable(x)
        let g = tape.gradients(of: v / v, wrt: [v])[0]
        XCTAssertTrue(g.scalars.allSatisfy { abs($0) < 1e-6 }, "d(x/x)/dx = 0, got \(g.scalars)")
    }

    func testScalarArithmetic() {
        let x = GradientCheck.tensor([3, 5], seed: 7, bound: 2)
        GradientCheck.assert([x], "x * c") { $0[0] * 2.5 }
        GradientCheck.assert([x], "c * x") { -1.5 * $0[0] }
        GradientCheck.assert([x], "x + c") { $0[0] + 3 }
        GradientCheck.assert([x], "x - c") { $0[0] - 0.75 }
        GradientCheck.assert([x], "c - x") { 4 - $0[0] }
        GradientCheck.assert([x], "-x") { -$0[0] }
        GradientCheck.assert([x], "mixed") { (2 - $0[0]) * $0[0] + 1 }
    }

    func testScalarArithmeticForwardValues() {
        let x = Tensor(shape: [2, 2], values: [1, -2, 3.5, 0])
        XCTAssertEqual((Variable(x) * 2).value.scalars, [2, -4, 7, 0])
        XCTAssertEqual((3 * Variable(x)).value.scalars, [3, -6, 10.5, 0])
        XCTAssertEqual((Variable(x) + 1).value.scalars, [2, -1, 4.5, 1])
        XCTAssertEqual((Variable(x) - 1).value.scalars, [0, -3, 2.5, -1])
        XCTAssertEqual((1 - Variable(x)).value.scalars, [0, 3, -2.5, 1])
        XCTAssertEqual((-Variable(x)).value.scalars, [-1, 2, -3.5, 0])
    }

    func testBroadcastForwardValues() {
        let m = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let row = Tensor(shape: [3], values: [10, 20, 30])
        let column = Tensor(shape: [2, 1], values: [100, 200])
        XCTAssertEqual((Variable(m) + Variable(row)).value.scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((Variable(row) - Variable(m)).value.scalars, [9, 18, 27, 6, 15, 24])
        XCTAssertEqual((Variable(m) * Variable(column)).value.scalars, [100, 200, 300, 800, 1000, 1200])
        XCTAssertEqual((Variable(column) / Variable(m)).value.scalars, [100, 50, 100.0 / 3, 50, 40, 200.0 / 6])
        let outer = Variable(column) + Variable(row)
        XCTAssertEqual(outer.shape, [2, 3])
        XCTAssertEqual(outer.value.scalars, [110, 120, 130, 210, 220, 230])
        let square = Variable(Tensor(shape: [3, 1], values: [1, 2, 3])) * Variable(row)
        XCTAssertEqual(square.shape, [3, 3])
        XCTAssertEqual(square.value.scalars, [10, 20, 30, 20, 40, 60, 30, 60, 90])
    }

    func testLargeBroadcastUsesSameValues() {
        // Above the parallel threshold the full/full path is chunked over threads; values must not change.
        let n = (1 << 17) + 13
        let a = GradientCheck.tensor([n], seed: 1), b = GradientCheck.tensor([n], seed: 2)
        let sum = (Variable(a) + Variable(b)).value
        for i in stride(from: 0, to: n, by: 997) { XCTAssertEqual(sum.pointer[i], a.pointer[i] + b.pointer[i]) }
        XCTAssertEqual(sum.pointer[n - 1], a.pointer[n - 1] + b.pointer[n - 1])
    }
}

/// Finite-difference checks of the elementwise nonlinearities.
final class ActivationGradientTests: XCTestCase {
    private let shape = [4, 5]

    func testRelu() {
        // Kept ≥ 0.1 away from the kink at 0 (ten steps of h = 1e-2).
        let x = GradientCheck.tensor(shape, seed: 21, bound: 2, margin: 0.1)
        GradientCheck.assert([x]) { $0[0].relu() }
    }

    func testLeakyRelu() {
        let x = GradientCheck.tensor(shape, seed: 22, bound: 2, margin: 0.1)
        GradientCheck.assert([x], "default slope") { $0[0].leakyRelu() }
        GradientCheck.assert([x], "slope 0.3") { $0[0].leakyRelu(slope: 0.3) }
    }

    func testSigmoid() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 23, bound: 4)]) { $0[0].sigmoid() }
    }

    func testSoftplus() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 34, bound: 4)]) { $0[0].softplus() }
    }

    func testSoftplusForwardValues() {
        let x = Tensor(shape: [6], values: [-200, -30, -1, 0, 1, 200])
        let y = Variable(x).softplus().value.scalars
        for (s, v) in zip(y, x.scalars) {
            let exact = max(Double(v), 0) + Foundation.log1p(Foundation.exp(-abs(Double(v))))
            XCTAssertEqual(Double(s), exact, accuracy: 1e-6 * max(1, exact), "softplus(\(v))")
        }
        XCTAssertGreaterThan(y[1], 0, "softplus(−30) ≈ 9.4e-14 must not underflow to 0 or cancel")
        XCTAssertEqual(y[5], 200, "no overflow at 200")
    }

    func testTanh() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 24, bound: 2)]) { $0[0].tanh() }
    }

    func testExp() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 25, bound: 2)]) { $0[0].exp() }
    }

    func testLog() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 26, in: 0.5...3)]) { $0[0].log() }
    }

    func testSin() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 27, bound: 3)]) { $0[0].sin() }
    }

    func testCos() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 28, bound: 3)]) { $0[0].cos() }
    }

    func testSquared() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 29, bound: 2)]) { $0[0].squared() }
    }

    func testSquareRoot() {
        GradientCheck.assert([GradientCheck.tensor(shape, seed: 30, in: 0.5...3)]) { $0[0].squareRoot() }
    }

    func testLongVectorsUseSIMDAndTailPaths() {
        // 8-lane bodies plus a 3-element scalar tail: both must have the same derivative.
        let x = GradientCheck.tensor([19], seed: 31, bound: 2, margin: 0.1)
        GradientCheck.assert([x], "relu") { $0[0].relu() }
        GradientCheck.assert([x], "leakyRelu") { $0[0].leakyRelu(slope: 0.2) }
        GradientCheck.assert([x], "sigmoid") { $0[0].sigmoid() }
        GradientCheck.assert([x], "squared") { $0[0].squared() }
        let p = GradientCheck.tensor([19], seed: 32, in: 0.5...2)
        GradientCheck.assert([p], "squareRoot") { $0[0].squareRoot() }
        GradientCheck.assert([p], "log") { $0[0].log() }
    }

    func testForwardValues() {
        let x = Tensor(shape: [4], values: [-2, -0.5, 0.5, 2])
        XCTAssertEqual(Variable(x).relu().value.scalars, [0, 0, 0.5, 2])
        XCTAssertEqual(Variable(x).leakyRelu(slope: 0.1).value.scalars, [-0.2, -0.05, 0.5, 2])
        let sigmoid = Variable(x).sigmoid().value.scalars
        for (s, v) in zip(sigmoid, x.scalars) { XCTAssertEqual(Double(s), 1 / (1 + Foundation.exp(-Double(v))), accuracy: 1e-6) }
        let extremes = Variable(Tensor(shape: [2], values: [-200, 200])).sigmoid().value.scalars
        XCTAssertEqual(extremes, [0, 1])
    }

    func testComposition() {
        // A chain of several ops: errors in any one derivative show up here too.
        let x = GradientCheck.tensor([3, 4], seed: 33, bound: 1.5)
        GradientCheck.assert([x]) { (($0[0].tanh() * 2).exp() + $0[0].sin().squared()).sigmoid() }
    }
}
