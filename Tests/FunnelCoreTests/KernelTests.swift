import Foundation
import Synchronization
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Random numbers, forward values of the numerically delicate ops, the thread pool and the buffer pool.
final class KernelTests: XCTestCase {
    // MARK: Random numbers

    func testPortableRandomReferenceValues() {
        // Shared with the Python tooling: must match bit for bit.
        let uniforms = (0..<4).map { PortableRandom.uniform(seed: 0, stream: 1, index: UInt64($0)) }
        XCTAssertEqual(uniforms, [0.7497482413580301, 0.37239342287916577, 0.4382839062845528, 0.9541167159066205])
        let normals = (0..<4).map { PortableRandom.normal(seed: 0, stream: 2, index: UInt64($0)) }
        let expected = [0.6043777850667446, -0.017570676519781232, 1.0479965827031512, -1.8912257137556459]
        // log/cos may differ from NumPy's libm by an ulp or so.
        for (got, want) in zip(normals, expected) { XCTAssertEqual(got, want, accuracy: 1e-14) }
        XCTAssertEqual(PortableRandom.mix64(0), 0)
    }

    func testMix64IsSplitMix64() {
        // SplitMix64 from state 0: the finaliser of k·φ gives the published sequence.
        let phi: UInt64 = 0x9E37_79B9_7F4A_7C15
        XCTAssertEqual(PortableRandom.mix64(phi), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(PortableRandom.mix64(phi &* 2), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(PortableRandom.mix64(phi &* 3), 0x06C4_5D18_8009_454F)
    }

    func testPortableRandomIsAddressedNotSequential() {
        // Same (seed, stream, index) → same value regardless of call order; streams and seeds differ.
        let a = PortableRandom.uniform(seed: 7, stream: 3, index: 1000)
        _ = (0..<10).map { PortableRandom.uniform(seed: 7, stream: 3, index: UInt64($0)) }
        XCTAssertEqual(PortableRandom.uniform(seed: 7, stream: 3, index: 1000), a)
        XCTAssertNotEqual(PortableRandom.uniform(seed: 7, stream: 4, index: 1000), a)
        XCTAssertNotEqual(PortableRandom.uniform(seed: 8, stream: 3, index: 1000), a)
        let many = (0..<10_000).map { PortableRandom.uniform(seed: 1, stream: 1, index: UInt64($0)) }
        XCTAssertTrue(many.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(many.reduce(0, +) / 10_000, 0.5, accuracy: 0.012)
    }

    func testSeededGeneratorReferenceValues() {
        // xoshiro256** seeded by SplitMix64, computed with an independent implementation of the published algorithm.
        var zero = SeededGenerator(seed: 0)
        XCTAssertEqual((0..<4).map { _ in zero.next() },
                       [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C])
        var answer = SeededGenerator(seed: 42)
        XCTAssertEqual(answer.next(), 0x1578_0B2E_0C2E_C716)
        XCTAssertEqual(answer.next(), 0x6104_D986_6D11_3A7E)
    }

    func testSeededGeneratorDeterminism() {
        var a = SeededGenerator(seed: 12345), b = SeededGenerator(seed: 12345), c = SeededGenerator(seed: 12346)
        let sa = (0..<100).map { _ in a.next() }, sb = (0..<100).map { _ in b.next() }, sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
        // Tensors drawn from equal generators are equal.
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        XCTAssertEqual(Tensor.normal([50], using: &g1).scalars, Tensor.normal([50], using: &g2).scalars)
    }

    func testSeededGeneratorDistributions() {
        var rng = SeededGenerator(seed: 2024)
        let n = 20_000
        let floats = (0..<n).map { _ in rng.nextUnitFloat() }
        XCTAssertTrue(floats.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(Double(floats.reduce(0, +)) / Double(n), 0.5, accuracy: 0.01)
        let doubles = (0..<n).map { _ in rng.nextUnitDouble() }
        XCTAssertTrue(doubles.allSatisfy { $0 >= 0 && $0 < 1 })
        let normals = (0..<n).map { _ in rng.nextNormal() }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.03, "≈ 4 standard errors")
        XCTAssertEqual(variance, 1, accuracy: 0.04)
        let uniform = Tensor.uniform([n], in: -3...5, using: &rng)
        XCTAssertTrue(uniform.scalars.allSatisfy { $0 >= -3 && $0 <= 5 })
        XCTAssertEqual(Double(uniform.sum()) / Double(n), 1, accuracy: 0.05)
    }

    // MARK: Forward values

    func testBatchNormForwardMatchesFormula() {
        let x = GradientCheck.tensor([5, 3], seed: 301, bound: 3)
        let gamma = Tensor(shape: [3], values: [1.5, -0.5, 2]), beta = Tensor(shape: [3], values: [0.25, 1, -1])
        let epsilon: Float = 1e-3
        for activation in [Activation.identity, .relu] {
            let result = Variable.batchNorm(Variable(x), scale: Variable(gamma), shift: Variable(beta),
                                            epsilon: epsilon, activation: activation)
            for j in 0..<3 {
                let column = (0..<5).map { Double(x.pointer[$0 * 3 + j]) }
                let mean = column.reduce(0, +) / 5
                let biasedVariance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5
                XCTAssertEqual(Double(result.mean.pointer[j]), mean, accuracy: 1e-6)
                XCTAssertEqual(Double(result.variance.pointer[j]), biasedVariance, accuracy: 1e-5, "biased (÷B), not ÷(B−1)")
                for i in 0..<5 {
                    var want = Double(gamma.pointer[j]) * (column[i] - mean) / (biasedVariance + Double(epsilon)).squareRoot()
                        + Double(beta.pointer[j])
                    if activation == .relu { want = max(want, 0) }
                    XCTAssertEqual(Double(result.output.value.pointer[i * 3 + j]), want, accuracy: 1e-5)
                }
            }
            XCTAssertEqual(result.mean.shape, [3])
            XCTAssertEqual(result.variance.shape, [3])
        }
    }

    func testBatchNormWithLargeOffsetKeepsPrecision() {
        // Two-pass statistics: a column 1000 + small noise still has the right variance.
        let noise = GradientCheck.tensor([64, 2], seed: 302)
        let x = noise + Tensor(repeating: 1000, shape: [64, 2])
        let result = Variable.batchNorm(Variable(x), scale: Variable(Tensor(repeating: 1, shape: [2])),
                                        shift: Variable(Tensor(zeros: [2])))
        let reference = Variable.batchNorm(Variable(noise), scale: Variable(Tensor(repeating: 1, shape: [2])),
                                           shift: Variable(Tensor(zeros: [2])))
        for j in 0..<2 {
            XCTAssertEqual(result.variance.pointer[j], reference.variance.pointer[j], accuracy: 1e-3 * reference.variance.pointer[j])
        }
    }

    func testSoftmaxRowsSumToOneAndAreStable() {
        let x = GradientCheck.tensor([7, 13], seed: 303, bound: 20)
        let y = Variable(x).softmax().value
        for r in 0..<7 {
            let row = y.scalars[(r * 13)..<((r + 1) * 13)]
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertTrue(row.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        let large = Variable(Tensor(shape: [2, 3], values: [1000, 1001, 1002, -1000, -1001, -1002])).softmax().value.scalars
        XCTAssertTrue(large.allSatisfy { $0.isFinite })
        let expected: [Float] = [0.09003057, 0.24472847, 0.66524096]
        for j in 0..<3 {
            XCTAssertEqual(large[j], expected[j], accuracy: 1e-6)
            XCTAssertEqual(large[3 + j], expected[2 - j], accuracy: 1e-6)
        }
    }

    func testLogSoftmaxIsStable() {
        let y = Variable(Tensor(shape: [1, 3], values: [1000, 0, -1000])).logSoftmax().value.scalars
        XCTAssertEqual(y, [0, -1000, -2000])
        let z = Variable(Tensor(shape: [1, 3], values: [1000, 1001, 1002])).logSoftmax().value.scalars
        let expected = [0.09003057, 0.24472847, 0.66524096].map { Foundation.log($0) }
        // Inputs near 1000 are themselves only known to ±2⁻¹⁴ ≈ 6e-5 in Float32 (and the shift max + log Σ is
        // rounded at that magnitude), so that is the accuracy to expect.
        for j in 0..<3 { XCTAssertEqual(Double(z[j]), expected[j], accuracy: 0x1p-14) }
        // Gradients through extreme inputs stay finite too.
        let tape = Tape()
        let v = tape.variable(Tensor(shape: [1, 3], values: [1000, 0, -1000]))
        let g = tape.gradients(of: v.logSoftmax(), seed: Tensor(shape: [1, 3], values: [1, 2, 3]), wrt: [v])[0].scalars
        XCTAssertEqual(g, [1 - 6, 2, 3])
    }

    func testBinaryCrossEntropyHandComputed() {
        let logits = Tensor(shape: [7], values: [0, 2, -1, 50, 50, -50, -50])
        let targets = Tensor(shape: [7], values: [1, 0, 0.25, 1, 0, 1, 0])
        // ℓ = max(z, 0) − z·y + log(1 + e^{−|z|}): log 2; 2 + log(1 + e⁻²); 0.25 + log(1 + e⁻¹); ≈0; 50; 50; ≈0.
        let tape = Tape()
        let z = tape.variable(logits)
        let loss = Variable.binaryCrossEntropy(logits: z, targets: targets)
        XCTAssertEqual(Double(loss.value.scalar), 14.769048125588736, accuracy: 1e-5)
        let g = tape.gradients(of: loss, wrt: [z])[0].scalars
        let expected = [-0.07142857142857142, 0.12582815399684033, 0.002705917338570729, 0,
                        0.14285714285714285, -0.14285714285714285, 0]
        for (got, want) in zip(g, expected) {
            XCTAssertTrue(got.isFinite)
            XCTAssertEqual(Double(got), want, accuracy: 1e-7)
        }
        // Each extreme term on its own.
        for (zv, yv, want) in [(50, 1, 0.0), (50, 0, 50), (-50, 1, 50), (-50, 0, 0), (100, 0, 100)] as [(Float, Float, Double)] {
            let l = Variable.binaryCrossEntropy(logits: Variable(Tensor(shape: [1], values: [zv])),
                                                targets: Tensor(shape: [1], values: [yv])).value.scalar
            XCTAssertTrue(l.isFinite)
            XCTAssertEqual(Double(l), want, accuracy: 1e-6)
        }
    }

    // MARK: Thread pool

    func testParallelForCoversEveryIndexExactlyOnce() {
        let pools = [ThreadPool.shared, ThreadPool(threadCount: 3)]
        for pool in pools {
            for size in [0, 1, 2, 3, 5, 8, 17, 100, 1000, 10_007] {
                let counts = Mutex([Int](repeating: 0, count: size))
                pool.parallelFor(size) { i in counts.withLock { $0[i] += 1 } }
                let result = counts.withLock { $0 }
                XCTAssertEqual(result, [Int](repeating: 1, count: size), "pool of \(pool.threadCount), size \(size)")
            }
        }
    }

    func testParallelForReturnsOnlyWhenAllWorkIsDone() {
        let pool = ThreadPool(threadCount: 2)
        let done = Atomic<Int>(0)
        pool.parallelFor(64) { _ in
            usleep(200)
            done.wrappingAdd(1, ordering: .relaxed)
        }
        XCTAssertEqual(done.load(ordering: .relaxed), 64)
    }

    func testParallelRangesPartitionTheRange() {
        let pool = ThreadPool(threadCount: 3)
        for (count, grain) in [(0, 1), (1, 1), (10, 3), (1000, 10), (1001, 1), (99, 1000)] {
            let ranges = Mutex([Range<Int>]())
            pool.parallelRanges(count, grain: grain) { r in ranges.withLock { $0.append(r) } }
            let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
            var next = 0
            for r in sorted {
                XCTAssertEqual(r.lowerBound, next, "count \(count) grain \(grain)")
                next = r.upperBound
            }
            XCTAssertEqual(next, count, "count \(count) grain \(grain)")
            XCTAssertLessThanOrEqual(sorted.count, pool.activeThreads)
        }
    }

    func testActiveThreadsIsClamped() {
        let pool = ThreadPool(threadCount: 2)
        pool.activeThreads = 10
        XCTAssertEqual(pool.activeThreads, 2)
        pool.activeThreads = 0
        XCTAssertEqual(pool.activeThreads, 1)
        let counts = Mutex([Int](repeating: 0, count: 50))
        pool.parallelFor(50) { i in counts.withLock { $0[i] += 1 } }
        XCTAssertEqual(counts.withLock { $0 }, [Int](repeating: 1, count: 50))
    }

    // MARK: Buffer pool and tensors

    func testSizeClasses() {
        XCTAssertEqual(BufferPool.sizeClass(for: 0), 16)
        XCTAssertEqual(BufferPool.sizeClass(for: 1), 16)
        XCTAssertEqual(BufferPool.sizeClass(for: 16), 16)
        XCTAssertEqual(BufferPool.sizeClass(for: 17), 20)
        XCTAssertEqual(BufferPool.sizeClass(for: 1024), 1024)
        XCTAssertEqual(BufferPool.sizeClass(for: 1025), 1280)
        var previous = 0
        var counts = Array(1...5000)
        for shift in 13..<31 { counts += [(1 << shift) - 1, 1 << shift, (1 << shift) + 1, (1 << shift) + (1 << (shift - 2)) + 1] }
        for count in counts {
            let capacity = BufferPool.sizeClass(for: count)
            XCTAssertGreaterThanOrEqual(capacity, count)
            XCTAssertGreaterThanOrEqual(capacity, previous, "monotone at \(count)")
            if count > 16 { XCTAssertLessThanOrEqual(Double(capacity - count), 0.25 * Double(capacity), "waste at \(count)") }
            previous = capacity
        }
        // Four classes per doubling.
        XCTAssertEqual(Set((1025...2048).map { BufferPool.sizeClass(for: $0) }), [1280, 1536, 1792, 2048])
    }

    func testTensorStorageIsRecycled() {
        let capacity = BufferPool.sizeClass(for: 1000)
        var cachedWhileAlive = 0
        do {
            let t = Tensor(zeros: [1000])
            XCTAssertEqual(t.storage.capacity, capacity)
            XCTAssertEqual(Int(bitPattern: t.pointer) % 64, 0, "64-byte aligned")
            cachedWhileAlive = withExtendedLifetime(t) { BufferPool.shared.cachedBytes }
        }
        XCTAssertEqual(BufferPool.shared.cachedBytes, cachedWhileAlive + capacity * 4, "released buffer goes to the free list")
        let reserved = BufferPool.shared.reservedBytes
        for _ in 0..<10 { _ = Tensor(zeros: [1000]) }
        XCTAssertEqual(BufferPool.shared.reservedBytes, reserved, "the cached buffer is reused")
    }

    func testViewsShareStorageAndAccumulateRespectsSharing() {
        let t = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        let rows = t.rows(1..<3)
        XCTAssertEqual(rows.shape, [2, 2])
        XCTAssertEqual(rows.scalars, [3, 4, 5, 6])
        XCTAssertEqual(t.reshaped([-1]).shape, [6])
        var shared = t
        Tensor.accumulate(Tensor(repeating: 1, shape: [3, 2]), into: &shared)
        XCTAssertEqual(t.scalars, [1, 2, 3, 4, 5, 6], "a shared buffer is not mutated in place")
        XCTAssertEqual(shared.scalars, [2, 3, 4, 5, 6, 7])
        var owned = Tensor(zeros: [4])
        let pointer = owned.pointer
        Tensor.accumulate(Tensor(repeating: 2, shape: [4]), into: &owned)
        XCTAssertEqual(owned.pointer, pointer, "a uniquely owned buffer is updated in place")
        XCTAssertEqual(owned.scalars, [2, 2, 2, 2])
    }

    func testLongSumsAndDotsAreAccurate() {
        let n = 1 << 20
        let ones = Tensor(repeating: 1, shape: [n])
        XCTAssertEqual(ones.sum(), Float(n))
        // A naive Float32 running sum of 2²⁰ tenths is off by ~1000 (its increments round at 1e5). The blocked
        // sums only round within short Float32 partial sums: sum() adds ≤ 16 terms per Float32 partial sum
        // (8 per lane, then 8 lanes), dot() ≤ 136 (128 per lane in a 4096 block, then lanes); the worst-case
        // bound is (terms · 2⁻²⁴) · Σ|x|, plus the final rounding to Float for sum().
        let tenths = Tensor(repeating: 0.1, shape: [n])
        let exact = Double(Float(0.1)) * Double(n)
        XCTAssertEqual(Double(tenths.sum()), exact, accuracy: 16 * 0x1p-24 * exact + 0.004)
        XCTAssertEqual(tenths.dot(ones), exact, accuracy: 136 * 0x1p-24 * exact)
        XCTAssertEqual(Tensor(shape: [3], values: [1, 2, 3]).squaredNorm(), 14)
    }
}
