import Foundation
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Finite-difference checks of lookups and losses, and exact checks of scalingGradient and dropout.
final class EmbeddingLossGradientTests: XCTestCase {
    private let table = GradientCheck.tensor([6, 3], seed: 151, bound: 2)

    // MARK: Lookups

    func testGatherRowsWithRepeatedIds() {
        let ids: [Int32] = [3, 0, 3, 3, 5]
        GradientCheck.assert([table]) { Variable.gatherRows($0[0], indices: ids) }
        let y = Variable.gatherRows(Variable(table), indices: ids).value
        XCTAssertEqual(y.shape, [5, 3])
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(Array(y.scalars[(i * 3)..<(i * 3 + 3)]), Array(table.scalars[(Int(id) * 3)..<(Int(id) * 3 + 3)]))
        }
        // A ones seed: row r's gradient is the number of times r was read.
        let tape = Tape()
        let t = tape.variable(table)
        let g = tape.gradients(of: Variable.gatherRows(t, indices: ids), wrt: [t])[0]
        let counts: [Float] = [1, 0, 0, 3, 0, 1]
        for r in 0..<6 { XCTAssertEqual(Array(g.scalars[(r * 3)..<(r * 3 + 3)]), [Float](repeating: counts[r], count: 3)) }
    }

    func testGatherRowsWideRows() {
        // 19-wide rows: SIMD body plus scalar tail of the scatter-add.
        let wide = GradientCheck.tensor([4, 19], seed: 152, bound: 2)
        GradientCheck.assert([wide]) { Variable.gatherRows($0[0], indices: [2, 2, 0]) }
    }

    func testEmbeddingBagSumWithEmptyBag() {
        let indices: [Int32] = [1, 4, 1, 0, 5, 2]
        let offsets: [Int32] = [0, 3, 3, 5, 6]  // bag 1 is empty
        GradientCheck.assert([table]) { Variable.embeddingBag($0[0], indices: indices, offsets: offsets, pooling: .sum) }
        let y = Variable.embeddingBag(Variable(table), indices: indices, offsets: offsets, pooling: .sum).value
        XCTAssertEqual(y.shape, [4, 3])
        XCTAssertEqual(Array(y.scalars[3..<6]), [0, 0, 0], "an empty bag pools to zeros")
        for c in 0..<3 {
            XCTAssertEqual(y.pointer[c], 2 * table.pointer[3 + c] + table.pointer[12 + c], accuracy: 1e-6)
            XCTAssertEqual(y.pointer[6 + c], table.pointer[c] + table.pointer[15 + c], accuracy: 1e-6)
        }
    }

    func testEmbeddingBagMeanWithEmptyBag() {
        let indices: [Int32] = [1, 4, 1, 0, 5, 2]
        let offsets: [Int32] = [0, 0, 3, 5, 6]  // bag 0 is empty
        GradientCheck.assert([table]) { Variable.embeddingBag($0[0], indices: indices, offsets: offsets, pooling: .mean) }
        let y = Variable.embeddingBag(Variable(table), indices: indices, offsets: offsets, pooling: .mean).value
        XCTAssertEqual(Array(y.scalars[0..<3]), [0, 0, 0])
        for c in 0..<3 {
            XCTAssertEqual(y.pointer[3 + c], (2 * table.pointer[3 + c] + table.pointer[12 + c]) / 3, accuracy: 1e-6)
            XCTAssertEqual(y.pointer[9 + c], table.pointer[6 + c], accuracy: 1e-6)
        }
    }

    func testEmbeddingBagAllBagsEmpty() {
        let y = Variable.embeddingBag(Variable(table), indices: [], offsets: [0, 0, 0], pooling: .mean)
        XCTAssertEqual(y.shape, [2, 3])
        XCTAssertEqual(y.value.scalars, [0, 0, 0, 0, 0, 0])
    }

    // MARK: Losses

    private let logits = GradientCheck.tensor([4, 3], seed: 161, bound: 3)
    private let binaryTargets = Tensor(shape: [4, 3], values: [1, 0, 0, 1, 1, 0, 0, 0, 1, 0.25, 0.5, 1])
    private let weights = Tensor(shape: [4, 3], values: [1, 0, 2, 0.5, 1, 1, 0, 3, 1, 1, 0.25, 2])

    func testBinaryCrossEntropyVariants() {
        let t = binaryTargets, w = weights
        GradientCheck.assert([logits], "plain") { Variable.binaryCrossEntropy(logits: $0[0], targets: t) }
        GradientCheck.assert([logits], "weights") { Variable.binaryCrossEntropy(logits: $0[0], targets: t, weights: w) }
        GradientCheck.assert([logits], "normalizer") { Variable.binaryCrossEntropy(logits: $0[0], targets: t, normalizer: 2.5) }
        GradientCheck.assert([logits], "weights + normalizer") {
            Variable.binaryCrossEntropy(logits: $0[0], targets: t, weights: w, normalizer: 4)
        }
    }

    func testBinaryCrossEntropyNormalisation() {
        // Unweighted default is the mean; weighted default divides by Σw; an explicit normaliser replaces both.
        let z = Variable(logits)
        var perElement = [Double]()
        for i in 0..<12 {
            let x = Double(logits.pointer[i]), y = Double(binaryTargets.pointer[i])
            perElement.append(max(x, 0) - x * y + Foundation.log(1 + Foundation.exp(-abs(x))))
        }
        let plain = Variable.binaryCrossEntropy(logits: z, targets: binaryTargets).value.scalar
        XCTAssertEqual(Double(plain), perElement.reduce(0, +) / 12, accuracy: 1e-6)
        let weighted = zip(perElement, weights.scalars).map { $0 * Double($1) }.reduce(0, +)
        let wSum = weights.scalars.reduce(0, +)
        XCTAssertEqual(Double(Variable.binaryCrossEntropy(logits: z, targets: binaryTargets, weights: weights).value.scalar),
                       weighted / Double(wSum), accuracy: 1e-6)
        XCTAssertEqual(Double(Variable.binaryCrossEntropy(logits: z, targets: binaryTargets, weights: weights, normalizer: 4).value.scalar),
                       weighted / 4, accuracy: 1e-6)
        // Zero normaliser (all weights 0): loss and gradient are 0, not NaN.
        let zeros = Tensor(zeros: [4, 3])
        let tape = Tape()
        let v = tape.variable(logits)
        let loss = Variable.binaryCrossEntropy(logits: v, targets: binaryTargets, weights: zeros)
        XCTAssertEqual(loss.value.scalar, 0)
        XCTAssertEqual(tape.gradients(of: loss, wrt: [v])[0].scalars, [Float](repeating: 0, count: 12))
    }

    func testSquaredErrorVariants() {
        let t = GradientCheck.tensor([4, 3], seed: 162, bound: 2), w = weights
        GradientCheck.assert([logits], "plain") { Variable.squaredError(predictions: $0[0], targets: t) }
        GradientCheck.assert([logits], "weights") { Variable.squaredError(predictions: $0[0], targets: t, weights: w) }
        GradientCheck.assert([logits], "normalizer") { Variable.squaredError(predictions: $0[0], targets: t, normalizer: 3) }
        GradientCheck.assert([logits], "weights + normalizer") {
            Variable.squaredError(predictions: $0[0], targets: t, weights: w, normalizer: 5)
        }
        let p = Tensor(shape: [3], values: [1, 2, 3]), target = Tensor(shape: [3], values: [0, 2, 5])
        XCTAssertEqual(Variable.squaredError(predictions: Variable(p), targets: target).value.scalar, 5.0 / 3, accuracy: 1e-6)
        let w3 = Tensor(shape: [3], values: [2, 1, 0.5])
        XCTAssertEqual(Variable.squaredError(predictions: Variable(p), targets: target, weights: w3).value.scalar, 4.0 / 3.5, accuracy: 1e-6)
        XCTAssertEqual(Variable.squaredError(predictions: Variable(p), targets: target, weights: w3, normalizer: 2).value.scalar, 2, accuracy: 1e-6)
    }

    // MARK: Gradient control

    func testScalingGradientIsExactlyFactorTimesPlainGradient() {
        let x = GradientCheck.tensor([3, 4], seed: 171, bound: 2)
        let w = GradientCheck.tensor([4, 2], seed: 172, bound: 2)
        func loss(_ v: Variable) -> Variable { Variable.matmul(v, Variable(w)).tanh().sum() }
        let tape = Tape()
        let v = tape.variable(x)
        let plainLoss = loss(v)
        let plain = tape.gradients(of: plainLoss, wrt: [v])[0]
        XCTAssertTrue(plain.scalars.contains { abs($0) > 0.05 })
        for factor: Float in [3, -0.5, 0] {
            let scaledInput = v.scalingGradient(by: factor)
            XCTAssertEqual(scaledInput.value.scalars, x.scalars, "forward is the identity")
            let scaledLoss = loss(scaledInput)
            XCTAssertEqual(scaledLoss.value.scalar, plainLoss.value.scalar)
            let scaled = tape.gradients(of: scaledLoss, wrt: [v])[0]
            XCTAssertEqual(scaled.scalars, plain.scalars.map { $0 * factor }, "factor \(factor)")
        }
    }

    func testElementwiseScalingGradientIsExactlyFactorsTimesPlainGradient() {
        let x = GradientCheck.tensor([3, 4], seed: 173, bound: 2)
        let w = GradientCheck.tensor([4, 2], seed: 174, bound: 2)
        let factors = Tensor(shape: [3, 4], values: [0, 1, 2, -1, 0.5, 1.75, 3, 0.25, 1e-3, 7, 1, 2])
        func loss(_ v: Variable) -> Variable { Variable.matmul(v, Variable(w)).tanh().sum() }
        let tape = Tape()
        let v = tape.variable(x)
        let plainLoss = loss(v)
        let plain = tape.gradients(of: plainLoss, wrt: [v])[0]
        XCTAssertTrue(plain.scalars.allSatisfy { abs($0) > 1e-3 }, "every element must carry a gradient")
        let scaledInput = v.scalingGradient(by: factors)
        XCTAssertTrue(bitIdentical(scaledInput.value, x), "forward is the identity")
        let scaledLoss = loss(scaledInput)
        XCTAssertEqual(scaledLoss.value.scalar.bitPattern, plainLoss.value.scalar.bitPattern)
        let scaled = tape.gradients(of: scaledLoss, wrt: [v])[0]
        XCTAssertEqual(scaled.scalars, zip(plain.scalars, factors.scalars).map { $0 * $1 })
    }

    private func bitIdentical(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    // MARK: Dropout

    func testDropoutMaskIsReproducibleAndGradientMatches() {
        let rate: Float = 0.3, scale = 1 / (1 - rate)
        let x = GradientCheck.tensor([40, 50], seed: 181, bound: 2, margin: 0.1)
        let tape = Tape()
        let v = tape.variable(x)
        var rng = SeededGenerator(seed: 99)
        let y = v.dropout(rate: rate, using: &rng)
        // With a ones seed the gradient is the mask itself: 0 or 1/(1 − p).
        let mask = tape.gradients(of: y, wrt: [v])[0]
        XCTAssertTrue(mask.scalars.allSatisfy { $0 == 0 || $0 == scale }, "mask values must be 0 or 1/(1-p)")
        let kept = Double(mask.scalars.filter { $0 != 0 }.count) / Double(mask.count)
        XCTAssertEqual(kept, 0.7, accuracy: 0.04, "2000 draws: ±0.04 is about 4 standard deviations")
        for i in 0..<x.count { XCTAssertEqual(y.value.pointer[i], x.pointer[i] * mask.pointer[i]) }
        // Any seed tensor: gradient = seed ⊙ mask.
        let s = GradientCheck.tensor([40, 50], seed: 182)
        let g = tape.gradients(of: y, seed: s, wrt: [v])[0]
        for i in 0..<x.count { XCTAssertEqual(g.pointer[i], s.pointer[i] * mask.pointer[i]) }
        // Same generator seed, same mask; the generator advanced, so the next call draws a different one.
        var again = SeededGenerator(seed: 99)
        XCTAssertEqual(Variable(x).dropout(rate: rate, using: &again).value.scalars, y.value.scalars)
        XCTAssertNotEqual(Variable(x).dropout(rate: rate, using: &again).value.scalars, y.value.scalars)
        var other = SeededGenerator(seed: 100)
        XCTAssertNotEqual(Variable(x).dropout(rate: rate, using: &other).value.scalars, y.value.scalars)
    }

    func testDropoutFiniteDifferenceWithFixedMask() {
        let x = GradientCheck.tensor([5, 7], seed: 183, bound: 2)
        GradientCheck.assert([x]) { inputs in
            var rng = SeededGenerator(seed: 5)
            return inputs[0].dropout(rate: 0.4, using: &rng).squared()
        }
    }

    func testDropoutRateZeroIsIdentity() {
        let x = GradientCheck.tensor([3, 3], seed: 184)
        let tape = Tape()
        let v = tape.variable(x)
        var rng = SeededGenerator(seed: 1)
        let y = v.dropout(rate: 0, using: &rng)
        XCTAssertEqual(y.value.scalars, x.scalars)
        XCTAssertEqual(tape.gradients(of: y, wrt: [v])[0].scalars, [Float](repeating: 1, count: 9))
    }

    func testLargeDropoutIsIndependentOfThreadCount() {
        // ≥ 2¹⁷ elements: the mask is filled in parallel chunks; the result must not depend on the thread count.
        let x = Tensor(repeating: 1, shape: [(1 << 17) + 5])
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        defer { pool.activeThreads = saved }
        var masks: [[Float]] = []
        for threads in [1, 2] {
            pool.activeThreads = threads
            var rng = SeededGenerator(seed: 7)
            masks.append(Variable(x).dropout(rate: 0.5, using: &rng).value.scalars)
        }
        XCTAssertEqual(masks[0], masks[1])
        let kept = Double(masks[0].filter { $0 != 0 }.count) / Double(x.count)
        XCTAssertEqual(kept, 0.5, accuracy: 0.01)
    }
}
