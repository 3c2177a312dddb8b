import Foundation
import FunnelData
import XCTest

/// The schema `funnel synth … --csv` writes next to the CSV reads the file through the ingestion path with the
/// generator's tasks and labels.
final class SyntheticSchemaTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-synth-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testFunnelCSVReadsBackWithItsTasksAndLabels() throws {
        var configuration = FunnelConfiguration.smoke
        configuration.rows = 1000
        let generator = try FunnelDataset(configuration: configuration, seed: 3)
        let schemaURL = try generator.writeCSVWithSchema(to: directory.appendingPathComponent("f.csv"), groundTruth: true)
        XCTAssertEqual(schemaURL.lastPathComponent, "f.yaml")
        let data = try PreparedDataset.load(schemaURL: schemaURL)
        let tasks = data.featureMap.tasks
        XCTAssertEqual(tasks.map(\.name), ["ctr", "cvr", "amount"])
        XCTAssertEqual(tasks.map(\.parent), [nil, "ctr", "cvr"])
        XCTAssertEqual(tasks[1].lossSpace, generator.tasks[1].lossSpace)
        XCTAssertEqual(tasks[2].loss, .zeroInflatedLognormal)
        XCTAssertEqual(data.train.rowCount + data.validation.rowCount + data.test.rowCount, 1000)
        XCTAssertEqual(data.train.rowCount, 800)
        XCTAssertEqual(data.featureMap.layout.vocabularySizes.count, 16)
        XCTAssertEqual(data.featureMap.layout.numericCount, 8)
        // Every label survives: the sums over the three splits equal the generator's.
        let parts = [data.train, data.validation, data.test]
        func column(_ t: Int) -> [Double] {
            parts.flatMap { (p: EncodedTable) -> [Double] in (0..<p.rowCount).map { Double(p.labels[$0 * 3 + t]) } }
        }
        XCTAssertEqual(column(0).reduce(0, +), Double(generator.statistics.clicks))
        XCTAssertEqual(column(1).reduce(0, +), Double(generator.statistics.conversions))
        let amount = generator.amount.reduce(0, +)
        XCTAssertEqual(column(2).reduce(0, +), amount, accuracy: 1e-6 * amount)
    }

    func testCorrelatedAndDEPHNSchemas() throws {
        let correlated = try CorrelatedTasksDataset(
            configuration: .twoTasks(cosine: 0.5, rows: 300, labels: .binary(BinaryThresholding(rates: [0.3, 0.3], nested: true))), seed: 1)
        let c = try PreparedDataset.load(schemaURL: try correlated.writeCSVWithSchema(to: directory.appendingPathComponent("c.csv")))
        XCTAssertEqual(c.featureMap.tasks.map(\.name), ["task0", "task1"])
        XCTAssertEqual(c.featureMap.tasks[1].parent, "task0")
        XCTAssertEqual(c.featureMap.layout.numericCount, 100)

        var base = FunnelConfiguration.dephnPair
        base.rows = 300
        let pair = try DEPHNPairDataset(funnel: base, seed: 2)
        let d = try PreparedDataset.load(schemaURL: try pair.writeCSVWithSchema(to: directory.appendingPathComponent("d.csv"), pair: .unrelated))
        XCTAssertEqual(d.featureMap.tasks.map(\.name), ["base", "unrelated"])
        var positives = 0
        for part in [d.train, d.validation, d.test] {
            for row in 0..<part.rowCount where part.labels[row * 2 + 1] == 1 { positives += 1 }
        }
        XCTAssertEqual(positives, pair.labels.unrelated.filter { $0 == 1 }.count)
    }
}
