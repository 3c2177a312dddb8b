import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// The Pattern Selector: weights are distributions per task, follow the task indicators, and have correct
/// gradients in every mode.
final class PatternSelectorTests: XCTestCase {
    private let (batch, shared, width, source) = (5, 3, 4, 6)

    private func inputs(seed: UInt64) -> (patterns: Tensor, specific: [Tensor], source: Tensor) {
        var rng = SeededGenerator(seed: seed)
        return (.uniform([batch, shared, width], in: -1.5...1.5, using: &rng),
                [.uniform([batch, 1, width], in: -1.5...1.5, using: &rng), .uniform([batch, 1, width], in: -1.5...1.5, using: &rng)],
                .uniform([batch, source], in: -1...1, using: &rng))
    }

    private func selector(_ mode: PatternSelector.Mode, specific: Bool = false, seed: UInt64 = 1) -> PatternSelector {
        var rng = SeededGenerator(seed: seed)
        let count = shared + (specific ? 1 : 0)
        return PatternSelector(mode: mode, candidateCounts: [count, count], width: width, sourceWidth: source, name: "selector", using: &rng)
    }

    private func select(_ s: PatternSelector, _ data: (patterns: Tensor, specific: [Tensor], source: Tensor), specific: Bool = false)
        -> [PatternSelector.Selection] {
        s(shared: Variable(data.patterns), specific: specific ? data.specific.map { Variable($0) } : [nil, nil],
          source: Variable(data.source), .inference())
    }

    func testWeightsSumToOnePerTaskInEveryMode() {
        let data = inputs(seed: 2)
        for mode in [PatternSelector.Mode.adaptive, .static, .mmoeGate, .uniform] {
            for specific in [false, true] {
                let s = selector(mode, specific: specific)
                if mode == .adaptive { for a in s.adapters { a.weight.value = Tensor(repeating: 0.3, shape: a.weight.value.shape) } }
                let selections = select(s, data, specific: specific)
                XCTAssertEqual(selections.count, 2)
                for (t, selection) in selections.enumerated() {
                    let k = shared + (specific ? 1 : 0)
                    XCTAssertEqual(selection.weights.shape, [batch, k])
                    XCTAssertEqual(selection.mixed.shape, [batch, width])
                    for b in 0..<batch {
                        let row = (0..<k).map { selection.weights.value.pointer[b * k + $0] }
                        XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "\(mode) task \(t) row \(b)")
                        XCTAssertTrue(row.allSatisfy { $0 >= 0 })
                        // u_t is the α-weighted mixture of the candidates.
                        for c in 0..<width {
                            var expected: Float = 0
                            for j in 0..<k {
                                let p = j < shared ? data.patterns.pointer[(b * shared + j) * width + c] : data.specific[t].pointer[b * width + c]
                                expected += row[j] * p
                            }
                            XCTAssertEqual(selection.mixed.value.pointer[b * width + c], expected, accuracy: 1e-5)
                        }
                    }
                }
            }
        }
    }

    func testWeightsRespondToIndicatorVectors() {
        let data = inputs(seed: 3)
        let s = selector(.static)
        let before = select(s, data).map(\.weights.value.scalars)
        XCTAssertNotEqual(before[0], before[1], "different indicators select differently")

        // Changing task 0's indicator changes only task 0's weights.
        s.indicators[0].value = s.indicators[0].value.scaled(by: -3)
        let after = select(s, data).map(\.weights.value.scalars)
        XCTAssertGreaterThan(zip(after[0], before[0]).map { abs($0 - $1) }.max()!, 1e-2)
        XCTAssertEqual(after[1], before[1])

        // Equal indicators give equal weights.
        s.indicators[1].value = s.indicators[0].value.copy()
        let equal = select(s, data).map(\.weights.value.scalars)
        XCTAssertEqual(equal[0], equal[1])

        // An indicator aligned with the key of pattern 1 (scaled up) concentrates the selection on it everywhere.
        s.key!.weight.value = Tensor(shape: [width, width], values: (0..<(width * width)).map { $0 % (width + 1) == 0 ? 1 : 0 })
        let target = Tensor(uninitialized: [batch, shared, width])
        for b in 0..<batch {
            for k in 0..<shared { for c in 0..<width { target.pointer[(b * shared + k) * width + c] = k == 1 ? (c == 0 ? 1 : 0) : (c == 0 ? -1 : 0) } }
        }
        s.indicators[0].value = Tensor(shape: [width], values: [40, 0, 0, 0])
        let focused = s(shared: Variable(target), specific: [nil, nil], source: Variable(data.source), .inference())[0].weights.value
        for b in 0..<batch { XCTAssertGreaterThan(focused.pointer[b * shared + 1], 0.999) }
    }

    func testAdaptiveStartsStaticAndThenDependsOnTheSample() {
        let data = inputs(seed: 4)
        let adaptive = selector(.adaptive, seed: 5), fixed = selector(.static, seed: 5)
        XCTAssertTrue(adaptive.adapters.allSatisfy { $0.weight.value.scalars.allSatisfy { $0 == 0 } }, "U_t starts at zero")
        XCTAssertEqual(adaptive.indicators.map(\.value.scalars), fixed.indicators.map(\.value.scalars))
        XCTAssertEqual(adaptive.key!.weight.value.scalars, fixed.key!.weight.value.scalars)
        let a = select(adaptive, data).map(\.weights.value.scalars), b = select(fixed, data).map(\.weights.value.scalars)
        for t in 0..<2 { for (x, y) in zip(a[t], b[t]) { XCTAssertEqual(x, y, accuracy: 1e-6) } }

        // With identical patterns for every sample, static weights are identical across rows; adaptive ones are not.
        let same = Tensor(uninitialized: [batch, shared, width])
        for b in 0..<batch { for i in 0..<(shared * width) { same.pointer[b * shared * width + i] = data.patterns.pointer[i] } }
        var rng = SeededGenerator(seed: 6)
        adaptive.adapters[0].weight.value = .uniform([width, source], in: -1...1, using: &rng)
        let rows = { (s: PatternSelector) -> Set<[Float]> in
            let w = s(shared: Variable(same), specific: [nil, nil], source: Variable(data.source), .inference())[0].weights.value
            return Set((0..<self.batch).map { b in (0..<self.shared).map { w.pointer[b * self.shared + $0] } })
        }
        XCTAssertEqual(rows(fixed).count, 1)
        XCTAssertEqual(rows(adaptive).count, batch)
    }

    func testGradients() {
        let data = inputs(seed: 7)
        for mode in [PatternSelector.Mode.adaptive, .static, .mmoeGate] {
            let s = selector(mode, specific: true, seed: 8)
            var rng = SeededGenerator(seed: 9)
            for a in s.adapters { a.weight.value = .uniform(a.weight.value.shape, in: -0.5...0.5, using: &rng) }
            for v in s.indicators { v.value = .uniform(v.value.shape, in: -1...1, using: &rng) }
            GradientCheck.assert([data.patterns, data.specific[0], data.specific[1], data.source],
                                         parameters: s.parameters, minimumSignal: mode == .static ? nil : 0.05, "selector \(mode)") { tape, v in
                let selections = s(shared: v[0], specific: [v[1], v[2]], source: v[3], ForwardContext(tape: tape, mode: .evaluation))
                // Both tasks' mixtures and weights, so every parameter and input is reached.
                return Variable.concat(selections.map(\.mixed) + selections.map(\.weights), alongAxis: 1)
            }
        }
    }
}
