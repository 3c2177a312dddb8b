import Foundation
import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// The fused losses of losses-and-balancing.md §2–4: values against Float64 references and the spec's worked
/// examples (§9.3, §9.5), finite-difference gradients, the empty-space rule and numerical extremes.
final class LossOpTests: XCTestCase {
    private let logits = GradientCheck.tensor([6], seed: 301, bound: 3, margin: 0.1)
    private let targets = Tensor(shape: [6], values: [1, 0, 1, 0, 0.25, 1])
    private let weights = Tensor(shape: [6], values: [1, 2, 0, 0.5, 1, 3])

    private func value(_ v: Variable) -> Double { Double(v.value.scalar) }

    // MARK: BCE on logits with a positive weight (§2.1)

    func testPositiveWeightedBCEValuesAndGradients() {
        let (t, w) = (targets, weights)
        for omega: Float in [1, 3.5, 0.4] {
            GradientCheck.assert([logits], "ω = \(omega)") {
                Variable.binaryCrossEntropy(logits: $0[0], targets: t, weights: w, positiveWeight: omega)
            }
            var total = 0.0, weightSum = 0.0
            for i in 0..<6 {
                let z = Double(logits.pointer[i]), y = Double(t.pointer[i]), wi = Double(w.pointer[i])
                let softplusMinus = log1p(exp(-z))  // safe for these |z| ≤ 3
                total += wi * ((1 - y) * z + (1 + (Double(omega) - 1) * y) * softplusMinus)
                weightSum += wi
            }
            let loss = Variable.binaryCrossEntropy(logits: Variable(logits), targets: t, weights: w, positiveWeight: omega)
            XCTAssertEqual(value(loss), total / weightSum, accuracy: 1e-6, "ω = \(omega)")
        }
    }

    func testBCEWorkedExamples() {
        // §9.5: z = 2, y = 1 → 0.126928; z = −30, y = 1 → 30 (no overflow).
        let z = Variable(Tensor(shape: [1], values: [2])), far = Variable(Tensor(shape: [1], values: [-30]))
        let one = Tensor(shape: [1], values: [1])
        XCTAssertEqual(value(.binaryCrossEntropy(logits: z, targets: one)), 0.126928, accuracy: 1e-6)
        XCTAssertEqual(value(.binaryCrossEntropy(logits: far, targets: one)), 30, accuracy: 1e-5)
        // A positive weight ω multiplies exactly the positive rows' loss.
        XCTAssertEqual(value(.binaryCrossEntropy(logits: z, targets: one, positiveWeight: 4)), 4 * 0.126928, accuracy: 1e-5)
    }

    // MARK: BCE on probabilities (§2.2)

    func testProbabilityBCEMatchesLogitBCEAndClamps() {
        let p = GradientCheck.tensor([6], seed: 302, in: 0.1...0.9)
        let (t, w) = (targets, weights)
        GradientCheck.assert([p], relativeStep: 1e-3) { Variable.binaryCrossEntropy(probabilities: $0[0], targets: t, weights: w) }
        GradientCheck.assert([p], relativeStep: 1e-3, "ω") {
            Variable.binaryCrossEntropy(probabilities: $0[0], targets: t, weights: w, positiveWeight: 2)
        }
        // Same loss as the logit form at z = logit(p).
        let z = Tensor(shape: [6], values: p.scalars.map { Float(log(Double($0) / (1 - Double($0)))) })
        let fromLogits = value(.binaryCrossEntropy(logits: Variable(z), targets: t, weights: w))
        XCTAssertEqual(value(.binaryCrossEntropy(probabilities: Variable(p), targets: t, weights: w)), fromLogits, accuracy: 1e-5)
        // PyTorch's clamp: log 0 becomes −100; the gradient is PyTorch's (p − y)/max(p(1 − p), 1e-12).
        let extremes = Tensor(shape: [2], values: [0, 1]), wrong = Tensor(shape: [2], values: [1, 0])
        let tape = Tape()
        let v = tape.variable(extremes)
        let loss = Variable.binaryCrossEntropy(probabilities: v, targets: wrong, normalizer: 1)
        XCTAssertEqual(loss.value.scalar, 200)
        XCTAssertEqual(tape.gradients(of: loss, wrt: [v])[0].scalars, [-1e12, 1e12])
    }

    // MARK: Chained probabilities in log space (§2.3)

    func testChainedBCEWorkedExamples() {
        // §9.5: z₁ = z₂ = 0 (p = 0.25): y = 0 → −log 0.75, y = 1 → −log 0.25.
        let zero = Variable(Tensor(zeros: [1]))
        XCTAssertEqual(value(.binaryCrossEntropy(chainedLogits: [zero, zero], targets: Tensor(zeros: [1]))), 0.287682, accuracy: 1e-6)
        XCTAssertEqual(value(.binaryCrossEntropy(chainedLogits: [zero, zero], targets: Tensor(shape: [1], values: [1]))),
                       1.386294, accuracy: 1e-6)
    }

    func testChainedBCEEqualsProbabilitySpaceFormAndGradients() {
        let z1 = GradientCheck.tensor([6], seed: 303, bound: 3), z2 = GradientCheck.tensor([6], seed: 304, bound: 3)
        let z3 = GradientCheck.tensor([6], seed: 305, bound: 2)
        let (t, w) = (targets, weights)
        for omega: Float in [1, 2.5] {
            GradientCheck.assert([z1, z2, z3], "three steps, ω = \(omega)") {
                Variable.binaryCrossEntropy(chainedLogits: $0, targets: t, weights: w, positiveWeight: omega)
            }
            var total = 0.0, weightSum = 0.0
            for i in 0..<6 {
                let p = [z1, z2, z3].reduce(1.0) { $0 / (1 + exp(-Double($1.pointer[i]))) }
                let y = Double(t.pointer[i]), wi = Double(w.pointer[i])
                total += wi * -(Double(omega) * y * log(p) + (1 - y) * log(1 - p))
                weightSum += wi
            }
            let loss = Variable.binaryCrossEntropy(chainedLogits: [z1, z2, z3].map(Variable.init), targets: t, weights: w,
                                                   positiveWeight: omega)
            XCTAssertEqual(value(loss), total / weightSum, accuracy: 1e-6)
        }
        // One step is plain BCE on logits.
        let single = Variable.binaryCrossEntropy(chainedLogits: [Variable(z1)], targets: t, weights: w)
        XCTAssertEqual(value(single), value(.binaryCrossEntropy(logits: Variable(z1), targets: t, weights: w)), accuracy: 1e-6)
    }

    func testChainedBCEExtremeLogitsStayFinite() {
        // p → 1 with y = 0: log(1 − p) is −Σ softplus(−z) away from 0; at z = 200 it underflows and the −100 clamp applies.
        let large = Tensor(shape: [3], values: [40, 100, 200])
        let tape = Tape()
        let a = tape.variable(large), b = tape.variable(large)
        let loss = Variable.binaryCrossEntropy(chainedLogits: [a, b], targets: Tensor(zeros: [3]), normalizer: 1)
        let expected = [40.0, 100, 200].map { z in min(-log(-expm1(-2 * log1p(exp(-z)))), 100) }
        XCTAssertEqual(expected[0], 40 - log(2.0), accuracy: 1e-6, "−log(1 − σ(40)²) ≈ 40 − ln 2")
        XCTAssertLessThan(expected[1], 100, "z = 100 is still inside the clamp")
        XCTAssertEqual(expected[2], 100)
        XCTAssertEqual(value(loss), expected.reduce(0, +), accuracy: 1e-3)
        for g in tape.gradients(of: loss, wrt: [a, b]) {
            XCTAssertTrue(g.scalars.allSatisfy(\.isFinite), "\(g)")
            XCTAssertEqual(g.scalars[2], 0, "clamped row has zero gradient")
            XCTAssertEqual(Double(g.scalars[0]), 0.5, accuracy: 1e-3, "∂ℓ/∂z_s → 1/2 for two equal steps")
            XCTAssertEqual(Double(g.scalars[1]), 0.5, accuracy: 1e-3)
        }
        // Very negative logits with y = 1: log p = −Σ softplus(−z), finite and exact.
        let small = Variable(Tensor(shape: [1], values: [-60]))
        XCTAssertEqual(value(.binaryCrossEntropy(chainedLogits: [small, small], targets: Tensor(shape: [1], values: [1]))),
                       120, accuracy: 1e-4)
    }

    // MARK: Regression (§3) and ZILN (§4)

    func testHuberValuesAndGradients() {
        let p = Tensor(shape: [6], values: [0.2, -1.7, 3.1, 0.5, -0.4, 2.6])
        let y = Tensor(shape: [6], values: [0.0, 0.1, 0.2, 0.9, 1.5, -0.3])  // residuals 0.2 −1.8 2.9 −0.4 −1.9 2.9
        let w = weights
        GradientCheck.assert([p], relativeStep: 1e-3) { Variable.huber(predictions: $0[0], targets: y, delta: 1, weights: w) }
        GradientCheck.assert([p], relativeStep: 1e-3, "δ = 2") { Variable.huber(predictions: $0[0], targets: y, delta: 2) }
        var total = 0.0
        for i in 0..<6 {
            let r = Double(p.pointer[i] - y.pointer[i])
            total += Double(w.pointer[i]) * (abs(r) <= 1 ? 0.5 * r * r : abs(r) - 0.5)
        }
        XCTAssertEqual(value(.huber(predictions: Variable(p), targets: y, weights: w)), total / 7.5, accuracy: 1e-6)
    }

    func testZeroInflatedLognormalWorkedExample() {
        // §9.3: (a, μ, s_raw) = (0, 1, 0) for y = 0 and y = 2.
        let z = Tensor(shape: [2, 3], values: [0, 1, 0, 0, 1, 0])
        let loss = Variable.zeroInflatedLognormal(logits: Variable(z), targets: Tensor(shape: [2], values: [0, 2]))
        XCTAssertEqual(value(loss), 1.364928, accuracy: 1e-6)
        let single = Variable.zeroInflatedLognormal(logits: Variable(Tensor(shape: [1, 3], values: [0, 1, 0])),
                                                    targets: Tensor(shape: [1], values: [2]))
        XCTAssertEqual(value(single), 2.036709, accuracy: 1e-6)
        XCTAssertEqual(ZeroInflatedLognormal.mean(logits: z).scalars.map(Double.init), [1.728198, 1.728198], accuracy: 1e-6)
        XCTAssertEqual(ZeroInflatedLognormal.positiveProbability(logits: z).scalars, [0.5, 0.5])
        XCTAssertEqual(Double(ZeroInflatedLognormal.positiveMedian(logits: z).scalars[0]), M_E, accuracy: 1e-6)
        XCTAssertEqual(Double(ZeroInflatedLognormal.scaleFloor), 3.4527e-4, accuracy: 1e-8)
    }

    func testZeroInflatedLognormalGradientsAndFloor() {
        let z = GradientCheck.tensor([5, 3], seed: 306, bound: 1.5)
        let y = Tensor(shape: [5], values: [0, 2.5, 0.3, 0, 7])
        let w = Tensor(shape: [5], values: [1, 2, 1, 0.5, 1])
        GradientCheck.assert([z], relativeStep: 1e-3) { Variable.zeroInflatedLognormal(logits: $0[0], targets: y, weights: w) }
        // Below the floor, σ_ln is constant: no gradient into s_raw.
        let floored = Tensor(shape: [1, 3], values: [0.3, 0.2, -20])
        let tape = Tape()
        let v = tape.variable(floored)
        let loss = Variable.zeroInflatedLognormal(logits: v, targets: Tensor(shape: [1], values: [1]))
        let g = tape.gradients(of: loss, wrt: [v])[0].scalars
        XCTAssertEqual(g[2], 0)
        let sigma = Double(ZeroInflatedLognormal.scaleFloor)
        XCTAssertEqual(Double(g[1]), 0.2 / (sigma * sigma), accuracy: 2, "∂ℓ/∂μ = −(log y − μ)/σ², with σ at the floor")
        // The prediction's exponent cap.
        let huge = Tensor(shape: [1, 3], values: [30, 50, 0])
        XCTAssertEqual(Double(ZeroInflatedLognormal.mean(logits: huge).scalar), exp(20), accuracy: exp(20) * 1e-6)
        XCTAssertGreaterThan(ZeroInflatedLognormal.mean(logits: huge, exponentCap: nil).scalar, 1e21)
    }

    // MARK: Calibrator hinge (§2.4)

    func testCalibratorHinge() {
        let d = Tensor(shape: [5], values: [0.6, 0.1, 0.45, 0.9, 0.2]), u = Tensor(shape: [5], values: [0.3, 0.4, 0.5, 0.2, 0.7])
        GradientCheck.assert([d, u], relativeStep: 1e-3, minimumSignal: 0.04) {
            Variable.calibratorHinge(downstream: $0[0], upstream: $0[1])
        }
        XCTAssertEqual(value(.calibratorHinge(downstream: Variable(d), upstream: Variable(u))), (0.3 + 0.7) / 5, accuracy: 1e-6)
        // Subgradient 0 at equality.
        let tape = Tape()
        let a = tape.variable(Tensor(shape: [2], values: [0.5, 0.8])), b = tape.variable(Tensor(shape: [2], values: [0.5, 0.1]))
        let hinge = Variable.calibratorHinge(downstream: a, upstream: b)
        let grads = tape.gradients(of: hinge, wrt: [a, b])
        XCTAssertEqual(grads[0].scalars, [0, 0.5])
        XCTAssertEqual(grads[1].scalars, [0, -0.5])
    }

    // MARK: Reduction (§1)

    func testEmptySpaceGivesZeroLossAndGradientForEveryLoss() {
        let zeros = Tensor(zeros: [6])
        let t = targets
        let cases: [(String, (Variable) -> Variable)] = [
            ("bce", { .binaryCrossEntropy(logits: $0, targets: t, weights: zeros) }),
            ("probability", { .binaryCrossEntropy(probabilities: $0.sigmoid(), targets: t, weights: zeros) }),
            ("chain", { .binaryCrossEntropy(chainedLogits: [$0, $0], targets: t, weights: zeros) }),
            ("mse", { .squaredError(predictions: $0, targets: t, weights: zeros) }),
            ("huber", { .huber(predictions: $0, targets: t, weights: zeros) }),
            ("ziln", { .zeroInflatedLognormal(logits: Variable.concat([$0, $0, $0].map { $0.reshaped([6, 1]) }, alongAxis: 1),
                                              targets: t, weights: zeros) }),
        ]
        for (name, loss) in cases {
            let tape = Tape()
            let v = tape.variable(logits)
            let l = loss(v)
            XCTAssertEqual(l.value.scalar, 0, name)
            XCTAssertEqual(tape.gradients(of: l, wrt: [v])[0].scalars, [Float](repeating: 0, count: 6), name)
        }
    }

    func testReductionsDivideByTheRightDenominator() {
        let z = Variable(logits)
        let spaceMean = value(.squaredError(predictions: z, targets: targets, weights: weights))
        let batchMean = value(.squaredError(predictions: z, targets: targets, weights: weights, normalizer: 6))
        let sum = value(.squaredError(predictions: z, targets: targets, weights: weights, normalizer: 1))
        XCTAssertEqual(spaceMean * 7.5, sum, accuracy: 1e-5)
        XCTAssertEqual(batchMean * 6, sum, accuracy: 1e-5)
        // A masked row's non-finite label never reaches the loss.
        let poisoned = Tensor(shape: [6], values: [1, 0, .nan, 0, 0.25, 1])
        XCTAssertEqual(value(.binaryCrossEntropy(logits: z, targets: poisoned, weights: weights)),
                       value(.binaryCrossEntropy(logits: z, targets: targets, weights: weights)))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
