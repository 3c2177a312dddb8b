import Foundation
import XCTest
@testable import FunnelCore

/// A reusable finite-difference gradient checker for `Variable` operations.
///
/// For inputs `x₁ … x_k` and a function `f` building a Variable from tracked copies of them, the checker draws a
/// random seed tensor `s` shaped like `f(x)` and compares, element by element, the analytic gradient of
/// `L(x) = Σ s ⊙ f(x)` (from `Tape.gradients(of:seed:wrt:)`) with the central difference
/// `(L(x + h·eᵢ) − L(x − h·eᵢ)) / (2h)`, where `L` is accumulated in Float64 from the Float32 forward values.
///
/// ## Step and tolerance
/// The forward pass runs in Float32, so each output carries a rounding error of a few ulps (≈ 1e-7 relative).
/// A central difference divides the difference of two such sums by `2h`, turning that noise into an absolute
/// error of roughly `Σ|sᵢ||yᵢ| · 1e-7 / h`; with the small problems used here (≤ ~100 outputs of magnitude ≲ 1)
/// and `h = 1e-2·max(1, |x|)` that is ≲ 1e-3. The truncation error of a central difference is `h²·|f'''|/6`,
/// ≲ 1e-3 for the smooth ops tested on inputs kept in well-conditioned ranges (logs and square roots of values in
/// [0.5, 2], divisors with |y| ≥ 0.5). A smaller `h` would trade truncation for Float32 cancellation noise
/// (1e-7/h grows quickly), a larger one the other way round; 1e-2 balances them.
///
/// The acceptance test is `|analytic − numeric| ≤ 1e-2 · max(1, |numeric|)`: about ten times the expected error,
/// yet tight enough that a wrong factor of 2 (error = |g|) or a sign error (error = 2|g|) is flagged on every
/// element whose gradient exceeds 1e-2 in magnitude. To make sure such elements exist, the checker also requires
/// (unless told otherwise) that the largest numeric gradient of every input is at least `minimumSignal` (0.05),
/// so a check cannot pass vacuously because everything is ~0.
///
/// Kinks (relu / leakyRelu at 0) must be at least a few steps away from every input, and inputs must stay inside
/// the domain of the op (positive for log and squareRoot); `GradientCheck.tensor(...)` helps build such inputs.
enum GradientCheck {
    /// One disagreement between the analytic and numeric gradient.
    struct Mismatch: CustomStringConvertible {
        let input: Int
        let element: Int
        let analytic: Double
        let numeric: Double
        var description: String {
            "input \(input)[\(element)]: analytic \(analytic), numeric \(numeric), diff \(abs(analytic - numeric))"
        }
    }

    /// Everything the checker found.
    struct Report {
        var mismatches: [Mismatch] = []
        /// Problems that are not per-element (shape, missing signal, forward inconsistency).
        var problems: [String] = []
        /// Largest |numeric gradient| per input.
        var largestNumeric: [Double] = []
        /// Largest |analytic − numeric| over all elements.
        var worstError: Double = 0
        var passed: Bool { mismatches.isEmpty && problems.isEmpty }
    }

    static let defaultRelativeStep: Float = 1e-2
    static let defaultTolerance: Double = 1e-2
    static let defaultMinimumSignal: Double = 0.05

    /// `L = Σ s ⊙ y` in Float64.
    static func weightedSum(_ y: Tensor, _ s: Tensor) -> Double {
        var total = 0.0
        for i in 0..<y.count { total += Double(s.pointer[i]) * Double(y.pointer[i]) }
        return total
    }

    /// Runs the check and returns what it found (no assertions).
    static func run(
        _ inputs: [Tensor], seed: UInt64 = 0x5EED,
        relativeStep: Float = defaultRelativeStep, tolerance: Double = defaultTolerance,
        minimumSignal: Double? = defaultMinimumSignal,
        _ f: ([Variable]) -> Variable
    ) -> Report {
        var report = Report()
        let tape = Tape()
        let tracked = inputs.map { tape.variable($0) }
        let output = f(tracked)
        guard output.isTracked else {
            report.problems.append("output is not tracked")
            return report
        }
        // Seed weights of random sign with magnitudes in [0.25, 1], so a scalar output is not weighted by ~0.
        let s = tensor(output.shape, seed: seed, bound: 1, margin: 0.25)
        let analytic = tape.gradients(of: output, seed: s, wrt: tracked)

        // The untracked (inference) forward must compute exactly the same values.
        let plain = f(inputs.map { Variable($0) }).value
        if plain.shape != output.shape || plain.scalars != output.value.scalars {
            report.problems.append("untracked forward differs from tracked forward")
        }

        for (index, input) in inputs.enumerated() {
            let gradient = analytic[index]
            guard gradient.shape == input.shape else {
                report.problems.append("gradient of input \(index) has shape \(gradient.shape), expected \(input.shape)")
                report.largestNumeric.append(0)
                continue
            }
            var largest = 0.0
            for element in 0..<input.count {
                let x = input.pointer[element]
                let h = relativeStep * max(1, abs(x))
                let plus = input.copy(), minus = input.copy()
                plus.pointer[element] = x + h
                minus.pointer[element] = x - h
                var argsPlus = inputs, argsMinus = inputs
                argsPlus[index] = plus
                argsMinus[index] = minus
                let lPlus = weightedSum(f(argsPlus.map { Variable($0) }).value, s)
                let lMinus = weightedSum(f(argsMinus.map { Variable($0) }).value, s)
                // The representable step, not the requested one.
                let numeric = (lPlus - lMinus) / (Double(x + h) - Double(x - h))
                let a = Double(gradient.pointer[element])
                largest = max(largest, abs(numeric))
                let error = abs(a - numeric)
                report.worstError = max(report.worstError, a.isFinite ? error : .infinity)
                if !a.isFinite || error > tolerance * max(1, abs(numeric)) {
                    report.mismatches.append(Mismatch(input: index, element: element, analytic: a, numeric: numeric))
                }
            }
            report.largestNumeric.append(largest)
            if let minimumSignal, largest < minimumSignal {
                report.problems.append("input \(index): largest numeric gradient \(largest) < \(minimumSignal); check is vacuous")
            }
        }
        return report
    }

    /// Runs the check and records an XCTest failure for every problem (at most 8 mismatches are listed).
    static func assert(
        _ inputs: [Tensor], seed: UInt64 = 0x5EED,
        relativeStep: Float = defaultRelativeStep, tolerance: Double = defaultTolerance,
        minimumSignal: Double? = defaultMinimumSignal,
        _ message: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line,
        _ f: ([Variable]) -> Variable
    ) {
        let report = run(inputs, seed: seed, relativeStep: relativeStep, tolerance: tolerance,
                         minimumSignal: minimumSignal, f)
        let prefix = message().isEmpty ? "" : message() + ": "
        for problem in report.problems { XCTFail(prefix + problem, file: file, line: line) }
        for mismatch in report.mismatches.prefix(8) { XCTFail(prefix + mismatch.description, file: file, line: line) }
        if report.mismatches.count > 8 {
            XCTFail(prefix + "… and \(report.mismatches.count - 8) more mismatches", file: file, line: line)
        }
    }

    // MARK: Input construction

    /// A deterministic tensor with elements uniform in ±[margin, bound] (random sign), i.e. at least `margin` away
    /// from zero. `margin == 0` gives plain uniform values in [−bound, bound].
    static func tensor(_ shape: [Int], seed: UInt64, bound: Float = 1, margin: Float = 0) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count {
            let magnitude = margin + (bound - margin) * rng.nextUnitFloat()
            t.pointer[i] = rng.next() & 1 == 0 ? magnitude : -magnitude
        }
        return t
    }

    /// A deterministic tensor with elements uniform in `range` (for positive-domain ops).
    static func tensor(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float>) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor.uniform(shape, in: range, using: &rng)
    }
}

/// Self-tests: the checker must reject wrong gradients, or every other gradient test proves nothing.
final class GradientCheckSelfTests: XCTestCase {
    /// `x³` with a hand-written backward multiplied by `factor` (1 is correct).
    private func cube(_ x: Variable, gradientFactor factor: Float) -> Variable {
        let v = x.value
        let y = v * v * v
        return Variable.record(y, inputs: [x]) { g, _ in [(g * v * v).scaled(by: 3 * factor)] }
    }

    private let input = GradientCheck.tensor([3, 4], seed: 11, bound: 1.5, margin: 0.2)

    func testAcceptsCorrectGradient() {
        let report = GradientCheck.run([input]) { cube($0[0], gradientFactor: 1) }
        XCTAssertTrue(report.passed, "\(report.mismatches) \(report.problems)")
        XCTAssertLessThan(report.worstError, 2e-3)
    }

    func testRejectsFactorOfTwo() {
        let report = GradientCheck.run([input]) { cube($0[0], gradientFactor: 2) }
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.mismatches.count, input.count, "every element has |g| > 1e-2, so every one must be flagged")
    }

    func testRejectsSignError() {
        let report = GradientCheck.run([input]) { cube($0[0], gradientFactor: -1) }
        XCTAssertEqual(report.mismatches.count, input.count)
    }

    func testRejectsSmallRelativeError() {
        // A 5 % error on gradients of magnitude ≥ 0.12 is still caught on the larger elements.
        let report = GradientCheck.run([input]) { cube($0[0], gradientFactor: 1.05) }
        XCTAssertFalse(report.mismatches.isEmpty)
    }

    func testFlagsVacuousCheck() {
        // A function that ignores its input has zero gradient everywhere: the check must refuse to call that a pass.
        let report = GradientCheck.run([input]) { $0[0] * 0 }
        XCTAssertFalse(report.passed)
        XCTAssertTrue(report.mismatches.isEmpty)
    }

    func testTensorHelperRespectsMargin() {
        let t = GradientCheck.tensor([1000], seed: 3, bound: 2, margin: 0.25)
        XCTAssertTrue(t.scalars.allSatisfy { abs($0) >= 0.25 && abs($0) <= 2 })
        XCTAssertTrue(t.scalars.contains { $0 < 0 } && t.scalars.contains { $0 > 0 })
        let p = GradientCheck.tensor([1000], seed: 3, in: 0.5...2)
        XCTAssertTrue(p.scalars.allSatisfy { $0 >= 0.5 && $0 <= 2 })
    }
}
