import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Finite-difference checks and forward values of reshape, concat, split, slice and transposition.
final class ShapeGradientTests: XCTestCase {
    /// `[2, 3, 4]` with element (a, b, c) = 100a + 10b + c, for forward checks that read like indices.
    private let indexed: Tensor = {
        var values: [Float] = []
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { values.append(Float(100 * a + 10 * b + c)) } } }
        return Tensor(shape: [2, 3, 4], values: values)
    }()

    func testReshaped() {
        let x = GradientCheck.tensor([2, 6], seed: 81, bound: 2)
        // Multiply by a non-uniform tensor after the reshape so that a mis-routed gradient would be visible.
        let w = GradientCheck.tensor([3, 4], seed: 82, bound: 2)
        GradientCheck.assert([x]) { $0[0].reshaped([3, 4]) * Variable(w) }
        GradientCheck.assert([x], "with -1") { $0[0].reshaped([-1, 4]) * Variable(w) }
        XCTAssertEqual(Variable(x).reshaped([4, -1]).shape, [4, 3])
    }

    func testConcatAlongEachAxis() {
        for axis in [0, 1, 2, -1] {
            var shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
            let resolved = axis < 0 ? 3 + axis : axis
            for (i, extent) in [1, 2, 3].enumerated() { shapes[i][resolved] = extent }
            let parts = shapes.enumerated().map { GradientCheck.tensor($0.element, seed: 90 + UInt64($0.offset), bound: 2) }
            let y = Variable.concat(parts.map { Variable($0) }, alongAxis: axis)
            var expected = [2, 3, 4]
            expected[resolved] = 6
            XCTAssertEqual(y.shape, expected, "axis \(axis)")
            GradientCheck.assert(parts, "concat axis \(axis)") { Variable.concat($0, alongAxis: axis) }
        }
    }

    func testConcatWithUntrackedPart() {
        let a = GradientCheck.tensor([2, 3], seed: 95, bound: 2), constant = GradientCheck.tensor([2, 2], seed: 96)
        GradientCheck.assert([a]) { Variable.concat([Variable(constant), $0[0], Variable(constant)], alongAxis: 1) }
    }

    func testConcatForwardValues() {
        let x = Variable(indexed)
        let y = Variable.concat([x.slice(alongAxis: 2, 3..<4), x.slice(alongAxis: 2, 0..<1)], alongAxis: 2).value
        XCTAssertEqual(y.shape, [2, 3, 2])
        XCTAssertEqual(y.scalars, [3, 0, 13, 10, 23, 20, 103, 100, 113, 110, 123, 120])
        let rows = Variable.concat([x.slice(alongAxis: 0, 1..<2), x.slice(alongAxis: 0, 0..<1)], alongAxis: 0).value
        XCTAssertEqual(Array(rows.scalars.prefix(3)), [100, 101, 102])
        XCTAssertEqual(rows.pointer[12], 0)
    }

    func testSliceAlongEachAxis() {
        let x = GradientCheck.tensor([3, 4, 5], seed: 97, bound: 2)
        GradientCheck.assert([x], "axis 0") { $0[0].slice(alongAxis: 0, 1..<3) }
        GradientCheck.assert([x], "axis 1") { $0[0].slice(alongAxis: 1, 1..<3) }
        GradientCheck.assert([x], "axis 2") { $0[0].slice(alongAxis: 2, 2..<5) }
        GradientCheck.assert([x], "axis -1") { $0[0].slice(alongAxis: -1, 0..<1) }
        // Elements outside the slice get exactly zero gradient.
        let tape = Tape()
        let v = tape.variable(x)
        let g = tape.gradients(of: v.slice(alongAxis: 1, 1..<3).sum(), wrt: [v])[0]
        for a in 0..<3 {
            for b in 0..<4 {
                for c in 0..<5 { XCTAssertEqual(g.pointer[(a * 4 + b) * 5 + c], (1..<3).contains(b) ? 1 : 0) }
            }
        }
    }

    func testSliceForwardValues() {
        let x = Variable(indexed)
        XCTAssertEqual(x.slice(alongAxis: 1, 2..<3).value.scalars, [20, 21, 22, 23, 120, 121, 122, 123])
        XCTAssertEqual(x.slice(alongAxis: -1, 1..<2).value.scalars, [1, 11, 21, 101, 111, 121])
        XCTAssertEqual(x.slice(alongAxis: 0, 1..<2).value.shape, [1, 3, 4])
    }

    func testSplitAlongEachAxis() {
        let x = GradientCheck.tensor([4, 5, 6], seed: 98, bound: 2)
        for (axis, sizes) in [(0, [1, 3]), (1, [2, 1, 2]), (2, [3, 1, 2]), (-1, [4, 2])] {
            let pieces = Variable(x).split(sizes: sizes, alongAxis: axis)
            XCTAssertEqual(pieces.map { $0.shape[axis < 0 ? 3 + axis : axis] }, sizes)
            // Reassemble the pieces reversed and each scaled differently: every piece must route its own gradient.
            GradientCheck.assert([x], "split axis \(axis)") { inputs in
                let parts = inputs[0].split(sizes: sizes, alongAxis: axis)
                let scaled = parts.enumerated().map { $0.element * Float($0.offset + 1) }
                return Variable.concat(scaled.reversed(), alongAxis: axis)
            }
        }
    }

    func testSplitPieceUnused() {
        let x = GradientCheck.tensor([3, 6], seed: 99, bound: 2)
        GradientCheck.assert([x]) { $0[0].split(sizes: [2, 4], alongAxis: 1)[1].squared() }
        let pieces = Variable(indexed).split(sizes: [1, 2], alongAxis: 1)
        XCTAssertEqual(pieces[0].value.scalars, [0, 1, 2, 3, 100, 101, 102, 103])
        XCTAssertEqual(pieces[1].shape, [2, 2, 4])
        XCTAssertEqual(pieces[1].value.pointer[0], 10)
    }

    func testTransposedLastTwoRank2() {
        let x = GradientCheck.tensor([3, 5], seed: 101, bound: 2)
        GradientCheck.assert([x]) { $0[0].transposedLastTwo() }
        let y = Variable(x).transposedLastTwo().value
        XCTAssertEqual(y.shape, [5, 3])
        for i in 0..<3 { for j in 0..<5 { XCTAssertEqual(y.pointer[j * 3 + i], x.pointer[i * 5 + j]) } }
    }

    func testTransposedLastTwoRank3() {
        let x = GradientCheck.tensor([2, 3, 4], seed: 102, bound: 2)
        GradientCheck.assert([x]) { $0[0].transposedLastTwo() }
        let y = Variable(indexed).transposedLastTwo().value
        XCTAssertEqual(y.shape, [2, 4, 3])
        XCTAssertEqual(Array(y.scalars.prefix(6)), [0, 10, 20, 1, 11, 21])
        XCTAssertEqual(Array(y.scalars.suffix(3)), [103, 113, 123])
    }

    func testTransposeLargerThanOneBlock() {
        // 8×8 blocking with ragged edges on both axes.
        let x = GradientCheck.tensor([2, 11, 19], seed: 103)
        let y = transposeLastTwo(x)
        XCTAssertEqual(y.shape, [2, 19, 11])
        for b in 0..<2 {
            for i in 0..<11 {
                for j in 0..<19 { XCTAssertEqual(y.pointer[b * 209 + j * 11 + i], x.pointer[b * 209 + i * 19 + j]) }
            }
        }
        XCTAssertEqual(transposeLastTwo(y).scalars, x.scalars)
    }
}
