import Foundation
import XCTest
import FunnelCore
@testable import FunnelData

/// Random encoded tables covering every column kind, and bitwise comparisons of tables and batches.
enum TableFixtures {
    /// `rows` rows: 3 categorical fields, 2 multi-valued fields (0–4 ids per row), 4 numeric features with a
    /// NaN, −0 and infinities mixed in, click → conversion → amount tasks (conversion's loss space = clicked
    /// rows), weights and groups when asked.
    static func table(rows: Int, seed: UInt64, weights: Bool = true, groups: Bool = true) -> EncodedTable {
        var rng = SeededGenerator(seed: seed)
        let layout = FeatureLayout(vocabularySizes: [7, 1000, 3],
                                   multiValued: [MultiValuedField(vocabularySize: 50, pooling: .mean),
                                                 MultiValuedField(vocabularySize: 9, pooling: .sum)],
                                   numericCount: 4, fieldNames: ["a", "b", "c", "tags", "history"])
        let tasks = [TaskSpec(name: "click", kind: .binary),
                     TaskSpec(name: "conversion", kind: .binary, parent: "click", lossSpace: .whereLabel("click")),
                     TaskSpec(name: "amount", kind: .continuous, parent: "conversion", loss: .zeroInflatedLognormal)]
        let ids = (0..<rows).flatMap { _ in layout.vocabularySizes.map { Int32(Int.random(in: 0..<$0, using: &rng)) } }
        let multiValued = layout.multiValued.map { field -> MultiValuedIDs in
            var offsets: [Int32] = [0], values: [Int32] = []
            for _ in 0..<rows {
                for _ in 0..<Int.random(in: 0...4, using: &rng) { values.append(Int32(Int.random(in: 1..<field.vocabularySize, using: &rng))) }
                offsets.append(Int32(values.count))
            }
            return MultiValuedIDs(offsets: offsets, ids: values)
        }
        let specials: [Float] = [.nan, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude]
        let numeric = (0..<rows * 4).map { i in i % 97 == 5 ? specials[i % specials.count] : Float.random(in: -3...3, using: &rng) }
        var labels: [Float] = []
        for _ in 0..<rows {
            let click: Float = Bool.random(using: &rng) ? 1 : 0
            let conversion: Float = click == 1 && Bool.random(using: &rng) ? 1 : 0
            labels += [click, conversion, conversion == 1 ? Float.random(in: 1...500, using: &rng) : 0]
        }
        return EncodedTable(layout: layout, tasks: tasks, rowCount: rows, ids: ids, multiValued: multiValued,
                            numeric: numeric, labels: labels,
                            weights: weights ? (0..<rows * 3).map { _ in Float.random(in: 0.5...2, using: &rng) } : nil,
                            groups: groups ? (0..<rows).map { _ in Int64.random(in: -1 << 40...1 << 40, using: &rng) } : nil)
    }

    /// A fresh empty directory under the system temporary directory, removed at the end of `test`.
    static func directory(for test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

func bits(_ tensor: Tensor?) -> [UInt32]? {
    tensor.map { t in (0..<t.count).map { t.pointer[$0].bitPattern } }
}

/// Asserts two tables are equal column by column, every float compared by bit pattern.
func assertBitIdentical(_ a: EncodedTable, _ b: EncodedTable, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.rowCount, b.rowCount, file: file, line: line)
    XCTAssertEqual(a.layout, b.layout, file: file, line: line)
    XCTAssertEqual(a.tasks, b.tasks, file: file, line: line)
    XCTAssertEqual(a.ids, b.ids, "ids", file: file, line: line)
    XCTAssertEqual(bits(a.numeric), bits(b.numeric), "numeric", file: file, line: line)
    XCTAssertEqual(bits(a.labels), bits(b.labels), "labels", file: file, line: line)
    XCTAssertEqual(a.weights.map(bits), b.weights.map(bits), "weights", file: file, line: line)
    XCTAssertEqual(a.groups, b.groups, "groups", file: file, line: line)
    XCTAssertEqual(a.multiValued.map(\.offsets), b.multiValued.map(\.offsets), "multi-valued offsets", file: file, line: line)
    XCTAssertEqual(a.multiValued.map(\.ids), b.multiValued.map(\.ids), "multi-valued ids", file: file, line: line)
}

/// Asserts two batches are equal field by field, every float compared by bit pattern.
func assertBitIdentical(_ a: Batch, _ b: Batch, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    XCTAssertEqual(a.ids, b.ids, "ids", file: file, line: line)
    XCTAssertEqual(a.multiValued.map(\.offsets), b.multiValued.map(\.offsets), file: file, line: line)
    XCTAssertEqual(a.multiValued.map(\.ids), b.multiValued.map(\.ids), file: file, line: line)
    XCTAssertEqual(bits(a.numeric), bits(b.numeric), "numeric", file: file, line: line)
    XCTAssertEqual(bits(a.labels), bits(b.labels), "labels", file: file, line: line)
    XCTAssertEqual(bits(a.masks), bits(b.masks), "masks", file: file, line: line)
    XCTAssertEqual(bits(a.weights), bits(b.weights), "weights", file: file, line: line)
    XCTAssertEqual(a.groups, b.groups, "groups", file: file, line: line)
}
