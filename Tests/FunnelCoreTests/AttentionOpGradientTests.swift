import Foundation
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Forward values (against naive Double loops) and finite-difference checks of the multi-head attention
/// products, axis swaps, and the vectorised softmax over rows.
final class AttentionOpGradientTests: XCTestCase {
    /// Naive `scale · Σ_c q[b, i, η·dk + c] k[b, j, η·dk + c]` in Double, `[B, H, nq, nk]` flattened.
    private func naiveScores(_ q: Tensor, _ k: Tensor, heads: Int, scale: Double) -> [Double] {
        let (batch, nq, nk, width) = (q.shape[0], q.shape[1], k.shape[1], q.shape[2])
        let dk = width / heads
        var out: [Double] = []
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<nq {
                    for j in 0..<nk {
                        var s = 0.0
                        for c in 0..<dk {
                            s += Double(q.pointer[(b * nq + i) * width + h * dk + c]) * Double(k.pointer[(b * nk + j) * width + h * dk + c])
                        }
                        out.append(scale * s)
                    }
                }
            }
        }
        return out
    }

    func testAttentionScoresForward() {
        let q = GradientCheck.tensor([2, 3, 6], seed: 1, bound: 1.5), k = GradientCheck.tensor([2, 5, 6], seed: 2, bound: 1.5)
        for (heads, scale) in [(1, Float(1)), (2, 0.5), (3, 1), (6, 0.25)] {
            let y = Variable.attentionScores(queries: Variable(q), keys: Variable(k), heads: heads, scale: scale).value
            XCTAssertEqual(y.shape, [2, heads, 3, 5])
            for (got, want) in zip(y.scalars, naiveScores(q, k, heads: heads, scale: Double(scale))) {
                XCTAssertEqual(Double(got), want, accuracy: 1e-5, "heads \(heads)")
            }
        }
    }

    func testAttentionScoresGradients() {
        let q = GradientCheck.tensor([2, 3, 4], seed: 3, bound: 1.5), k = GradientCheck.tensor([2, 5, 4], seed: 4, bound: 1.5)
        for (heads, scale) in [(1, Float(1)), (2, 0.5), (4, 1)] {
            GradientCheck.assert([q, k], "heads \(heads) scale \(scale)") {
                Variable.attentionScores(queries: $0[0], keys: $0[1], heads: heads, scale: scale)
            }
        }
        // Self-attention: the same variable as queries and keys (gradients of both uses add up).
        GradientCheck.assert([k], "self") { Variable.attentionScores(queries: $0[0], keys: $0[0], heads: 2) }
    }

    func testAttentionMixForwardAndGradients() {
        let (batch, heads, nq, nk, dv) = (2, 2, 3, 4, 3)
        let a = GradientCheck.tensor([batch, heads, nq, nk], seed: 5, bound: 1.5)
        let v = GradientCheck.tensor([batch, nk, heads * dv], seed: 6, bound: 1.5)
        let y = Variable.attentionMix(weights: Variable(a), values: Variable(v), heads: heads).value
        XCTAssertEqual(y.shape, [batch, nq, heads * dv])
        for b in 0..<batch {
            for i in 0..<nq {
                for h in 0..<heads {
                    for c in 0..<dv {
                        var s = 0.0
                        for j in 0..<nk {
                            s += Double(a.pointer[((b * heads + h) * nq + i) * nk + j]) * Double(v.pointer[(b * nk + j) * heads * dv + h * dv + c])
                        }
                        XCTAssertEqual(Double(y.pointer[(b * nq + i) * heads * dv + h * dv + c]), s, accuracy: 1e-5)
                    }
                }
            }
        }
        GradientCheck.assert([a, v]) { Variable.attentionMix(weights: $0[0], values: $0[1], heads: heads) }
        GradientCheck.assert([a, v], "one head") {
            Variable.attentionMix(weights: $0[0].slice(alongAxis: 1, 0..<1), values: $0[1], heads: 1)
        }
    }

    func testFullAttentionChainGradients() {
        // softmax(QKᵀ/√d) V over two heads, every operand tracked: the composition AutoInt and set attention use.
        let x = GradientCheck.tensor([2, 4, 4], seed: 7, bound: 1)
        GradientCheck.assert([x]) { v in
            let scores = Variable.attentionScores(queries: v[0], keys: v[0] * 0.5, heads: 2, scale: 0.7)
            return Variable.attentionMix(weights: scores.softmax(), values: v[0], heads: 2)
        }
    }

    func testLargeBatchRunsInParallelAndMatches() {
        // 512 (sample, head) pairs of 8×8×8 products: above the parallel threshold.
        let q = GradientCheck.tensor([256, 8, 16], seed: 8, bound: 1), k = GradientCheck.tensor([256, 8, 16], seed: 9, bound: 1)
        let y = Variable.attentionScores(queries: Variable(q), keys: Variable(k), heads: 2).value
        for (got, want) in zip(y.scalars, naiveScores(q, k, heads: 2, scale: 1)) { XCTAssertEqual(Double(got), want, accuracy: 1e-5) }
    }

    func testLargeSetsTakeTheGeneralGemm() {
        // 70 × 70 × 16 per pair exceeds the small-matrix path's 64K multiply-adds.
        let q = GradientCheck.tensor([2, 70, 16], seed: 15, bound: 1), k = GradientCheck.tensor([2, 70, 16], seed: 16, bound: 1)
        let y = Variable.attentionScores(queries: Variable(q), keys: Variable(k), heads: 1).value
        for (got, want) in zip(y.scalars, naiveScores(q, k, heads: 1, scale: 1)) { XCTAssertEqual(Double(got), want, accuracy: 1e-5) }
    }

    func testSmallGemmAllLayouts() {
        for (m, n, k) in [(3, 5, 4), (7, 41, 8), (41, 8, 41), (2, 70, 3), (1, 1, 1)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = GradientCheck.tensor(ta ? [k, m] : [m, k], seed: 17, bound: 1)
                    let b = GradientCheck.tensor(tb ? [n, k] : [k, n], seed: 18, bound: 1)
                    let ldc = n + 3  // a strided C: the padding columns must stay untouched
                    let c = Tensor(repeating: 0.5, shape: [m, ldc])
                    smallGemm(m: m, n: n, k: k, a: MatrixOperand(a.pointer, leadingDimension: a.shape[1], transposed: ta),
                              b: MatrixOperand(b.pointer, leadingDimension: b.shape[1], transposed: tb), c: c.pointer, ldc: ldc,
                              accumulate: true)
                    for i in 0..<m {
                        for j in 0..<ldc {
                            var want = 0.5
                            if j < n {
                                for p in 0..<k {
                                    want += Double(ta ? a.pointer[p * m + i] : a.pointer[i * k + p]) * Double(tb ? b.pointer[j * k + p] : b.pointer[p * n + j])
                                }
                            }
                            XCTAssertEqual(Double(c.pointer[i * ldc + j]), want, accuracy: 1e-5, "\(m)×\(n)×\(k) \(ta) \(tb) [\(i), \(j)]")
                        }
                    }
                }
            }
        }
    }

    func testSwappingAxes() {
        var values: [Float] = []
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { values.append(Float(100 * a + 10 * b + c)) } } }
        let x = Tensor(shape: [2, 3, 4], values: values)
        let y01 = Variable(x).swappingAxes(0, 1).value
        XCTAssertEqual(y01.shape, [3, 2, 4])
        XCTAssertEqual(Array(y01.scalars.prefix(8)), [0, 1, 2, 3, 100, 101, 102, 103])
        let y02 = Variable(x).swappingAxes(0, 2).value
        XCTAssertEqual(y02.shape, [4, 3, 2])
        XCTAssertEqual(Array(y02.scalars.prefix(4)), [0, 100, 10, 110])
        XCTAssertEqual(Variable(x).swappingAxes(-2, -1).value.shape, [2, 4, 3])
        let r4 = GradientCheck.tensor([2, 3, 2, 4], seed: 10, bound: 2)
        let s13 = Variable(r4).swappingAxes(1, 3).value
        XCTAssertEqual(s13.shape, [2, 4, 2, 3])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<2 { for l in 0..<4 {
            XCTAssertEqual(s13.pointer[((i * 4 + l) * 2 + k) * 3 + j], r4.pointer[((i * 3 + j) * 2 + k) * 4 + l])
        } } } }
        // Non-uniform weights on the output expose a misrouted gradient.
        let w = GradientCheck.tensor([2, 4, 2, 3], seed: 11, bound: 2)
        GradientCheck.assert([r4], "swap 1,3") { $0[0].swappingAxes(1, 3) * Variable(w) }
        GradientCheck.assert([x], "swap 0,1") { $0[0].swappingAxes(0, 1) * Variable(GradientCheck.tensor([3, 2, 4], seed: 12, bound: 2)) }
    }

    func testRowSoftmaxMatchesDoubleReference() {
        for (rows, length) in [(3, 5), (4, 8), (5, 19), (1024, 41)] {  // the last takes the parallel path
            let x = GradientCheck.tensor([rows, length], seed: UInt64(length), bound: 6)
            let y = Variable(x).softmax().value
            for r in 0..<rows {
                let row = (0..<length).map { Double(x.pointer[r * length + $0]) }
                let top = row.max()!
                let total = row.reduce(0) { $0 + Foundation.exp($1 - top) }
                for j in 0..<length {
                    let want = Foundation.exp(row[j] - top) / total
                    XCTAssertEqual(Double(y.pointer[r * length + j]), want, accuracy: 1e-6 * max(1, want * 10))
                }
            }
        }
        GradientCheck.assert([GradientCheck.tensor([3, 13], seed: 13, bound: 2)], "ragged rows") { $0[0].softmax() }
        GradientCheck.assert([GradientCheck.tensor([2, 2, 3, 9], seed: 14, bound: 2)], "rank 4") { $0[0].softmax() }
    }
}
