import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Ops that split their work over the pool in ranges of samples or rows give bit-identical values and gradients
/// with one and with two threads, at sizes above their parallel thresholds (with one thread the same ranges run
/// serially, so a split that skipped or repeated an item would show here).
final class ParallelSplitTests: XCTestCase {
    /// Forward values and the gradients of every input of `Σ s ⊙ f(inputs)`, at `threads` threads.
    private func evaluate(threads: Int, _ inputs: [Tensor], _ f: ([Variable]) -> Variable) -> [[Float]] {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        let tape = Tape()
        let tracked = inputs.map { tape.variable($0) }
        let output = f(tracked)
        let seed = GradientCheck.tensor(output.shape, seed: 99, bound: 1, margin: 0.25)
        return [output.value.scalars] + tape.gradients(of: output, seed: seed, wrt: tracked).map(\.scalars)
    }

    private func assertSameWithOneAndTwoThreads(_ label: String, _ inputs: [Tensor], _ f: ([Variable]) -> Variable) throws {
        guard ThreadPool.shared.threadCount >= 2 else { throw XCTSkip("the pool has one thread (FUNNEL_THREADS=1)") }
        let one = evaluate(threads: 1, inputs, f), two = evaluate(threads: 2, inputs, f)
        XCTAssertEqual(one.count, two.count)
        for (index, (a, b)) in zip(one, two).enumerated() {
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(label): \(index == 0 ? "output" : "gradient \(index - 1)")")
            XCTAssertTrue(a.allSatisfy(\.isFinite), label)
        }
    }

    func testAttentionProductsSplitBySample() throws {
        // B = 64 sets of 41 tokens, 2 heads of width 8 (AutoInt's shape): far above the serial threshold.
        let q = GradientCheck.tensor([64, 41, 16], seed: 1), k = GradientCheck.tensor([64, 41, 16], seed: 2)
        let v = GradientCheck.tensor([64, 41, 16], seed: 3)
        try assertSameWithOneAndTwoThreads("attention", [q, k, v]) { x in
            let weights = Variable.attentionScores(queries: x[0], keys: x[1], heads: 2, scale: 0.5).softmax()
            return Variable.attentionMix(weights: weights, values: x[2], heads: 2)
        }
    }

    func testBatchedMatmulSplitByItem() throws {
        let a = GradientCheck.tensor([96, 12, 20], seed: 4), b = GradientCheck.tensor([96, 20, 10], seed: 5)
        try assertSameWithOneAndTwoThreads("batchedMatmul", [a, b]) { x in Variable.batchedMatmul(x[0], x[1]) }
        try assertSameWithOneAndTwoThreads("batchedMatmul transposed", [a, b]) { x in
            Variable.batchedMatmul(x[0], x[1].swappingAxes(1, 2), transposeB: true)
        }
    }

    func testPairwiseRowProductsAndAxisSwapSplitByRow() throws {
        let a = GradientCheck.tensor([12, 4096], seed: 6), b = GradientCheck.tensor([10, 4096], seed: 7)
        try assertSameWithOneAndTwoThreads("pairwiseRowProducts", [a, b]) { x in Variable.pairwiseRowProducts(x[0], x[1]) }
        let t = GradientCheck.tensor([8, 64, 5, 64], seed: 8)
        try assertSameWithOneAndTwoThreads("swappingAxes", [t]) { x in x[0].swappingAxes(1, 3) }
    }
}
