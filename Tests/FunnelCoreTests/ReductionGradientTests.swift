import Foundation
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Finite-difference checks of sums, means, softmax and log-softmax.
final class ReductionGradientTests: XCTestCase {
    private let matrix = GradientCheck.tensor([3, 5], seed: 41, bound: 2)
    private let cube = GradientCheck.tensor([2, 3, 4], seed: 42, bound: 2)

    func testSumAndMeanOfEverything() {
        GradientCheck.assert([matrix], "sum") { $0[0].sum() }
        GradientCheck.assert([matrix], "mean") { $0[0].mean() }
        GradientCheck.assert([cube], "sum rank 3") { $0[0].sum() }
        // ∂mean/∂x = s/24 ≤ 1/24 over 24 elements, below the default signal floor but still several times the 1e-2
        // tolerance, so a factor-2 or sign error would show.
        GradientCheck.assert([cube], minimumSignal: 0.02, "mean rank 3") { $0[0].mean() }
    }

    func testSumAndMeanShapes() {
        XCTAssertEqual(Variable(matrix).sum().shape, [])
        XCTAssertEqual(Variable(matrix).mean().shape, [])
        XCTAssertEqual(Variable(cube).sum(alongAxis: 1).shape, [2, 4])
        XCTAssertEqual(Variable(cube).sum(alongAxis: 1, keepingAxis: true).shape, [2, 1, 4])
        XCTAssertEqual(Variable(cube).mean(alongAxis: -1).shape, [2, 3])
        XCTAssertEqual(Variable(cube).mean(alongAxis: 0, keepingAxis: true).shape, [1, 3, 4])
    }

    func testAxisReductionsRank2() {
        for axis in [0, 1, -1] {
            for keep in [false, true] {
                GradientCheck.assert([matrix], "sum axis \(axis) keep \(keep)") { $0[0].sum(alongAxis: axis, keepingAxis: keep) }
                GradientCheck.assert([matrix], "mean axis \(axis) keep \(keep)") { $0[0].mean(alongAxis: axis, keepingAxis: keep) }
            }
        }
    }

    func testAxisReductionsRank3() {
        for axis in [0, 1, 2, -1] {
            for keep in [false, true] {
                GradientCheck.assert([cube], "sum axis \(axis) keep \(keep)") { $0[0].sum(alongAxis: axis, keepingAxis: keep) }
                GradientCheck.assert([cube], "mean axis \(axis) keep \(keep)") { $0[0].mean(alongAxis: axis, keepingAxis: keep) }
            }
        }
    }

    func testAxisReductionForwardValues() {
        // [2, 3, 2]: element (a, b, c) = 100a + 10b + c.
        var values: [Float] = []
        for a in 0..<2 { for b in 0..<3 { for c in 0..<2 { values.append(Float(100 * a + 10 * b + c)) } } }
        let x = Variable(Tensor(shape: [2, 3, 2], values: values))
        XCTAssertEqual(x.sum(alongAxis: 0).value.scalars, [100, 102, 120, 122, 140, 142])
        XCTAssertEqual(x.sum(alongAxis: 1).value.scalars, [30, 33, 330, 333])
        XCTAssertEqual(x.sum(alongAxis: 2).value.scalars, [1, 21, 41, 201, 221, 241])
        XCTAssertEqual(x.mean(alongAxis: 1).value.scalars, [10, 11, 110, 111])
        XCTAssertEqual(x.sum().value.scalar, values.reduce(0, +))
        XCTAssertEqual(x.mean().value.scalar, values.reduce(0, +) / 12)
    }

    func testSoftmaxLastAxis() {
        GradientCheck.assert([matrix], "rank 2 default axis") { $0[0].softmax() }
        GradientCheck.assert([cube], "rank 3 axis -1") { $0[0].softmax(alongAxis: -1) }
        GradientCheck.assert([cube], "rank 3 axis 2") { $0[0].softmax(alongAxis: 2) }
    }

    func testSoftmaxMiddleAndFirstAxis() {
        GradientCheck.assert([cube], "rank 3 axis 1") { $0[0].softmax(alongAxis: 1) }
        GradientCheck.assert([cube], "rank 3 axis 0") { $0[0].softmax(alongAxis: 0) }
        GradientCheck.assert([matrix], "rank 2 axis 0") { $0[0].softmax(alongAxis: 0) }
    }

    func testLogSoftmaxLastAxis() {
        GradientCheck.assert([matrix], "rank 2 default axis") { $0[0].logSoftmax() }
        GradientCheck.assert([cube], "rank 3 axis -1") { $0[0].logSoftmax(alongAxis: -1) }
    }

    func testLogSoftmaxMiddleAndFirstAxis() {
        GradientCheck.assert([cube], "rank 3 axis 1") { $0[0].logSoftmax(alongAxis: 1) }
        GradientCheck.assert([cube], "rank 3 axis 0") { $0[0].logSoftmax(alongAxis: 0) }
    }

    func testSoftmaxAlongMiddleAxisNormalisesThatAxis() {
        let y = Variable(cube).softmax(alongAxis: 1).value
        for a in 0..<2 {
            for c in 0..<4 {
                var total: Float = 0
                for b in 0..<3 { total += y.pointer[(a * 3 + b) * 4 + c] }
                XCTAssertEqual(total, 1, accuracy: 1e-6)
            }
        }
        let logY = Variable(cube).logSoftmax(alongAxis: 1).value
        for i in 0..<y.count { XCTAssertEqual(logY.pointer[i], logf(y.pointer[i]), accuracy: 1e-5) }
    }

    func testSoftmaxCrossEntropyComposition() {
        // −Σ t ⊙ logSoftmax(x): the gradient is softmax(x) − t per row (t rows sum to 1).
        let targets = Tensor(shape: [3, 5], values: [0, 1, 0, 0, 0,
                                                     0.5, 0, 0, 0.5, 0,
                                                     0, 0, 0, 0, 1])
        GradientCheck.assert([matrix]) { (($0[0].logSoftmax() * Variable(targets)).sum() * -1) }
        let tape = Tape()
        let x = tape.variable(matrix)
        let loss = (x.logSoftmax() * Variable(targets)).sum() * -1
        let g = tape.gradients(of: loss, wrt: [x])[0]
        let p = Variable(matrix).softmax().value
        for i in 0..<g.count { XCTAssertEqual(g.pointer[i], p.pointer[i] - targets.pointer[i], accuracy: 1e-6) }
    }
}
