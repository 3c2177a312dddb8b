import Foundation
import XCTest
import FunnelCore
import FunnelTestSupport

/// Self-tests: the checker must reject wrong gradients, or every other gradient test proves nothing.
final class GradientCheckSelfTests: XCTestCase {
    /// `x³` with a hand-written backward multiplied by `factor` (1 is correct).
    private func cube(_ x: Variable, gradientFactor factor: Float) -> Variable {
        let v = x.value
        let y = v * v * v
        return Variable.record(y, inputs: [x], op: .trainingOnly("test cube")) { g, _ in [(g * v * v).scaled(by: 3 * factor)] }
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
