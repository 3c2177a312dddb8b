import XCTest
import FunnelCore
import FunnelTrain

/// HTLNet's shared-gradient adjustment (`htlnet.md` §5) on the spec's worked example, every switch, and against a
/// step-by-step vector reference on random gradients.
final class HTLNetGradientAdjustmentTests: XCTestCase {
    private let parameter = Parameter(name: "shared", value: Tensor(zeros: [2]))

    private func set(_ x: Float, _ y: Float) -> GradientSet {
        GradientSet(parameters: [parameter], tensors: [Tensor(shape: [2], values: [x, y])])
    }

    /// Tasks in funnel order, the core last: G_1 = (1, −1), [G_2 = (0.1, 0.1)], G_c = (0, 2).
    private func combine(_ adjustment: HTLNetGradientAdjustment = .init(), withSecondTask: Bool = false)
        -> ([Float], HTLNetGradientAdjustment.Report) {
        let gradients = [set(1, -1)] + (withSecondTask ? [set(0.1, 0.1)] : []) + [set(0, 2)]
        let (combined, report) = adjustment.combine(gradients, coreTask: gradients.count - 1)
        return (combined.tensors[0].scalars, report)
    }

    func testWorkedExample() {
        // ⟨G_1, G_c⟩ = −2 → G_1 = (1, 0); w_1 = 2 → factor 1.1 → (1.1, 0); G_shared = (1.1, 2).
        let (g, report) = combine()
        XCTAssertEqual(g[0], 1.1, accuracy: 2e-7)
        XCTAssertEqual(g[1], 2, accuracy: 2e-7)
        XCTAssertEqual(report.projected, [true, false])
        XCTAssertEqual(report.magnitudeWeights[0], 2, accuracy: 1e-11)
        XCTAssertEqual(report.gradientNorms[0], Double(2).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(report.gradientNorms[1], 2, accuracy: 1e-12)
        XCTAssertEqual(report.adjustedNorms[0], 1.1, accuracy: 1e-11)
        // G_shared = 1.55·G_c + 1.1·G_1.
        XCTAssertEqual(report.coefficients[0], 1.1, accuracy: 1e-11)
        XCTAssertEqual(report.coefficients[1], 1.55, accuracy: 1e-11)
    }

    func testWorkedExampleWithNormBeforeProjection() {
        // w_1 = 2/√2 = 1.414214, factor 1.041421, G_shared = (1.041421, 2).
        let (g, report) = combine(HTLNetGradientAdjustment(normSource: .beforeProjection))
        XCTAssertEqual(g[0], 1.041421, accuracy: 1e-6)
        XCTAssertEqual(g[1], 2, accuracy: 2e-7)
        XCTAssertEqual(report.magnitudeWeights[0], 1.414214, accuracy: 1e-6)
    }

    func testWorkedExampleSecondTaskIsClipped() {
        // G_2 = (0.1, 0.1): no conflict; w_2 = 14.142 → clipped to 10; factor 1.9; G_2 = (0.19, 0.19).
        let (g, report) = combine(withSecondTask: true)
        XCTAssertEqual(report.projected, [true, false, false])
        XCTAssertEqual(report.magnitudeWeights[1], 10)
        XCTAssertEqual(report.coefficients[1], 1.9, accuracy: 1e-12)
        XCTAssertEqual(g[0], 1.1 + 0.19, accuracy: 3e-7)
        XCTAssertEqual(g[1], 2 + 0.19, accuracy: 3e-7)
    }

    func testClipModes() {
        // G_1 = (30, 0) against G_c = (0, 2): w = 2/30 is below 1/C = 0.1 → 0.1 (symmetric), kept (upper only).
        let gradients = [set(30, 0), set(0, 2)]
        let symmetric = HTLNetGradientAdjustment().combine(gradients, coreTask: 1).report
        XCTAssertEqual(symmetric.magnitudeWeights[0], 0.1, accuracy: 1e-12)
        let upper = HTLNetGradientAdjustment(clipMode: .upperOnly).combine(gradients, coreTask: 1).report
        XCTAssertEqual(upper.magnitudeWeights[0], 2.0 / 30, accuracy: 1e-12)
        XCTAssertEqual(upper.coefficients[0], 0.1 * 2 / 30 + 0.9, accuracy: 1e-12)
    }

    func testHalvesAndStrength() {
        // Projection only: G_1 = (1, 0), G_shared = (1, 2).
        let (projectionOnly, _) = combine(HTLNetGradientAdjustment(magnitude: false))
        XCTAssertEqual(projectionOnly, [1, 2])
        // Magnitude only: no projection; w = 2/√2, factor 0.1·√2 + 0.9 on (1, −1).
        let (magnitudeOnly, report) = combine(HTLNetGradientAdjustment(projection: false))
        let f = Float(0.1 * Double(2).squareRoot() + 0.9)
        XCTAssertEqual(report.projected, [false, false])
        XCTAssertEqual(magnitudeOnly[0], f, accuracy: 2e-7)
        XCTAssertEqual(magnitudeOnly[1], 2 - f, accuracy: 2e-7)
        // Neither: the plain sum.
        XCTAssertEqual(combine(HTLNetGradientAdjustment(projection: false, magnitude: false)).0, [1, 1])
        // α = 0.5: G_1 = (1, −1) − 0.5·(−0.5)·(0, 2) = (1, −0.5); magnitude off → G_shared = (1, 1.5).
        XCTAssertEqual(combine(HTLNetGradientAdjustment(magnitude: false, projectionStrength: 0.5)).0, [1, 1.5])
    }

    func testVanishingCoreGradientSkipsProjection() {
        let gradients = [set(1, -1), set(0, 1e-11)]
        let report = HTLNetGradientAdjustment(magnitude: false).combine(gradients, coreTask: 1).report
        XCTAssertEqual(report.projected, [false, false], "‖G_c‖² = 1e-22 < 1e-20")
        // With the magnitude step, w_1 = 1e-11/√2 is clipped to 1/C.
        XCTAssertEqual(HTLNetGradientAdjustment().combine(gradients, coreTask: 1).report.magnitudeWeights[0], 0.1, accuracy: 1e-12)
    }

    func testCoreTaskNeedNotBeLast() {
        let (combined, report) = HTLNetGradientAdjustment().combine([set(0, 2), set(1, -1)], coreTask: 0)
        let g = combined.tensors[0].scalars
        XCTAssertEqual(report.coefficients[0], 1.55, accuracy: 1e-11)
        XCTAssertEqual(g[0], 1.1, accuracy: 2e-7)
        XCTAssertEqual(g[1], 2, accuracy: 2e-7)
    }

    /// Random multi-tensor gradients (one row-sparse table): the one-pass result equals the step-by-step vector
    /// algorithm of the spec, computed in Float64 on flattened vectors.
    func testMatchesStepByStepReference() {
        var rng = SeededGenerator(seed: 41)
        let table = Parameter(name: "table", value: Tensor(zeros: [6, 3])), dense = Parameter(name: "dense", value: Tensor(zeros: [4]))
        let rows: [Int32] = [0, 2, 5]
        func random() -> GradientSet {
            let values = Tensor(zeros: [rows.count, 3])
            for i in rows.indices { for k in 0..<3 { values.pointer[i * 3 + k] = Float(rng.nextNormal()) } }
            return GradientSet(parameters: [table, dense],
                               gradients: [.rows(RowSparseGradient(rows: rows, values: values)), .dense(.normal([4], using: &rng))])
        }
        let flat = { (g: GradientSet) -> [Double] in g.tensors.flatMap { $0.scalars.map(Double.init) } }
        for (trial, adjustment) in [HTLNetGradientAdjustment(), .init(normSource: .beforeProjection), .init(projectionStrength: 0.5, magnitudeMix: 0.7)].enumerated() {
            let gradients = (0..<4).map { _ in random() }
            let (combined, report) = adjustment.combine(gradients, coreTask: 3)
            let c = flat(gradients[3])
            let dot = { (a: [Double], b: [Double]) in zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
            var expected = c
            var conflicts = 0
            for t in 0..<3 {
                var g = flat(gradients[t])
                let before = dot(g, g).squareRoot(), d = dot(g, c)
                if d < 0 {
                    conflicts += 1
                    let a = adjustment.projectionStrength * d / (dot(c, c) + 1e-12)
                    g = zip(g, c).map { $0 - a * $1 }
                }
                let source = adjustment.normSource == .afterProjection ? dot(g, g).squareRoot() : before
                let w = min(max(dot(c, c).squareRoot() / (source + 1e-12), 0.1), 10)
                let factor = adjustment.magnitudeMix * w + 1 - adjustment.magnitudeMix
                XCTAssertEqual(report.adjustedNorms[t], factor * dot(g, g).squareRoot(), accuracy: 1e-5 * factor * before)
                expected = zip(expected, g).map { $0 + factor * $1 }
            }
            XCTAssertGreaterThan(conflicts, 0, "trial \(trial) must exercise the projection")
            let actual = flat(combined)
            for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-5 * max(1, abs(e)), "trial \(trial)") }
            XCTAssertEqual(combined.rows[0], rows, "the table stays row-sparse")
        }
    }
}
