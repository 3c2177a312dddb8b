import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData

/// Parity of `ParityBenchmarkGenerator` (seed 0) with the Python generator `bench/funnel_synth.py` on
/// `parity_generator.json`: vocabulary sizes, rows 0…7 exactly, and the positive rates.
final class GeneratorParityTests: XCTestCase {
    func testPortableRandomReferenceValues() throws {
        let fixture = try ParityFixture("parity_generator.json")
        // uniform(seed 0, stream 1, i) and normal(seed 0, stream 2, i), i = 0…3 (synthetic-data.md §1).
        let uniforms = try fixture.doubles("rng.uniform_0_1"), normals = try fixture.doubles("rng.normal_0_2")
        for i in 0..<4 {
            // Integer mixing then an exact scaling of 53 bits: bit-identical.
            XCTAssertEqual(PortableRandom.uniform(seed: 0, stream: 1, index: UInt64(i)), uniforms[i], "uniform[\(i)]")
            // Box–Muller goes through log and cos, where libm and NumPy may differ by an ulp or so.
            let normal = PortableRandom.normal(seed: 0, stream: 2, index: UInt64(i))
            XCTAssertEqual(normal, normals[i], accuracy: 4 * normals[i].ulp, "normal[\(i)]")
        }
        XCTAssertEqual(PortableRandom.mix64(0), 0)
    }

    func testVocabularyAndFirstRowsMatchPython() throws {
        let fixture = try ParityFixture("parity_generator.json")
        let generator = ParityBenchmarkGenerator()
        XCTAssertEqual(generator.seed, 0)
        XCTAssertEqual(generator.fields, (fixture.config["n_fields"] as? NSNumber)?.intValue)
        XCTAssertEqual(generator.denseFeatures, (fixture.config["n_dense"] as? NSNumber)?.intValue)
        XCTAssertEqual(generator.correlation, (fixture.config["rho"] as? NSNumber)?.doubleValue)
        XCTAssertEqual(generator.vocabularySizes, try fixture.doubles("vocab").map { Int(exactly: $0)! })
        XCTAssertEqual(generator.offsets, try fixture.doubles("offsets").map { Int(exactly: $0)! })
        XCTAssertEqual(generator.vocabularySizes.reduce(0, +), (fixture.config["total_vocab"] as? NSNumber)?.intValue)
        XCTAssertEqual(generator.layout, FeatureLayout(vocabularySizes: generator.vocabularySizes, numericCount: 10))
        XCTAssertEqual(ParityBenchmarkGenerator.trainingRows.count, (fixture.config["train_rows"] as? NSNumber)?.intValue)

        let batch = generator.batch(rows: 0..<8)
        XCTAssertEqual(batch.count, 8)
        XCTAssertEqual(try fixture.shape("x_cat"), [8, 40])
        XCTAssertEqual(batch.ids, try fixture.doubles("x_cat").map { Int32(exactly: $0)! }, "x_cat rows 0…7 (local ids)")
        XCTAssertEqual(batch.labels.shape, [8, 2])
        XCTAssertEqual(batch.labels.scalars, try fixture.doubles("y").map { Float($0) }, "y rows 0…7")

        // x_dense: the generator works in Double and stores Float32; Python stores the float64 values. Each
        // element must be the float32 rounding of the reference: within half a float32 ulp (plus a hair for a
        // last-bit difference of the Double libm result).
        let dense = try XCTUnwrap(batch.numeric)
        XCTAssertEqual(dense.shape, [8, 10])
        let reference = try fixture.doubles("x_dense")
        for (i, (value, exact)) in zip(dense.scalars, reference).enumerated() {
            let halfUlp = Double(Float(exact).ulp) / 2
            XCTAssertLessThanOrEqual(abs(Double(value) - exact), halfUlp * (1 + 1e-9), "x_dense[\(i)]: \(value) vs \(exact)")
        }

        // A batch of later rows is the same as those rows taken from a longer batch (rows addressed by index).
        let tail = generator.batch(rows: 5..<8)
        XCTAssertEqual(tail.ids, Array(batch.ids[(5 * 40)...]))
        XCTAssertEqual(tail.labels.scalars, Array(batch.labels.scalars[10...]))
    }

    /// Positive rates of a prefix of the training rows against the fixture's rate over all 131,072 rows.
    ///
    /// Rows are i.i.d. given the generator's fixed per-category effects, so for a prefix of n rows out of N the
    /// difference between the prefix rate and the full rate has standard error √(p(1−p)·(1/n − 1/N)); the test
    /// allows 5 standard errors (about 0.026 for p ≈ 0.37 and n = 8192). A debug build generates about 50,000
    /// rows per second on the 2-core development machine (printed), so this takes ~0.2 s.
    func testPositiveRatesAreConsistentWithPython() throws {
        let fixture = try ParityFixture("parity_generator.json")
        let expected = try fixture.doubles("positive_rate")
        let generator = ParityBenchmarkGenerator()
        let n = 8192, total = Double(ParityBenchmarkGenerator.trainingRows.count)
        let start = Date()
        let batch = generator.batch(rows: 0..<n)
        let seconds = Date().timeIntervalSince(start)
        print("[generator] \(n) rows in \(String(format: "%.2f", seconds)) s (\(Int(Double(n) / seconds)) rows/s)")
        for t in 0..<2 {
            let positives = batch.labels(ofTask: t).scalars.filter { $0 == 1 }.count
            XCTAssertEqual(batch.labels(ofTask: t).scalars.filter { $0 == 0 }.count, n - positives, "labels are 0/1")
            let rate = Double(positives) / Double(n), p = expected[t]
            let standardError = (p * (1 - p) * (1 / Double(n) - 1 / total)).squareRoot()
            print("[generator] task \(t): rate \(rate) over \(n) rows vs \(p) over \(Int(total)): "
                  + "\(String(format: "%.2f", (rate - p) / standardError)) standard errors")
            XCTAssertEqual(rate, p, accuracy: 5 * standardError, "task \(t) positive rate")
        }
    }

    /// The exact positive counts over all 131,072 training rows. The fixture's rates are count / 131072 (exact in
    /// float64), so the counts must match exactly; a label could only flip if a uniform fell within a last-bit
    /// libm difference of its probability (~1e-16 per row). About 2.5 s in a debug build (printed).
    func testPositiveCountsOverAllTrainingRowsMatchPython() throws {
        let fixture = try ParityFixture("parity_generator.json")
        let expected = try fixture.doubles("positive_rate")
        let generator = ParityBenchmarkGenerator()
        let rows = ParityBenchmarkGenerator.trainingRows
        let start = Date()
        var positives = [0, 0]
        for chunk in stride(from: rows.lowerBound, to: rows.upperBound, by: 16_384) {
            let labels = generator.batch(rows: chunk..<min(chunk + 16_384, rows.upperBound)).labels
            for i in 0..<labels.count where labels.pointer[i] == 1 { positives[i % 2] += 1 }
        }
        print("[generator] \(rows.count) rows in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        for t in 0..<2 {
            let expectedCount = expected[t] * Double(rows.count)
            XCTAssertEqual(expectedCount, expectedCount.rounded(), "fixture rate is a count / 131072")
            XCTAssertEqual(positives[t], Int(expectedCount), "task \(t) positives over the training rows")
        }
    }
}
