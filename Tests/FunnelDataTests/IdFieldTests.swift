import Foundation
import XCTest
import FunnelCore
@testable import FunnelData

/// Zipf id fields of the funnel generator (`funnel synth funnel --ids N --zipf s`).
final class IdFieldTests: XCTestCase {
    func testZipfSamplerMatchesTheLaw() {
        let n = 10_000_000, s = 1.1
        let sampler = ZipfSampler(n: n, exponent: s)
        var generator = SeededGenerator(seed: 3)
        var counts: [Int: Int] = [:]
        let draws = 200_000
        for _ in 0..<draws { counts[sampler.sample { Double.random(in: 0..<1, using: &generator) }, default: 0] += 1 }
        XCTAssertTrue(counts.keys.allSatisfy { (1...n).contains($0) })
        // P(1) = 1 / H(n, s); H(10^7, 1.1) ≈ ζ(1.1) − 10^(−0.7)/0.1 ≈ 10.584 − 1.995 ≈ 8.59 (Euler–Maclaurin).
        let harmonic = (1...1000).reduce(0.0) { $0 + pow(Double($1), -s) } + (pow(1000.5, -0.1) - pow(Double(n) + 0.5, -0.1)) / 0.1
        for k in [1, 2, 10] {
            let expected = pow(Double(k), -s) / harmonic
            XCTAssertEqual(Double(counts[k] ?? 0) / Double(draws), expected, accuracy: 4 * (expected / Double(draws)).squareRoot(),
                           "P(rank \(k))")
        }
    }

    func testFunnelGainsIdFieldsDirectOrHashed() throws {
        var configuration = FunnelConfiguration.smoke
        configuration.rows = 2000
        let plain = try FunnelDataset(configuration: configuration, seed: 1)
        configuration.idFields = IdFieldConfiguration(count: 2, vocabulary: 1_000_000, zipfExponent: 1.1)
        let direct = try FunnelDataset(configuration: configuration, seed: 1)
        XCTAssertEqual(direct.fieldNames.suffix(2), ["id0", "id1"])
        XCTAssertEqual(direct.vocabularySizes.suffix(2), [1_000_000, 1_000_000])
        let fields = direct.fieldNames.count
        let ids = (0..<direct.rowCount).map { direct.categorical[$0 * fields + fields - 1] }
        XCTAssertTrue(ids.allSatisfy { (0..<1_000_000).contains($0) })
        XCTAssertLessThan(Set(ids).count, ids.count / 2, "Zipf: frequent ids repeat")
        XCTAssertEqual(direct.table.layout.vocabularySizes.count, fields)
        XCTAssertEqual((0..<direct.rowCount).map { direct.categorical[$0 * fields] },
                       (0..<plain.rowCount).map { plain.categorical[$0 * plain.fieldNames.count] }, "categorical fields unchanged")
        configuration.idFields?.buckets = 1000
        let hashed = try FunnelDataset(configuration: configuration, seed: 1)
        XCTAssertEqual(hashed.vocabularySizes.suffix(2), [1000, 1000])
        XCTAssertTrue((0..<hashed.rowCount).allSatisfy { (0..<1000).contains(hashed.categorical[$0 * fields + fields - 1]) })
    }
}
