import XCTest
import FunnelCore

/// Finite-difference check of a whole block: gradients with respect to its `Parameter`s and its input tensors.
///
/// The method is that of `GradientCheck` in FunnelCoreTests (whose comment derives the step and tolerance): a
/// random seed `s` (magnitudes in [0.25, 1], random signs) shaped like the output, `L = Σ s ⊙ f`, central
/// differences with step `h = relativeStep·max(1, |x|)` (default 1e-2) on every element of every parameter and input, accepted when
/// `|analytic − numeric| ≤ 1e-2·max(1, |numeric|)`. Every checked tensor must show a numeric gradient of at least
/// `minimumSignal` somewhere, so no tensor passes vacuously. Blocks with ReLUs may pass a smaller
/// `relativeStep` (1e-3) so that a perturbation rarely carries a pre-activation across the kink; the Float32
/// noise of the difference grows to ~1e-7·Σ|s ⊙ y| / h, still well inside the tolerance for small outputs.
///
/// `forward(tape, inputs)` must build the block's output from `inputs`, reading parameters through a
/// `ForwardContext(tape: tape, …)`; it is called with a tape once (analytic gradients) and without one for every
/// perturbed evaluation. Parameters are restored after each perturbation.
public enum BlockGradientCheck {
    public static func assert(
        parameters: [Parameter], inputs: [Tensor] = [], seed: UInt64 = 0x5EED, relativeStep: Float = 1e-2,
        minimumSignal: Double = 0.01,
        file: StaticString = #filePath, line: UInt = #line,
        _ forward: (_ tape: Tape?, _ inputs: [Variable]) -> Variable
    ) {
        let tape = Tape()
        let tracked = inputs.map { tape.variable($0) }
        let output = forward(tape, tracked)
        guard output.isTracked else { return XCTFail("output is not tracked", file: file, line: line) }
        var rng = SeededGenerator(seed: seed)
        let s = Tensor(uninitialized: output.shape)
        for i in 0..<s.count {
            let magnitude = 0.25 + 0.75 * rng.nextUnitFloat()
            s.pointer[i] = rng.next() & 1 == 0 ? magnitude : -magnitude
        }
        let parameterGrads = tape.gradients(of: output, seed: s, wrt: parameters)
        let inputGrads = tape.gradients(of: output, seed: s, wrt: tracked)

        func loss() -> Double {
            let y = forward(nil, inputs.map { Variable($0) }).value
            var total = 0.0
            for i in 0..<y.count { total += Double(s.pointer[i]) * Double(y.pointer[i]) }
            return total
        }
        // Each checked tensor: its label, its current storage (perturbed in place), and the analytic gradient.
        var checked = zip(parameters, parameterGrads).map { ($0.name, $0.value, $1) }
        checked += zip(inputs.indices, inputGrads).map { ("input \($0)", inputs[$0], $1) }
        var reported = 0
        for (label, value, gradient) in checked {
            XCTAssertEqual(gradient.shape, value.shape, "\(label): gradient shape", file: file, line: line)
            var largest = 0.0
            for element in 0..<value.count {
                let x = value.pointer[element]
                let h = relativeStep * max(1, abs(x))
                value.pointer[element] = x + h
                let plus = loss()
                value.pointer[element] = x - h
                let minus = loss()
                value.pointer[element] = x
                let numeric = (plus - minus) / (Double(x + h) - Double(x - h))
                let analytic = Double(gradient.pointer[element])
                largest = max(largest, abs(numeric))
                if !(abs(analytic - numeric) <= 1e-2 * max(1, abs(numeric))) {
                    reported += 1
                    if reported <= 8 {
                        XCTFail("\(label)[\(element)]: analytic \(analytic), numeric \(numeric)", file: file, line: line)
                    }
                }
            }
            if largest < minimumSignal {
                XCTFail("\(label): largest numeric gradient \(largest) < \(minimumSignal); check is vacuous", file: file, line: line)
            }
        }
        if reported > 8 { XCTFail("… and \(reported - 8) more mismatches", file: file, line: line) }
    }
}
