import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// `gemm` against a naive Float64 triple loop, over shapes that exercise every path of the blocked kernel.
///
/// Tolerance: a Float32 dot product of length k, however it is ordered or blocked, has an error bounded by
/// γ_k·Σ|a||b| with γ_k ≈ k·u (u = 2⁻²⁴). The check is |c − ref| ≤ (k + 2)·u·(Σ_p|a_ip||b_pj| + |bias| + |c₀|):
/// the worst-case bound, so it never flags a correct kernel, while a dropped or duplicated term (error
/// ~ Σ|ab|/k on average) or a wrong operand element is far outside it.
final class GemmTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB = false
        var accumulate = false
        var bias = false
        var activation: Activation = .identity
        var parallel = true
        /// Extra floats per stored row beyond the logical width (submatrix operands).
        var padA = 0, padB = 0, padC = 0
        /// The instruction set.
        var kernels = KernelSet.selected
        var description: String {
            "m\(m) n\(n) k\(k) tA \(transposeA) tB \(transposeB) acc \(accumulate) bias \(bias) \(activation) " +
                "parallel \(parallel) pad \(padA)/\(padB)/\(padC) kernels \(kernels.name)"
        }
    }

    private static let unit = 0x1p-24

    /// Runs one case and returns the number of wrong elements (after recording failures for the first few).
    @discardableResult
    private func check(_ c: Case, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) -> Int {
        // Stored A is [m, k] or [k, m]; stored B is [k, n] or [n, k]; each row padded.
        let (aRows, aCols) = c.transposeA ? (c.k, c.m) : (c.m, c.k)
        let (bRows, bCols) = c.transposeB ? (c.n, c.k) : (c.k, c.n)
        let (lda, ldb, ldc) = (aCols + c.padA, bCols + c.padB, c.n + c.padC)
        let a = GradientCheck.tensor([max(aRows * lda, 1)], seed: seed)
        let b = GradientCheck.tensor([max(bRows * ldb, 1)], seed: seed + 1)
        let bias = GradientCheck.tensor([max(c.n, 1)], seed: seed + 2)
        let initial = GradientCheck.tensor([max(c.m * ldc, 1)], seed: seed + 3)
        // Operand padding holds NaN: reading any of it would poison the result.
        for r in 0..<aRows { for p in aCols..<lda { a.pointer[r * lda + p] = .nan } }
        for r in 0..<bRows { for p in bCols..<ldb { b.pointer[r * ldb + p] = .nan } }
        let out = initial.copy()
        gemm(m: c.m, n: c.n, k: c.k,
             a: MatrixOperand(a.pointer, leadingDimension: lda, transposed: c.transposeA),
             b: MatrixOperand(b.pointer, leadingDimension: ldb, transposed: c.transposeB),
             c: out.pointer, ldc: ldc, accumulate: c.accumulate,
             bias: c.bias ? UnsafePointer(bias.pointer) : nil, activation: c.activation, parallel: c.parallel,
             kernels: c.kernels)

        func aAt(_ i: Int, _ p: Int) -> Double { Double(c.transposeA ? a.pointer[p * lda + i] : a.pointer[i * lda + p]) }
        func bAt(_ p: Int, _ j: Int) -> Double { Double(c.transposeB ? b.pointer[j * ldb + p] : b.pointer[p * ldb + j]) }
        var wrong = 0
        for i in 0..<c.m {
            for j in 0..<ldc {
                let got = Double(out.pointer[i * ldc + j])
                let before = Double(initial.pointer[i * ldc + j])
                if j >= c.n {  // padding of C must be untouched
                    if got != before {
                        wrong += 1
                        if wrong <= 5 { XCTFail("\(c): padding C[\(i), \(j)] changed", file: file, line: line) }
                    }
                    continue
                }
                var sum = 0.0, magnitude = 0.0
                for p in 0..<c.k {
                    let term = aAt(i, p) * bAt(p, j)
                    sum += term
                    magnitude += abs(term)
                }
                if c.accumulate { sum += before; magnitude += abs(before) }
                if c.bias { sum += Double(bias.pointer[j]); magnitude += abs(Double(bias.pointer[j])) }
                if c.activation == .relu { sum = max(sum, 0) }
                let tolerance = Double(c.k + 2) * Self.unit * magnitude
                if abs(got - sum) > tolerance || !got.isFinite {
                    wrong += 1
                    if wrong <= 5 {
                        XCTFail("\(c): C[\(i), \(j)] = \(got), expected \(sum) (tolerance \(tolerance))", file: file, line: line)
                    }
                }
            }
        }
        return wrong
    }

    /// Every transpose combination, with and without accumulate, bias and relu.
    private func checkAllVariants(m: Int, n: Int, k: Int, parallel: Bool = true, pad: Int = 0,
                                  kernels: KernelSet = .selected, file: StaticString = #filePath, line: UInt = #line) {
        var seed: UInt64 = 10
        for ta in [false, true] {
            for tb in [false, true] {
                for (accumulate, bias, activation) in [(false, false, Activation.identity), (true, false, .identity),
                                                       (false, true, .relu), (true, true, .relu), (false, true, .identity)] {
                    let c = Case(m: m, n: n, k: k, transposeA: ta, transposeB: tb, accumulate: accumulate, bias: bias,
                                 activation: activation, parallel: parallel, padA: pad, padB: pad + 1, padC: pad,
                                 kernels: kernels)
                    check(c, seed: seed, file: file, line: line)
                    seed += 4
                }
            }
        }
    }

    func testExactTiles() { checkAllVariants(m: 12, n: 32, k: 8) }

    /// Every instruction set this CPU has (portable, AVX2, AVX-512), whichever `FUNNEL_KERNELS` selects, on
    /// sizes around every tile (6 × 16 and 8 × 32): 1, 7, 17, 33 and other non-multiples, across k-blocks.
    func testEveryKernelLevel() {
        XCTAssertNotNil(KernelSet(level: .portable))
        for kernels in KernelSet.available {
            for (m, n, k) in [(1, 7, 17), (7, 1, 33), (7, 17, 33), (17, 33, 7), (33, 17, 1), (9, 65, 40), (16, 32, 8),
                              (25, 97, 300), (13, 100, 50), (9, 230, 17)] {
                checkAllVariants(m: m, n: n, k: k, kernels: kernels)
            }
            check(Case(m: 41, n: 70, k: 800, bias: true, activation: .relu, kernels: kernels))
        }
    }

    func testRaggedShapes() {
        for (m, n, k) in [(7, 17, 5), (5, 15, 3), (13, 33, 19), (2, 3, 1), (11, 40, 9), (6, 20, 7), (8, 16, 2)] {
            checkAllVariants(m: m, n: n, k: k)
        }
    }

    func testSingleRow() {
        for (n, k) in [(1, 1), (5, 3), (64, 9), (77, 40), (130, 17)] { checkAllVariants(m: 1, n: n, k: k) }
    }

    func testSingleColumn() {
        for (m, k) in [(5, 3), (64, 9), (77, 40), (130, 17)] { checkAllVariants(m: m, n: 1, k: k) }
    }

    func testZeroInnerExtent() {
        // k = 0: the product is empty, C becomes (C or 0) + bias, then relu.
        checkAllVariants(m: 5, n: 7, k: 0)
        checkAllVariants(m: 1, n: 4, k: 0)
    }

    func testEmptyOutputDoesNothing() {
        let c = Tensor(repeating: 42, shape: [4])
        let a = Tensor(zeros: [4]), b = Tensor(zeros: [4])
        gemm(m: 0, n: 4, k: 1, a: MatrixOperand(a.pointer, leadingDimension: 1), b: MatrixOperand(b.pointer, leadingDimension: 4),
             c: c.pointer, ldc: 4)
        XCTAssertEqual(c.scalars, [42, 42, 42, 42])
    }

    func testSeveralKBlocks() {
        // k > 384: the reduction is split into k-blocks; only the last applies bias and relu.
        checkAllVariants(m: 13, n: 21, k: 800)
        check(Case(m: 7, n: 19, k: 385, bias: true, activation: .relu))
        check(Case(m: 7, n: 19, k: 1153, accumulate: true, bias: true, activation: .relu))
    }

    func testSeveralNBlocks() {
        // n > 3072: several column blocks, each packing its own slice of B.
        for ta in [false, true] {
            for tb in [false, true] {
                check(Case(m: 7, n: 3100, k: 11, transposeA: ta, transposeB: tb, accumulate: true, bias: true, activation: .relu))
                check(Case(m: 13, n: 6200, k: 5, transposeA: ta, transposeB: tb, bias: true))
            }
        }
    }

    func testSeveralKAndNBlocks() {
        check(Case(m: 9, n: 3090, k: 400, bias: true, activation: .relu))
        check(Case(m: 9, n: 3090, k: 400, transposeA: true, transposeB: true, accumulate: true))
    }

    func testParallelOnAndOffWithOneAndTwoThreads() {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        defer { pool.activeThreads = saved }
        // m·n·k ≥ 2¹⁸, so with parallel on and two threads the work really is split.
        for threads in [1, 2] {
            pool.activeThreads = threads
            XCTAssertEqual(pool.activeThreads, min(threads, pool.threadCount))
            for parallel in [false, true] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    check(Case(m: 61, n: 95, k: 70, transposeA: ta, transposeB: tb, accumulate: true, bias: true,
                               activation: .relu, parallel: parallel, padA: 3, padB: 1, padC: 2))
                    check(Case(m: 100, n: 200, k: 30, transposeA: ta, transposeB: tb, parallel: parallel))
                }
                check(Case(m: 30, n: 3200, k: 9, bias: true, parallel: parallel))
                check(Case(m: 40, n: 50, k: 500, accumulate: true, parallel: parallel))
            }
        }
    }

    func testParallelAndSerialAgreeBitForBit() {
        // Work items split rows and panels, never the reduction: the result must not depend on the thread count.
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        defer { pool.activeThreads = saved }
        let (m, n, k) = (67, 130, 450)
        let a = GradientCheck.tensor([m, k], seed: 5), b = GradientCheck.tensor([k, n], seed: 6)
        var results: [[Float]] = []
        for (threads, parallel) in [(1, false), (2, true), (2, false)] {
            pool.activeThreads = threads
            let c = Tensor(zeros: [m, n])
            gemm(m: m, n: n, k: k, a: MatrixOperand(a.pointer, leadingDimension: k), b: MatrixOperand(b.pointer, leadingDimension: n),
                 c: c.pointer, ldc: n, parallel: parallel)
            results.append(c.scalars)
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }

    func testSubmatrixOperands() {
        // Leading dimensions larger than the logical width: the extra columns must never be read or written.
        for (m, n, k) in [(7, 17, 5), (1, 9, 4), (9, 1, 4), (12, 16, 20)] {
            checkAllVariants(m: m, n: n, k: k, pad: 5)
        }
    }

    func testSubmatrixIgnoresPaddingValues() {
        // Padding filled with NaN: if any padding element were read, NaN would reach the result.
        let (m, n, k, ld) = (7, 18, 9, 24)
        let a = GradientCheck.tensor([m, ld], seed: 1), b = GradientCheck.tensor([k, ld], seed: 2)
        for i in 0..<m { for p in k..<ld { a.pointer[i * ld + p] = .nan } }
        for p in 0..<k { for j in n..<ld { b.pointer[p * ld + j] = .nan } }
        let c = Tensor(zeros: [m, n])
        gemm(m: m, n: n, k: k, a: MatrixOperand(a.pointer, leadingDimension: ld), b: MatrixOperand(b.pointer, leadingDimension: ld),
             c: c.pointer, ldc: n)
        XCTAssertTrue(c.scalars.allSatisfy { $0.isFinite })
    }

    func testIdentityProductIsExact() {
        // A · I = A exactly (every term but one is an exact zero).
        let (m, k) = (10, 23)
        let a = GradientCheck.tensor([m, k], seed: 3)
        let identity = Tensor(zeros: [k, k])
        for i in 0..<k { identity.pointer[i * k + i] = 1 }
        let c = Tensor(zeros: [m, k])
        gemm(m: m, n: k, k: k, a: MatrixOperand(a.pointer, leadingDimension: k),
             b: MatrixOperand(identity.pointer, leadingDimension: k), c: c.pointer, ldc: k)
        XCTAssertEqual(c.scalars, a.scalars)
    }
}
