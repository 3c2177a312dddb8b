import Foundation
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// `scaledDotProductAttention` against a naive Float64 reference and by finite differences; `expanded(toBatch:)`.
final class AttentionGradientTests: XCTestCase {
    /// Naive multi-head attention in Double: output `[B, nq, d]` and weights `[B, H, nq, nk]`.
    private func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int) -> (output: [Double], weights: [Double]) {
        let (batch, nq, d, nk) = (q.shape[0], q.shape[1], q.shape[2], k.shape[1])
        let dk = d / heads
        var output = [Double](repeating: 0, count: batch * nq * d), weights = [Double](repeating: 0, count: batch * heads * nq * nk)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<nq {
                    var scores = (0..<nk).map { j in
                        (0..<dk).reduce(0.0) { s, c in
                            s + Double(q.pointer[(b * nq + i) * d + h * dk + c]) * Double(k.pointer[(b * nk + j) * d + h * dk + c])
                        } / Double(dk).squareRoot()
                    }
                    let top = scores.max()!
                    scores = scores.map { Foundation.exp($0 - top) }
                    let total = scores.reduce(0, +)
                    for j in 0..<nk {
                        let a = scores[j] / total
                        weights[((b * heads + h) * nq + i) * nk + j] = a
                        for c in 0..<dk {
                            output[(b * nq + i) * d + h * dk + c] += a * Double(v.pointer[(b * nk + j) * d + h * dk + c])
                        }
                    }
                }
            }
        }
        return (output, weights)
    }

    func testForwardMatchesNaiveReference() {
        for (heads, d) in [(1, 4), (2, 4), (2, 18), (3, 9)] {  // head widths 4, 2, 9 (one SIMD8 block + tail), 3
            let q = GradientCheck.tensor([3, 4, d], seed: 1, bound: 2)
            let k = GradientCheck.tensor([3, 5, d], seed: 2, bound: 2)
            let v = GradientCheck.tensor([3, 5, d], seed: 3, bound: 2)
            let (output, weights) = Variable.scaledDotProductAttention(query: Variable(q), key: Variable(k), value: Variable(v), heads: heads)
            XCTAssertEqual(output.shape, [3, 4, d])
            XCTAssertEqual(weights.shape, [3, heads, 4, 5])
            let expected = reference(q, k, v, heads: heads)
            for (got, want) in zip(output.value.scalars, expected.output) { XCTAssertEqual(Double(got), want, accuracy: 1e-5, "H \(heads) d \(d)") }
            for (got, want) in zip(weights.scalars, expected.weights) { XCTAssertEqual(Double(got), want, accuracy: 1e-6, "H \(heads) d \(d)") }
        }
    }

    func testHeadsAttendIndependently() {
        // Changing the keys of head 1 only must leave head 0's weights and output columns untouched.
        let q = GradientCheck.tensor([2, 3, 4], seed: 4), k = GradientCheck.tensor([2, 6, 4], seed: 5)
        let v = GradientCheck.tensor([2, 6, 4], seed: 6)
        let k2 = k.copy()
        for t in 0..<12 { k2.pointer[t * 4 + 3] += 0.5 }
        let a = Variable.scaledDotProductAttention(query: Variable(q), key: Variable(k), value: Variable(v), heads: 2)
        let b = Variable.scaledDotProductAttention(query: Variable(q), key: Variable(k2), value: Variable(v), heads: 2)
        for t in 0..<6 {
            XCTAssertEqual(a.output.value.pointer[t * 4], b.output.value.pointer[t * 4])
            XCTAssertEqual(a.output.value.pointer[t * 4 + 1], b.output.value.pointer[t * 4 + 1])
        }
        XCTAssertNotEqual(a.output.value.pointer[2], b.output.value.pointer[2])
    }

    func testGradients() {
        for (heads, d, nq, nk) in [(2, 4, 3, 5), (1, 9, 2, 3), (2, 16, 4, 2)] {
            let q = GradientCheck.tensor([2, nq, d], seed: 7, bound: 1.5)
            let k = GradientCheck.tensor([2, nk, d], seed: 8, bound: 1.5)
            let v = GradientCheck.tensor([2, nk, d], seed: 9, bound: 1.5)
            GradientCheck.assert([q, k, v], "attention H \(heads) d \(d)") {
                Variable.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], heads: heads).output
            }
        }
    }

    func testGradientsWithSharedQueryAndKeyValueOperands() {
        // Self-attention: one variable used as query, key and value accumulates all three gradients.
        let x = GradientCheck.tensor([2, 4, 4], seed: 10, bound: 1.5)
        GradientCheck.assert([x], "self-attention") { Variable.scaledDotProductAttention(query: $0[0], key: $0[0], value: $0[0], heads: 2).output }
    }

    func testExpandedToBatch() {
        let x = GradientCheck.tensor([3, 2], seed: 11)
        let y = Variable(x).expanded(toBatch: 4)
        XCTAssertEqual(y.shape, [4, 3, 2])
        for b in 0..<4 { XCTAssertEqual(Array(y.value.scalars[(b * 6)..<(b * 6 + 6)]), x.scalars) }
        GradientCheck.assert([x], "expanded") { $0[0].expanded(toBatch: 4) }
    }
}
