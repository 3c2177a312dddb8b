import Foundation
import XCTest
import FunnelCore
import FunnelData

/// Target transforms (losses-and-balancing.md §3): fitted constants, round trips, clipping, the loss-space
/// restriction, persistence and refusals.
final class TargetScalingTests: XCTestCase {
    func testStandardizeFitsMeanAndPopulationDeviation() throws {
        let s = try TargetScaling.fit([1, 2, 3, 4], transform: .standardize)
        XCTAssertEqual(s.mean, 2.5)
        XCTAssertEqual(s.scale, 1.25.squareRoot(), accuracy: 1e-12, "population (not sample) deviation")
        XCTAssertEqual(Double(s.transformed(4)), 1.5 / 1.25.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(s.inverted(s.transformed(3.25)), 3.25, accuracy: 1e-6)
        // A constant target is only centred.
        let constant = try TargetScaling.fit([7, 7, 7], transform: .standardize)
        XCTAssertEqual(constant.scale, 1)
        XCTAssertEqual(constant.transformed(7), 0)
    }

    func testLogTransformsAndTheirInverses() throws {
        let log = try TargetScaling.fit([0, 1, 10], transform: .log1p)
        XCTAssertEqual(log.mean, 0)
        XCTAssertEqual(log.scale, 1)
        XCTAssertEqual(Double(log.transformed(10)), Foundation.log(11.0), accuracy: 1e-6)
        XCTAssertEqual(Double(log.inverted(Float(Foundation.log(11.0)))), 10, accuracy: 1e-5)

        let values: [Float] = [0, 3, 8, 63]  // log1p: 0, ln 4, ln 9, ln 64
        let logs = values.map { Foundation.log1p(Double($0)) }
        let mu = logs.reduce(0, +) / 4
        let sd = (logs.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 4).squareRoot()
        let both = try TargetScaling.fit(values, transform: .log1pStandardize)
        XCTAssertEqual(both.mean, mu, accuracy: 1e-12)
        XCTAssertEqual(both.scale, sd, accuracy: 1e-12)
        XCTAssertEqual(Double(both.transformed(8)), (Foundation.log(9.0) - mu) / sd, accuracy: 1e-6)
        for y: Float in [0, 0.5, 8, 1000] {
            XCTAssertEqual(both.inverted(both.transformed(y)), y, accuracy: max(1e-5, y * 1e-5), "round trip of \(y)")
        }
        // Tensor forms agree with the scalar ones; NaN passes through.
        let t = Tensor(shape: [3], values: [3, .nan, 63])
        let forward = both.transformed(t)
        XCTAssertEqual(forward.scalars[0], both.transformed(3))
        XCTAssertTrue(forward.scalars[1].isNaN)
        XCTAssertEqual(both.inverted(forward).scalars[2], 63, accuracy: 1e-4)
    }

    func testClipQuantileInterpolatesLinearly() throws {
        var rng = SeededGenerator(seed: 42)
        let values = (1...100).map(Float.init).shuffled(using: &rng)
        let s = try TargetScaling.fit(values, transform: .standardize, clipQuantile: 0.9)
        // Position 0.9·99 = 89.1 between the order statistics 90 and 91 → 90.1 (NumPy's default).
        XCTAssertEqual(try XCTUnwrap(s.clip), 90.1, accuracy: 1e-5)
        XCTAssertEqual(s.transformed(1000), s.transformed(90.1))
        XCTAssertLessThan(s.transformed(50), s.transformed(60), "values below the clip are untouched")
        // μ is fitted on the clipped values.
        let clipped = (1...100).map { min(Double($0), 90.1) }
        XCTAssertEqual(s.mean, clipped.reduce(0, +) / 100, accuracy: 1e-5)
        // q = 1 clips at the maximum, i.e. changes nothing.
        XCTAssertEqual(try TargetScaling.fit(values, transform: .none, clipQuantile: 1).clip, 100)
    }

    func testFitUsesOnlyTheTasksLossSpace() throws {
        // Amount conditional on conversion: rows 1 and 3 are converted (amounts 10 and 30); the 0 rows must not count.
        let tasks = [
            TaskSpec(name: "conversion", kind: .binary),
            TaskSpec(name: "amount", kind: .continuous, lossSpace: .whereLabel("conversion"), targetTransform: .standardize),
            TaskSpec(name: "ltv", kind: .continuous, loss: .zeroInflatedLognormal, targetClipQuantile: 0.5),
        ]
        let labels: [Float] = [0, 0, 4,
                               1, 10, 1,
                               0, 0, 2,
                               1, 30, 3]
        let table = EncodedTable(layout: FeatureLayout(vocabularySizes: [], numericCount: 0), tasks: tasks, rowCount: 4,
                                 ids: [], numeric: [], labels: labels)
        let fitted = try TargetScaling.fitAll(on: table)
        XCTAssertEqual(fitted[0], .identity)
        XCTAssertEqual(fitted[1].mean, 20)
        XCTAssertEqual(fitted[1].scale, 10)
        XCTAssertEqual(fitted[2], TargetScaling(transform: .none, clip: 2.5), "ZILN may clip (median of 1, 2, 3, 4)")
    }

    func testCodableRoundTripIsExact() throws {
        let s = try TargetScaling.fit([0.3, 1.7, 9.25, 40], transform: .log1pStandardize, clipQuantile: 0.75)
        let decoded = try JSONDecoder().decode(TargetScaling.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(decoded, s)
        // Old task configurations without the clip option still decode.
        let task = TaskSpec(name: "amount", kind: .continuous, targetTransform: .log1p)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(task)) as? [String: Any])
        json["targetClipQuantile"] = nil
        let old = try JSONDecoder().decode(TaskSpec.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(old, task)
    }

    func testRefusals() {
        XCTAssertThrowsError(try TargetScaling.fit([1, -2], transform: .log1p)) {
            XCTAssertEqual($0 as? TargetScalingError, .negativeLabel(task: "", value: -2))
        }
        XCTAssertThrowsError(try TargetScaling.fit([.nan], transform: .standardize)) {
            XCTAssertEqual($0 as? TargetScalingError, .emptySpace(task: ""))
        }
        XCTAssertThrowsError(try TargetScaling.fit([1], transform: .none, clipQuantile: 0)) {
            XCTAssertEqual($0 as? TargetScalingError, .invalidQuantile(task: "", value: 0))
        }
        let layout = FeatureLayout(vocabularySizes: [], numericCount: 0)
        let binary = EncodedTable(layout: layout, tasks: [TaskSpec(name: "ctr", kind: .binary, targetTransform: .log1p)],
                                  rowCount: 1, ids: [], numeric: [], labels: [1])
        XCTAssertThrowsError(try TargetScaling.fitAll(on: binary)) {
            XCTAssertEqual($0 as? TargetScalingError, .notContinuous(task: "ctr"))
        }
        let ziln = EncodedTable(layout: layout, tasks: [TaskSpec(name: "ltv", kind: .continuous, loss: .zeroInflatedLognormal,
                                                                 targetTransform: .log1p)],
                                rowCount: 1, ids: [], numeric: [], labels: [1])
        XCTAssertThrowsError(try TargetScaling.fitAll(on: ziln)) {
            XCTAssertEqual($0 as? TargetScalingError, .transformedZILN(task: "ltv"))
            XCTAssertTrue("\($0)".contains("raw amounts"))
        }
    }
}
