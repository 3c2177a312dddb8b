import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Finite-difference checks of matmul, linear and batchedMatmul, plus forward values against a naive product.
final class MatMulGradientTests: XCTestCase {
    /// Stored shape of an operand whose logical (op) shape is `[rows, columns]`.
    private func stored(_ rows: Int, _ columns: Int, transposed: Bool) -> [Int] {
        transposed ? [columns, rows] : [rows, columns]
    }

    /// Naive op(a)·op(b) in Double for rank-2 stored tensors.
    private func naiveProduct(_ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool) -> [Double] {
        let (m, k) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = tb ? b.shape[0] : b.shape[1]
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = ta ? a.pointer[p * a.shape[1] + i] : a.pointer[i * a.shape[1] + p]
                    let y = tb ? b.pointer[j * b.shape[1] + p] : b.pointer[p * b.shape[1] + j]
                    s += Double(x) * Double(y)
                }
                out[i * n + j] = s
            }
        }
        return out
    }

    private func checkMatmul(m: Int, k: Int, n: Int, file: StaticString = #filePath, line: UInt = #line) {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = GradientCheck.tensor(stored(m, k, transposed: ta), seed: 51, bound: 1.5)
                let b = GradientCheck.tensor(stored(k, n, transposed: tb), seed: 52, bound: 1.5)
                let label = "m\(m) k\(k) n\(n) transposeA \(ta) transposeB \(tb)"
                let y = Variable.matmul(Variable(a), Variable(b), transposeA: ta, transposeB: tb).value
                XCTAssertEqual(y.shape, [m, n], label, file: file, line: line)
                for (got, want) in zip(y.scalars, naiveProduct(a, ta, b, tb)) {
                    XCTAssertEqual(Double(got), want, accuracy: 1e-5 * Double(k), label, file: file, line: line)
                }
                GradientCheck.assert([a, b], label, file: file, line: line) {
                    Variable.matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
                }
            }
        }
    }

    func testMatmulAllTransposes() { checkMatmul(m: 3, k: 4, n: 5) }

    func testMatmulTileSizedAndRagged() {
        // 7 rows (one full 6-row strip + 1) and 17 columns (one full 16-column panel + 1).
        checkMatmul(m: 7, k: 3, n: 17)
    }

    func testMatmulVectorShapes() {
        // m == 1 and n == 1 take the matrix-vector path, in the forward and in some backward products.
        checkMatmul(m: 1, k: 5, n: 4)
        checkMatmul(m: 4, k: 5, n: 1)
        checkMatmul(m: 3, k: 1, n: 4)
    }

    func testLinearWithBias() {
        let x = GradientCheck.tensor([4, 5], seed: 61, bound: 1.5)
        let w = GradientCheck.tensor([3, 5], seed: 62, bound: 1.5)
        let b = GradientCheck.tensor([3], seed: 63, bound: 1.5)
        GradientCheck.assert([x, w, b]) { Variable.linear($0[0], weight: $0[1], bias: $0[2]) }
        // Forward: x·Wᵀ + b.
        let y = Variable.linear(Variable(x), weight: Variable(w), bias: Variable(b)).value
        let reference = naiveProduct(x, false, w, true)
        for i in 0..<4 {
            for j in 0..<3 { XCTAssertEqual(Double(y.pointer[i * 3 + j]), reference[i * 3 + j] + Double(b.pointer[j]), accuracy: 1e-5) }
        }
    }

    func testLinearWithoutBias() {
        let x = GradientCheck.tensor([4, 5], seed: 64, bound: 1.5)
        let w = GradientCheck.tensor([3, 5], seed: 65, bound: 1.5)
        GradientCheck.assert([x, w]) { Variable.linear($0[0], weight: $0[1], bias: nil) }
        let batchOfOne = GradientCheck.tensor([1, 5], seed: 66, bound: 1.5)
        GradientCheck.assert([batchOfOne, w], "batch of one") { Variable.linear($0[0], weight: $0[1], bias: nil) }
    }

    /// Inputs for a relu linear layer whose pre-activations all keep |z| ≥ `margin`, so that no finite-difference
    /// step (which moves z by at most ~h·Σ|w| ≈ 0.05) crosses the kink. The first seed that qualifies is used.
    private func reluSafeInputs(batch: Int, margin: Float) -> (Tensor, Tensor, Tensor) {
        for seed in UInt64(0)..<200 {
            let x = GradientCheck.tensor([batch, 4], seed: 100 + seed, bound: 1)
            let w = GradientCheck.tensor([5, 4], seed: 400 + seed, bound: 1)
            let b = GradientCheck.tensor([5], seed: 700 + seed, bound: 1)
            let z = Variable.linear(Variable(x), weight: Variable(w), bias: Variable(b)).value
            let positives = z.scalars.filter { $0 > 0 }.count
            if z.scalars.allSatisfy({ abs($0) >= margin }) && positives > 0 && positives < z.count { return (x, w, b) }
        }
        XCTFail("no relu-safe input found")
        return (Tensor(zeros: [batch, 4]), Tensor(zeros: [5, 4]), Tensor(zeros: [5]))
    }

    func testLinearReluWithBias() {
        let (x, w, b) = reluSafeInputs(batch: 3, margin: 0.1)
        GradientCheck.assert([x, w, b]) { Variable.linear($0[0], weight: $0[1], bias: $0[2], activation: .relu) }
        let relu = Variable.linear(Variable(x), weight: Variable(w), bias: Variable(b), activation: .relu).value
        let plain = Variable.linear(Variable(x), weight: Variable(w), bias: Variable(b)).relu().value
        XCTAssertEqual(relu.scalars, plain.scalars)
    }

    func testLinearReluWithoutBias() {
        for seed in UInt64(0)..<200 {
            let x = GradientCheck.tensor([3, 4], seed: 900 + seed, bound: 1)
            let w = GradientCheck.tensor([5, 4], seed: 1200 + seed, bound: 1)
            let z = Variable.linear(Variable(x), weight: Variable(w), bias: nil).value
            let positives = z.scalars.filter { $0 > 0 }.count
            guard z.scalars.allSatisfy({ abs($0) >= 0.1 }), positives > 0, positives < z.count else { continue }
            GradientCheck.assert([x, w]) { Variable.linear($0[0], weight: $0[1], bias: nil, activation: .relu) }
            return
        }
        XCTFail("no relu-safe input found")
    }

    private func checkBatched(batch: Int, m: Int, k: Int, n: Int, file: StaticString = #filePath, line: UInt = #line) {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = GradientCheck.tensor([batch] + stored(m, k, transposed: ta), seed: 71, bound: 1.5)
                let b = GradientCheck.tensor([batch] + stored(k, n, transposed: tb), seed: 72, bound: 1.5)
                let label = "batch \(batch) m\(m) k\(k) n\(n) transposeA \(ta) transposeB \(tb)"
                let y = Variable.batchedMatmul(Variable(a), Variable(b), transposeA: ta, transposeB: tb).value
                XCTAssertEqual(y.shape, [batch, m, n], label, file: file, line: line)
                for item in 0..<batch {
                    let ai = a.rows(item..<(item + 1)).reshaped(Array(a.shape.dropFirst()))
                    let bi = b.rows(item..<(item + 1)).reshaped(Array(b.shape.dropFirst()))
                    let want = naiveProduct(ai, ta, bi, tb)
                    for e in 0..<(m * n) {
                        XCTAssertEqual(Double(y.pointer[item * m * n + e]), want[e], accuracy: 1e-5 * Double(k), label,
                                       file: file, line: line)
                    }
                }
                GradientCheck.assert([a, b], label, file: file, line: line) {
                    Variable.batchedMatmul($0[0], $0[1], transposeA: ta, transposeB: tb)
                }
            }
        }
    }

    func testBatchedMatmulAllTransposes() { checkBatched(batch: 3, m: 2, k: 4, n: 3) }

    func testBatchedMatmulVectorShapes() {
        checkBatched(batch: 2, m: 1, k: 3, n: 4)
        checkBatched(batch: 2, m: 3, k: 2, n: 1)
    }

    func testBatchedMatmulLargeBatchIsParallelAndExact() {
        // batch·m·n·k ≥ 2¹⁶ runs items on the thread pool; each item must still equal its own product.
        let (batch, m, k, n) = (16, 8, 32, 16)
        let a = GradientCheck.tensor([batch, m, k], seed: 73), b = GradientCheck.tensor([batch, n, k], seed: 74)
        let y = Variable.batchedMatmul(Variable(a), Variable(b), transposeB: true).value
        for item in 0..<batch {
            let single = Variable.matmul(
                Variable(a.rows(item..<(item + 1)).reshaped([m, k])), Variable(b.rows(item..<(item + 1)).reshaped([n, k])),
                transposeB: true).value
            XCTAssertEqual(Array(y.scalars[(item * m * n)..<((item + 1) * m * n)]), single.scalars, "item \(item)")
        }
    }
}
