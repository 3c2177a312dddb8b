import XCTest
import FunnelCore
@testable import FunnelData

final class SplitTests: XCTestCase {
    func testPermutationIsDeterministicAndSeeded() {
        let a = DatasetSplit.permutation(count: 1000, seed: 7)
        XCTAssertEqual(a, DatasetSplit.permutation(count: 1000, seed: 7))
        XCTAssertNotEqual(a, DatasetSplit.permutation(count: 1000, seed: 8))
        XCTAssertEqual(a.sorted(), Array(0..<1000))
        XCTAssertNotEqual(a, Array(0..<1000))
    }

    func testPermutationFollowsTheSpecFormula() {
        // Fisher–Yates, i = n−1 … 1, j = floor(uniform(seed, 99, i) · (i + 1)), written out for n = 5.
        var expected = Array(0..<5)
        for i in stride(from: 4, through: 1, by: -1) {
            expected.swapAt(i, Int(PortableRandom.uniform(seed: 3, stream: 99, index: UInt64(i)) * Double(i + 1)))
        }
        XCTAssertEqual(DatasetSplit.permutation(count: 5, seed: 3), expected)
    }

    func testDivideSizesAreRoundedCumulativeFractions() {
        let parts = DatasetSplit.divide(Array(0..<99_762), fractions: [(.validation, 0.5), (.test, 0.5)])
        XCTAssertEqual(parts[.validation]?.count, 49_881)
        XCTAssertEqual(parts[.test]?.count, 49_881)
        let three = DatasetSplit.divide(Array(0..<11), fractions: [(.train, 0.8), (.validation, 0.1), (.test, 0.1)])
        XCTAssertEqual(three.mapValues(\.count), [.train: 9, .validation: 1, .test: 1])
    }

    private func schema(_ divide: SplitSchema.Division) -> DatasetSchema {
        DatasetSchema(name: "s", files: ["d.csv"], features: [FeatureSchema(name: "x", kind: .numeric)],
                      tasks: [TaskSchema(name: "y", kind: .continuous, label: LabelRule(column: "y"))],
                      split: SplitSchema(divide: divide))
    }

    private func file(rows: Int) throws -> URL {
        let body = (0..<rows).map { "\($0),\((rows - $0) * 10),\($0 % 3)" }.joined(separator: "\n")
        return try TestData.directory(with: ["d.csv": "x,t,y\n" + body + "\n"])
    }

    func testRandomSplitIsDisjointCompleteAndReproducible() throws {
        let directory = try file(rows: 200)
        let divide = SplitSchema.Division(method: .random, fractions: .init(train: 0.8, validation: 0.1, test: 0.1), seed: 11)
        let a = try PreparedDataset.prepare(schema(divide), options: .init(dataDirectory: directory))
        let b = try PreparedDataset.prepare(schema(divide), options: .init(dataDirectory: directory))
        XCTAssertEqual([a.train.rowCount, a.validation.rowCount, a.test.rowCount], [160, 20, 20])
        // x is the row index, unscaled: the numeric column identifies each row.
        let sets = [a.train, a.validation, a.test].map { Set($0.numeric) }
        XCTAssertEqual(sets.map(\.count).reduce(0, +), 200)
        XCTAssertEqual(sets[0].union(sets[1]).union(sets[2]).count, 200)
        XCTAssertEqual(a.validation.numeric, b.validation.numeric)
        XCTAssertEqual(a.test.numeric, b.test.numeric)
        var other = divide
        other.seed = 12
        XCTAssertNotEqual(try PreparedDataset.prepare(schema(other), options: .init(dataDirectory: directory)).test.numeric, a.test.numeric)
    }

    func testChronologicalSplitOrdersByTime() throws {
        let directory = try file(rows: 10)
        let divide = SplitSchema.Division(method: .chronological, fractions: .init(train: 0.8, validation: 0.1, test: 0.1), column: "t")
        let data = try PreparedDataset.prepare(schema(divide), options: .init(dataDirectory: directory))
        // t falls as x rises: the earliest times are the last rows.
        XCTAssertEqual(data.train.numeric, [2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(data.validation.numeric, [1])
        XCTAssertEqual(data.test.numeric, [0])
    }

    func testColumnSplitAssignsByValueAndCountsTheRest() throws {
        let directory = try file(rows: 10)
        let divide = SplitSchema.Division(method: .column, column: "y", values: .init(train: ["0"], test: ["1"]))
        let data = try PreparedDataset.prepare(schema(divide), options: .init(dataDirectory: directory))
        XCTAssertEqual(data.train.numeric, [0, 3, 6, 9])
        XCTAssertEqual(data.test.numeric, [1, 4, 7])
        XCTAssertEqual(data.validation.rowCount, 0)
        XCTAssertEqual(data.droppedBySplit, 3)
    }
}
