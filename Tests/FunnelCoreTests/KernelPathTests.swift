import XCTest
@testable import FunnelCore
import FunnelTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Every instruction set this CPU has against the portable kernels and against Float64 references, on sizes
/// around every vector width (1, 7, 8, 17, 33, …). The GEMM paths are checked in `GemmTests.testEveryKernelLevel`.
final class KernelPathTests: XCTestCase {
    private let sizes = [1, 7, 8, 15, 16, 17, 31, 33, 64, 100]
    private let portable = KernelSet(level: .portable)!

    private func random(_ n: Int, seed: UInt64, bound: Float = 4) -> Tensor {
        GradientCheck.tensor([max(n, 1)], seed: seed, bound: bound)
    }

    func testSelectionHonoursTheEnvironment() {
        let requested = ProcessInfo.processInfo.environment["FUNNEL_KERNELS"]
        if requested == "portable" { XCTAssertEqual(KernelSet.selected.name, "portable") }
        if requested == nil { XCTAssertEqual(KernelSet.selected.level, KernelSet.available.last?.level) }
        XCTAssertEqual(KernelSet.available.first?.name, "portable")
    }

    func testExpMatchesExpf() {
        for kernels in KernelSet.available {
            var x: Float = -87, worst: Float = 0
            var inputs: [Float] = []
            while x < 88 { inputs.append(x); x += 0.0137 }
            var out = [Float](repeating: 0, count: inputs.count)
            kernels.exp(inputs, &out, inputs.count)
            for (v, e) in zip(inputs, out) { worst = max(worst, abs(e - expf(v)) / expf(v)) }
            XCTAssertLessThan(worst, 4e-7, "\(kernels.name): relative error of exp (≈ 3 ulp)")
            let edge: [Float] = [-.infinity, -200, -87.5, 0, 1, -1, 80, 88, .nan]
            var e = [Float](repeating: 0, count: edge.count)
            kernels.exp(edge, &e, edge.count)
            XCTAssertEqual(Array(e[0..<2]), [0, 0], kernels.name)
            XCTAssertEqual(e[3], 1, kernels.name)
            XCTAssertEqual(e[4], expf(1), accuracy: 1e-6)
            XCTAssertFalse(e[7].isNaN || e[7].isInfinite)
            XCTAssertTrue(e[8].isNaN, "\(kernels.name): NaN propagates")
        }
    }

    func testSigmoidMatchesStableSigmoid() {
        for kernels in KernelSet.available {
            for n in sizes {
                let x = random(n, seed: UInt64(n), bound: 30)
                let y = Tensor(zeros: [max(n, 1)])
                kernels.sigmoid(x.pointer, y.pointer, n)
                for i in 0..<n {
                    XCTAssertEqual(y.pointer[i], stableSigmoid(x.pointer[i]), accuracy: 2e-7, "\(kernels.name) n \(n)")
                }
            }
            var extremes: [Float] = [-.infinity, -100, 100, .infinity]
            kernels.sigmoid(extremes, &extremes, 4)
            XCTAssertEqual(extremes, [0, 0, 1, 1], kernels.name)
        }
    }

    func testSoftmaxRowMatchesDoubleReference() {
        for kernels in KernelSet.available {
            for n in sizes {
                let x = random(n, seed: 100 + UInt64(n), bound: 8)
                let y = Tensor(zeros: [n])
                kernels.softmaxRow(x.pointer, y.pointer, n)
                let top = (0..<n).map { Double(x.pointer[$0]) }.max()!
                let total = (0..<n).reduce(0.0) { $0 + Foundation.exp(Double(x.pointer[$1]) - top) }
                for i in 0..<n {
                    let want = Foundation.exp(Double(x.pointer[i]) - top) / total
                    XCTAssertEqual(Double(y.pointer[i]), want, accuracy: 1e-6 * max(want, 1e-3), "\(kernels.name) n \(n)")
                }
            }
        }
    }

    func testBiasActivationAxpyAndDotAgreeWithPortable() {
        for kernels in KernelSet.available {
            for n in sizes {
                let x = random(n, seed: 200 + UInt64(n)), y = random(n, seed: 300 + UInt64(n))
                let bias = random(n, seed: 400 + UInt64(n))
                let reference = (0..<n).reduce(0.0) { $0 + Double(x.pointer[$1]) * Double(y.pointer[$1]) }
                let bound = Double(n + 1) * 0x1p-24 * (0..<n).reduce(0.0) { $0 + abs(Double(x.pointer[$1] * y.pointer[$1])) }
                XCTAssertEqual(Double(kernels.dot(x.pointer, y.pointer, n)), reference, accuracy: bound, "\(kernels.name) dot \(n)")

                let (mine, theirs) = (y.copy(), y.copy())
                kernels.axpy(0.75, x.pointer, mine.pointer, n)
                portable.axpy(0.75, x.pointer, theirs.pointer, n)
                for i in 0..<n { XCTAssertEqual(mine.pointer[i], theirs.pointer[i], accuracy: 1e-6, "\(kernels.name) axpy") }

                // 3 rows with a padded stride: the padding must stay untouched.
                let matrix = random(3 * (n + 2), seed: 500 + UInt64(n))
                let (a, b) = (matrix.copy(), matrix.copy())
                kernels.biasActivation(a.pointer, rows: 3, columns: n, ldc: n + 2, bias: bias.pointer, activation: .relu)
                for r in 0..<3 {
                    for j in 0..<(n + 2) {
                        let v = b.pointer[r * (n + 2) + j]
                        XCTAssertEqual(a.pointer[r * (n + 2) + j], j < n ? max(v + bias.pointer[j], 0) : v, "\(kernels.name)")
                    }
                }
            }
        }
    }

    func testSmallGemmAgreesWithPortable() {
        for kernels in KernelSet.available {
            for (m, n, k) in [(1, 1, 1), (7, 17, 8), (41, 41, 8), (33, 7, 17), (5, 40, 3)] {
                let a = random(m * k, seed: UInt64(m * 31 + k)), b = random(k * n, seed: UInt64(n * 17 + k))
                let (mine, theirs) = (random(m * n, seed: 9), random(m * n, seed: 9))
                for accumulate in [false, true] {
                    smallGemm(m: m, n: n, k: k, a: MatrixOperand(a.pointer, leadingDimension: k),
                              b: MatrixOperand(b.pointer, leadingDimension: n), c: mine.pointer, ldc: n,
                              accumulate: accumulate, kernels: kernels)
                    smallGemm(m: m, n: n, k: k, a: MatrixOperand(a.pointer, leadingDimension: k),
                              b: MatrixOperand(b.pointer, leadingDimension: n), c: theirs.pointer, ldc: n,
                              accumulate: accumulate, kernels: portable)
                    for i in 0..<(m * n) {
                        XCTAssertEqual(mine.pointer[i], theirs.pointer[i], accuracy: 1e-5 * Float(k + 1),
                                       "\(kernels.name) \(m)×\(n)×\(k)")
                    }
                }
            }
        }
    }
}
