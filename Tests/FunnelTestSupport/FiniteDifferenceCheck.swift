import XCTest
import FunnelCore

/// Finite-difference gradient checks of composite blocks and models: inputs *and* `Parameter`s.
///
/// The method, step and tolerance are those of `GradientCheck` in FunnelCoreTests (which checks single ops on
/// input tensors and documents the numbers): `L = Σ s ⊙ f` with a random seed `s` of magnitudes in [0.25, 1],
/// central differences with `h = 1e-2·max(1, |x|)` accumulated in Float64, acceptance
/// `|analytic − numeric| ≤ 1e-2 · max(1, |numeric|)`, and a minimum signal per checked tensor so a check cannot
/// pass vacuously. Blocks read parameters through a `Tape` (`ForwardContext.use`), so `f` receives the tape
/// (nil for the numeric evaluations) and the input variables.
public enum FiniteDifferenceCheck {
    /// Asserts the analytic gradients of `Σ s ⊙ f` with respect to every input and every parameter (each
    /// parameter's value is perturbed in place and restored).
    public static func assert(
        inputs: [Tensor], parameters: [Parameter], seed: UInt64 = 0x5EED, relativeStep: Float = 1e-2,
        tolerance: Double = 1e-2, minimumSignal: Double? = 0.05, _ message: String = "",
        file: StaticString = #filePath, line: UInt = #line,
        _ f: (_ tape: Tape?, _ inputs: [Variable]) -> Variable
    ) {
        let prefix = message.isEmpty ? "" : message + ": "
        let tape = Tape()
        let tracked = inputs.map { tape.variable($0) }
        let output = f(tape, tracked)
        guard output.isTracked else { return XCTFail(prefix + "output is not tracked", file: file, line: line) }
        var rng = SeededGenerator(seed: seed)
        let s = Tensor(uninitialized: output.shape)
        for i in 0..<s.count {
            let magnitude = 0.25 + 0.75 * rng.nextUnitFloat()
            s.pointer[i] = rng.next() & 1 == 0 ? magnitude : -magnitude
        }
        let analytic = tape.gradients(of: output, seed: s, wrt: tracked) + tape.gradients(of: output, seed: s, wrt: parameters)
        func loss(_ values: [Tensor]) -> Double {
            let y = f(nil, values.map { Variable($0) }).value
            var total = 0.0
            for i in 0..<y.count { total += Double(s.pointer[i]) * Double(y.pointer[i]) }
            return total
        }
        var failures = 0
        // Slots: the inputs, then the parameters (read and written through their `value`).
        let names = inputs.indices.map { "input \($0)" } + parameters.map(\.name)
        for slot in names.indices {
            let isInput = slot < inputs.count
            let original = isInput ? inputs[slot] : parameters[slot - inputs.count].value
            XCTAssertEqual(analytic[slot].shape, original.shape, prefix + "gradient shape of \(names[slot])", file: file, line: line)
            var largest = 0.0
            for element in 0..<original.count {
                let x = original.pointer[element]
                let h = relativeStep * max(1, abs(x))
                func evaluate(_ v: Float) -> Double {
                    let perturbed = original.copy()
                    perturbed.pointer[element] = v
                    if isInput {
                        var values = inputs
                        values[slot] = perturbed
                        return loss(values)
                    }
                    let parameter = parameters[slot - inputs.count]
                    parameter.value = perturbed
                    defer { parameter.value = original }
                    return loss(inputs)
                }
                let numeric = (evaluate(x + h) - evaluate(x - h)) / (Double(x + h) - Double(x - h))
                let a = Double(analytic[slot].pointer[element])
                largest = max(largest, abs(numeric))
                if !a.isFinite || abs(a - numeric) > tolerance * max(1, abs(numeric)) {
                    failures += 1
                    if failures <= 8 {
                        XCTFail(prefix + "\(names[slot])[\(element)]: analytic \(a), numeric \(numeric)", file: file, line: line)
                    }
                }
            }
            if let minimumSignal, largest < minimumSignal {
                XCTFail(prefix + "\(names[slot]): largest numeric gradient \(largest) < \(minimumSignal); check is vacuous",
                        file: file, line: line)
            }
        }
        if failures > 8 { XCTFail(prefix + "… and \(failures - 8) more mismatches", file: file, line: line) }
    }
}
