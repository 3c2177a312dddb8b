import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// The Label Embedding Unit: finite-difference gradients, the stop-gradient placement, every training and
/// evaluation form, and the temperature schedule.
final class LabelEmbeddingTests: XCTestCase {
    private func unit(_ sampling: LabelEmbedding.Sampling = .gumbelSoftmax, inference: LabelEmbedding.Inference = .expected,
                      stopsGradient: Bool = true, temperature: Float = 1.5) -> LabelEmbedding {
        var rng = SeededGenerator(seed: 4)
        return LabelEmbedding(width: 3, name: "leu", sampling: sampling, inference: inference,
                              stopsGradient: stopsGradient, temperature: temperature, using: &rng)
    }

    private let logits = GradientCheck.tensor([6], seed: 8, bound: 2, margin: 0.2)
    private var noise: Tensor {
        var rng = SeededGenerator(seed: 12)
        return .gumbel([6, 2], using: &rng)
    }

    func testFiniteDifferencesThroughGumbelSoftmaxWithoutStopGradient() {
        let leu = unit(stopsGradient: false)
        let g = noise
        GradientCheck.assert([logits], parameters: leu.parameters) { tape, x in
            leu(x[0], ForwardContext(tape: tape, mode: .training), noise: g)
        }
    }

    func testFiniteDifferencesThroughTemperedSoftmaxAndExpectedEmbedding() {
        let tempered = unit(.temperedSoftmax, stopsGradient: false, temperature: 0.7)
        GradientCheck.assert([logits], parameters: tempered.parameters, "tempered (training)") { tape, x in
            tempered(x[0], ForwardContext(tape: tape, mode: .training))
        }
        let expected = unit(stopsGradient: false)
        GradientCheck.assert([logits], parameters: expected.parameters, "expected (evaluation)") { tape, x in
            expected(x[0], ForwardContext(tape: tape, mode: .evaluation))
        }
    }

    func testStopGradientBlocksTheLogitsButNotTheTable() {
        let leu = unit(stopsGradient: true)
        let g = noise
        // Λ still gets its finite-difference gradient …
        GradientCheck.assert([], parameters: leu.parameters) { tape, _ in
            leu(Variable(self.logits), ForwardContext(tape: tape, mode: .training), noise: g)
        }
        // … while the logits, on which the output does depend, get none.
        let tape = Tape()
        let x = tape.variable(logits)
        let le = leu(x, ForwardContext(tape: tape, mode: .training), noise: g)
        XCTAssertTrue(tape.parameterGradients(of: le.sum()).map(\.parameter.name) == ["leu.weight"])
        XCTAssertTrue(tape.gradients(of: le.sum(), wrt: [x])[0].scalars.allSatisfy { $0 == 0 })
        let shifted = leu(Variable(logits + Tensor(repeating: 0.5, shape: [6])), ForwardContext(tape: nil, mode: .training), noise: g)
        XCTAssertNotEqual(shifted.value.scalars, le.value.scalars)
    }

    func testStraightThroughIsHardForwardAndSoftBackward() {
        let hard = unit(.straightThrough, stopsGradient: false)
        let soft = unit(.gumbelSoftmax, stopsGradient: false)
        let g = noise
        let tapeHard = Tape(), tapeSoft = Tape()
        let xh = tapeHard.variable(logits), xs = tapeSoft.variable(logits)
        let sHard = hard.labelWeights(xh, ForwardContext(tape: tapeHard, mode: .training), noise: g)
        let sSoft = soft.labelWeights(xs, ForwardContext(tape: tapeSoft, mode: .training), noise: g)
        for r in 0..<6 {
            let row = Array(sHard.value.scalars[(2 * r)..<(2 * r + 2)]), softRow = Array(sSoft.value.scalars[(2 * r)..<(2 * r + 2)])
            XCTAssertEqual(row.sorted(), [0, 1], "straight-through value is one-hot")
            XCTAssertEqual(row[1], softRow[1] > softRow[0] ? 1 : 0, "at the soft sample's argmax")
        }
        let seed = GradientCheck.tensor([6, 2], seed: 2, bound: 1, margin: 0.25)
        let gradHard = tapeHard.gradients(of: sHard, seed: seed, wrt: [xh])[0]
        let gradSoft = tapeSoft.gradients(of: sSoft, seed: seed, wrt: [xs])[0]
        XCTAssertEqual(gradHard.scalars, gradSoft.scalars)
        XCTAssertTrue(gradSoft.scalars.contains { abs($0) > 1e-3 })
    }

    func testEvaluationForms() {
        let x = Tensor(shape: [3], values: [0, 2, -1])
        let p = x.scalars.map { 1 / (1 + expf(-$0)) }
        let context = ForwardContext.inference()
        let expected = unit(inference: .expected).labelWeights(Variable(x), context).value.scalars
        for r in 0..<3 {
            XCTAssertEqual(expected[2 * r], 1 - p[r], accuracy: 1e-7)
            XCTAssertEqual(expected[2 * r + 1], p[r], accuracy: 1e-7)
        }
        // p = 0.5 ties: torch.argmax picks the first (label 0).
        XCTAssertEqual(unit(inference: .hard).labelWeights(Variable(x), context).value.scalars, [1, 0, 0, 1, 1, 0])
        let tempered = unit(inference: .tempered, temperature: 0.5).labelWeights(Variable(x), context).value.scalars
        for r in 0..<3 {  // softmax(log π / τ) = π^{1/τ} / Σ π^{1/τ}
            let (a, b) = (powf(1 - p[r], 2), powf(p[r], 2))
            XCTAssertEqual(tempered[2 * r + 1], b / (a + b), accuracy: 1e-6)
        }
        // The embedding is s Λ: the expected form mixes the two rows.
        let leu = unit(inference: .expected)
        let le = leu(Variable(x), context).value.scalars, table = leu.table.value.scalars
        for k in 0..<3 { XCTAssertEqual(le[3 + k], (1 - p[1]) * table[k] + p[1] * table[3 + k], accuracy: 1e-6) }
        // Evaluation draws no noise.
        var rng = SeededGenerator(seed: 1)
        let before = rng.next()
        let ctx = ForwardContext(tape: nil, mode: .evaluation, rng: SeededGenerator(seed: 1))
        _ = unit().labelWeights(Variable(x), ctx)
        XCTAssertEqual(ctx.rng.next(), before)
    }

    func testGumbelSamplesFollowThePredictedProbability() {
        // Gumbel-max: at a small τ the relaxed sample is almost one-hot, and its label is 1 with probability p.
        let leu = unit(temperature: 0.05)
        let p: Float = 0.3, n = 20_000
        let z = Tensor(repeating: logf(p / (1 - p)), shape: [n])
        let context = ForwardContext(tape: nil, mode: .training, rng: SeededGenerator(seed: 77))
        let s = leu.labelWeights(Variable(z), context).value.scalars
        let ones = stride(from: 1, to: 2 * n, by: 2).filter { s[$0] > 0.5 }.count
        XCTAssertEqual(Double(ones) / Double(n), Double(p), accuracy: 0.015)  // 4.6 standard errors
        XCTAssertGreaterThan(stride(from: 1, to: 2 * n, by: 2).filter { s[$0] < 0.01 || s[$0] > 0.99 }.count, n * 9 / 10)
        // The noise comes from the context's generator: the same seed gives the same samples, another seed others.
        let again = leu.labelWeights(Variable(z), ForwardContext(tape: nil, mode: .training, rng: SeededGenerator(seed: 77)))
        XCTAssertEqual(again.value.scalars, s)
        let other = leu.labelWeights(Variable(z), ForwardContext(tape: nil, mode: .training, rng: SeededGenerator(seed: 78)))
        XCTAssertNotEqual(other.value.scalars, s)
    }

    func testClampKeepsSaturatedPredictionsFinite() {
        let leu = unit(.temperedSoftmax, stopsGradient: false, temperature: 0.5)
        let tape = Tape()
        let x = tape.variable(Tensor(shape: [2], values: [60, -60]))
        let s = leu.labelWeights(x, ForwardContext(tape: tape, mode: .training))
        XCTAssertTrue(s.value.scalars.allSatisfy { $0.isFinite })
        XCTAssertEqual(s.value.scalars[1], 1, accuracy: 1e-6)
        XCTAssertTrue(tape.gradients(of: s.sum(), wrt: [x])[0].scalars.allSatisfy { $0 == 0 }, "clamped: no gradient")
    }

    func testTemperatureSchedule() {
        let schedule = TemperatureSchedule()
        XCTAssertEqual(schedule.temperature(atStep: 0), 10)
        XCTAssertEqual(schedule.temperature(atStep: 4_999), 10)
        XCTAssertEqual(schedule.temperature(atStep: 5_000), 9)
        XCTAssertEqual(schedule.temperature(atStep: 12_000), 8.1, accuracy: 1e-6)
        // 10·0.9^28 = 0.5233 > 0.5 > 10·0.9^29 = 0.4710: the floor applies from the 29th decay.
        XCTAssertEqual(schedule.temperature(atStep: 140_000), 0.523347633, accuracy: 1e-6)
        XCTAssertEqual(schedule.temperature(atStep: 145_000), 0.5)
        XCTAssertEqual(schedule.temperature(atStep: 10_000_000), 0.5)
        XCTAssertEqual(TemperatureSchedule.constant(2).temperature(atStep: 99_999), 2)
    }
}
