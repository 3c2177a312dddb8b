import XCTest
import FunnelCore

/// A table read only by lookups gets a `.rows` gradient whose size is the rows a batch read, never the table's:
/// nothing per step is O(table rows) (issue #16).
final class RowSparseGradientTests: XCTestCase {
    func testHugeTableGradientHoldsOnlyTheRowsRead() {
        // 5M × 4 floats = 80 MB: a dense-shaped gradient would be as big; the row-sparse one is 3 rows.
        let table = Parameter(name: "embedding.weight", value: Tensor(zeros: [5_000_000, 4]))
        let tape = Tape()
        let looked = Variable.gatherRows(tape.watch(table), indices: [4_999_999, 7, 7, 123_456])
        tape.backward((looked * Variable(Tensor(shape: [4, 4], values: (0..<16).map(Float.init)))).sum())
        guard case .rows(let sparse)? = table.gradient else { return XCTFail("expected a row-sparse gradient") }
        XCTAssertEqual(sparse.rows, [7, 123_456, 4_999_999])
        XCTAssertEqual(sparse.values.shape, [3, 4])
        let expected: [Float] = [12, 14, 16, 18, 12, 13, 14, 15, 0, 1, 2, 3]
        XCTAssertEqual(sparse.values.scalars, expected, "row 7 read twice (reads 1 and 2): the sum of both")
    }

    func testBagsAndLookupsOfOneTableCoalesce() {
        let table = Parameter(name: "embedding.weight", value: Tensor(shape: [6, 2], values: (0..<12).map(Float.init)))
        let tape = Tape()
        let t = tape.watch(table)
        let single = Variable.gatherRows(t, indices: [1, 3])
        let bag = Variable.embeddingBag(t, indices: [3, 5, 0], offsets: [0, 2, 3], pooling: .mean)
        tape.backward(single.sum() + (bag * 2).sum())
        guard case .rows(let sparse)? = table.gradient else { return XCTFail("expected a row-sparse gradient") }
        XCTAssertEqual(sparse.rows, [0, 1, 3, 5])
        // Row 3: 1 (lookup) + 2 · ½ (bag 0 of two ids); row 5: 2 · ½; row 0: 2 · 1 (bag 1 of one id).
        XCTAssertEqual(sparse.values.scalars, [2, 2, 1, 1, 2, 2, 1, 1])
        XCTAssertEqual(table.grad?.scalars, [2, 2, 1, 1, 0, 0, 2, 2, 0, 0, 1, 1], "the dense view agrees")
    }

    func testSumsDotsAndScalingMatchDense() {
        let a = RowSparseGradient(rows: [0, 2, 5], values: Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]))
        let b = RowSparseGradient(rows: [2, 3], values: Tensor(shape: [2, 2], values: [10, 20, 30, 40]))
        let shape = [6, 2]
        let (da, db) = (a.densified(shape: shape), b.densified(shape: shape))
        XCTAssertEqual((a + b).rows, [0, 2, 3, 5])
        XCTAssertEqual((a + b).densified(shape: shape).scalars, zip(da.scalars, db.scalars).map { $0 + $1 })
        XCTAssertEqual(a.dot(b), da.dot(db))
        XCTAssertEqual(a.dot(dense: db), da.dot(db))
        XCTAssertEqual(Gradient.rows(a).squaredNorm, da.squaredNorm())
        XCTAssertEqual(a.scaled(by: 2).densified(shape: shape).scalars, da.scalars.map { $0 * 2 })
        let mixed = Gradient.sum(.rows(a), .dense(db), shape: shape)
        guard case .dense(let d) = mixed else { return XCTFail("rows + dense is dense") }
        XCTAssertEqual(d.scalars, zip(da.scalars, db.scalars).map { $0 + $1 })
    }
}
