import XCTest
import FunnelCore
import FunnelData

/// Target transforms fitted on the training split (`losses-and-balancing.md` §3): values, round trips, clipping,
/// fitting over the loss space only, and batches with transformed labels.
final class FittedTargetTransformTests: XCTestCase {
    func testStandardizeUsesMeanAndPopulationStd() {
        let t = FittedTargetTransform(fitting: .standardize, to: [0, 0, 2, 6])  // μ = 2, σ² = (4 + 4 + 0 + 16)/4 = 6
        XCTAssertEqual(t.mean, 2)
        XCTAssertEqual(t.scale, Double(6).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(t.forward(6), Float(4 / Double(6).squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(t.inverse(t.forward(6)), 6, accuracy: 1e-5)
    }

    func testLogTransformsRoundTrip() {
        let values: [Float] = [0, 1, 10, 250]
        for kind in [TargetTransform.log1p, .log1pStandardize] {
            let t = FittedTargetTransform(fitting: kind, to: values)
            for y in values { XCTAssertEqual(t.inverse(t.forward(y)), y, accuracy: 1e-4 * max(1, y), "\(kind)") }
        }
        XCTAssertEqual(FittedTargetTransform(fitting: .log1p, to: values).forward(1), Float(log(2.0)), accuracy: 1e-7)
        let logs = values.map { log1p(Double($0)) }
        let mean = logs.reduce(0, +) / 4
        XCTAssertEqual(FittedTargetTransform(fitting: .log1pStandardize, to: values).mean, mean, accuracy: 1e-12)
        XCTAssertEqual(FittedTargetTransform(fitting: .none, to: values).forward(7), 7)
    }

    func testClipAtQuantileAndConstantTarget() {
        let values = (0...100).map(Float.init)
        let t = FittedTargetTransform(fitting: .standardize, to: values, clipQuantile: 0.9)
        XCTAssertEqual(t.clip, 90)
        XCTAssertEqual(t.forward(1000), t.forward(90))
        XCTAssertNotEqual(t.forward(89), t.forward(90))
        XCTAssertEqual(FittedTargetTransform(fitting: .standardize, to: [3, 3]).scale, 1, "a constant target keeps s = 1")
    }

    func testTableFitsOverTheLossSpaceAndBatchesTransformLabels() {
        let tasks = [TaskSpec(name: "buy", kind: .binary),
                     TaskSpec(name: "amount", kind: .continuous, lossSpace: .whereLabel("buy"), targetTransform: .standardize)]
        // Rows (buy, amount): (1, 10), (1, 30), (0, 0), (0, 0) → fitted over the bought rows only: μ = 20, s = 10.
        let table = EncodedTable(layout: FeatureLayout(vocabularySizes: [2], numericCount: 0), tasks: tasks, rowCount: 4,
                                 ids: [0, 1, 0, 1], numeric: [], labels: [1, 10, 1, 30, 0, 0, 0, 0])
        let transforms = table.fittedTargetTransforms()
        XCTAssertNil(transforms[0])
        XCTAssertEqual(transforms[1]?.mean, 20)
        XCTAssertEqual(transforms[1]?.scale, 10)
        let batch = table.batch(rows: [0, 1, 2, 3])
        let transformed = batch.transformingLabels(transforms)
        XCTAssertEqual(transformed.labels.scalars, [1, -1, 1, 1, 0, -2, 0, -2])
        XCTAssertEqual(transformed.masks?.scalars, batch.masks?.scalars, "masks come from the original labels")
        XCTAssertEqual(batch.labels.scalars, [1, 10, 1, 30, 0, 0, 0, 0], "the original batch is unchanged")
    }
}
