import Foundation
import XCTest
import FunnelCore

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
public enum GradientCheck {
    /// One disagreement between the analytic and numeric gradient.
    public struct Mismatch: CustomStringConvertible {
        public let input: Int
        public let element: Int
        public let analytic: Double
        public let numeric: Double
        public var description: String {
            "input \(input)[\(element)]: analytic \(analytic), numeric \(numeric), diff \(abs(analytic - numeric))"
        }
    }

    /// Everything the checker found.
    public struct Report {
        public var mismatches: [Mismatch] = []
        /// Problems that are not per-element (shape, missing signal, forward inconsistency).
        public var problems: [String] = []
        /// Largest |numeric gradient| per input.
        public var largestNumeric: [Double] = []
        /// Largest |analytic − numeric| over all elements.
        public var worstError: Double = 0
        public var passed: Bool { mismatches.isEmpty && problems.isEmpty }
    }

    public static let defaultRelativeStep: Float = 1e-2
    public static let defaultTolerance: Double = 1e-2
    public static let defaultMinimumSignal: Double = 0.05

    /// `L = Σ s ⊙ y` in Float64.
    public static func weightedSum(_ y: Tensor, _ s: Tensor) -> Double {
        var total = 0.0
        for i in 0..<y.count { total += Double(s.pointer[i]) * Double(y.pointer[i]) }
        return total
    }

    /// Runs the check and returns what it found (no assertions).
    public static func run(
        _ inputs: [Tensor], seed: UInt64 = 0x5EED,
        relativeStep: Float = defaultRelativeStep, tolerance: Double = defaultTolerance,
        minimumSignal: Double? = defaultMinimumSignal,
        _ f: ([Variable]) -> Variable
    ) -> Report {
        run(inputs, parameters: [], seed: seed, relativeStep: relativeStep, tolerance: tolerance,
            minimumSignal: minimumSignal) { _, variables in f(variables) }
    }

    /// The check for a function of input tensors **and** of `parameters` (a module's weights): `f(tape, inputs)`
    /// must read the parameters through `tape` (e.g. a `ForwardContext` on it; nil = untracked). Parameters are
    /// perturbed in place for the central differences and restored; they are reported after the inputs
    /// (`Mismatch.input` = inputs.count + parameter index).
    public static func run(
        _ inputs: [Tensor], parameters: [Parameter], seed: UInt64 = 0x5EED,
        relativeStep: Float = defaultRelativeStep, tolerance: Double = defaultTolerance,
        minimumSignal: Double? = defaultMinimumSignal,
        _ f: (_ tape: Tape?, _ inputs: [Variable]) -> Variable
    ) -> Report {
        var report = Report()
        let tape = Tape()
        let tracked = inputs.map { tape.variable($0) }
        let output = f(tape, tracked)
        guard output.isTracked else {
            report.problems.append("output is not tracked")
            return report
        }
        // Seed weights of random sign with magnitudes in [0.25, 1], so a scalar output is not weighted by ~0.
        let s = tensor(output.shape, seed: seed, bound: 1, margin: 0.25)
        let analytic = tape.gradients(of: output, seed: s, wrt: tracked) + tape.gradients(of: output, seed: s, wrt: parameters)

        // The untracked (inference) forward must compute exactly the same values.
        let constants = inputs.map { Variable($0) }
        let plain = f(nil, constants).value
        if plain.shape != output.shape || plain.scalars != output.value.scalars {
            report.problems.append("untracked forward differs from tracked forward")
        }

        let originals = inputs + parameters.map(\.value)
        for (index, original) in originals.enumerated() {
            let gradient = analytic[index]
            guard gradient.shape == original.shape else {
                report.problems.append("gradient of input \(index) has shape \(gradient.shape), expected \(original.shape)")
                report.largestNumeric.append(0)
                continue
            }
            // L with input `index` replaced by `value`.
            func loss(_ value: Tensor) -> Double {
                if index < inputs.count {
                    var args = constants
                    args[index] = Variable(value)
                    return weightedSum(f(nil, args).value, s)
                }
                let parameter = parameters[index - inputs.count]
                parameter.value = value
                defer { parameter.value = original }
                return weightedSum(f(nil, constants).value, s)
            }
            var largest = 0.0
            for element in 0..<original.count {
                let x = original.pointer[element]
                let h = relativeStep * max(1, abs(x))
                let plus = original.copy(), minus = original.copy()
                plus.pointer[element] = x + h
                minus.pointer[element] = x - h
                // The representable step, not the requested one.
                let numeric = (loss(plus) - loss(minus)) / (Double(x + h) - Double(x - h))
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
    public static func assert(
        _ inputs: [Tensor], seed: UInt64 = 0x5EED,
        relativeStep: Float = defaultRelativeStep, tolerance: Double = defaultTolerance,
        minimumSignal: Double? = defaultMinimumSignal,
        _ message: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line,
        _ f: ([Variable]) -> Variable
    ) {
        let report = run(inputs, seed: seed, relativeStep: relativeStep, tolerance: tolerance,
                         minimumSignal: minimumSignal, f)
        record(report, message(), file: file, line: line)
    }

    /// `run(_:parameters:…)` with an XCTest failure for every problem.
    public static func assert(
        _ inputs: [Tensor], parameters: [Parameter], seed: UInt64 = 0x5EED,
        relativeStep: Float = defaultRelativeStep, tolerance: Double = defaultTolerance,
        minimumSignal: Double? = defaultMinimumSignal,
        _ message: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line,
        _ f: (_ tape: Tape?, _ inputs: [Variable]) -> Variable
    ) {
        let report = run(inputs, parameters: parameters, seed: seed, relativeStep: relativeStep, tolerance: tolerance,
                         minimumSignal: minimumSignal, f)
        record(report, message(), file: file, line: line)
    }

    private static func record(_ report: Report, _ message: String, file: StaticString, line: UInt) {
        let prefix = message.isEmpty ? "" : message + ": "
        for problem in report.problems { XCTFail(prefix + problem, file: file, line: line) }
        for mismatch in report.mismatches.prefix(8) { XCTFail(prefix + mismatch.description, file: file, line: line) }
        if report.mismatches.count > 8 {
            XCTFail(prefix + "… and \(report.mismatches.count - 8) more mismatches", file: file, line: line)
        }
    }

    // MARK: Input construction

    /// A deterministic tensor with elements uniform in ±[margin, bound] (random sign), i.e. at least `margin` away
    /// from zero. `margin == 0` gives plain uniform values in [−bound, bound].
    public static func tensor(_ shape: [Int], seed: UInt64, bound: Float = 1, margin: Float = 0) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count {
            let magnitude = margin + (bound - margin) * rng.nextUnitFloat()
            t.pointer[i] = rng.next() & 1 == 0 ? magnitude : -magnitude
        }
        return t
    }

    /// A deterministic tensor with elements uniform in `range` (for positive-domain ops).
    public static func tensor(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float>) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor.uniform(shape, in: range, using: &rng)
    }
}
