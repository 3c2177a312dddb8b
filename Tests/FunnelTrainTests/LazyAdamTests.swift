import XCTest
import FunnelCore
import FunnelTrain

/// Row-sparse gradients and lazy row-wise Adam. A table read only through `Variable.gatherRows` gets
/// `gradientRows`; `Adam(lazyRows: true)` then updates only those rows, whereas the default (dense, PyTorch
/// `torch.optim.Adam` semantics) also moves rows that were used in an earlier step, because their first moment
/// is still non-zero. This test documents that the default is the PyTorch-dense behaviour.
final class LazyAdamTests: XCTestCase {
    private let rows = 8, width = 4

    private func table() -> Parameter {
        var rng = SeededGenerator(seed: 21)
        return Parameter(name: "embedding.weight", value: .uniform([rows, width], in: -1...1, using: &rng))
    }

    /// loss = Σ (lookup ⊙ w) for fixed weights w: a gradient that is non-zero on every element of the rows read.
    private func backward(_ table: Parameter, ids: [Int32]) {
        table.zeroGradient()
        let tape = Tape()
        let looked = Variable.gatherRows(tape.watch(table), indices: ids)
        let weights = Tensor(shape: [ids.count, width], values: (0..<(ids.count * width)).map { Float($0 % 5) - 1.5 })
        tape.backward((looked * Variable(weights)).sum())
    }

    private func row(_ t: Tensor, _ r: Int) -> [UInt32] { Array(t.scalars[(r * width)..<((r + 1) * width)]).map(\.bitPattern) }

    func testGatherRowsMarksRowSparseGradient() {
        let t = table()
        backward(t, ids: [3, 1, 3])
        XCTAssertEqual(t.gradientRows, [1, 3], "rows read, sorted and deduplicated")
        let grad = t.grad!
        for r in 0..<rows where r != 1 && r != 3 {
            XCTAssertEqual(row(grad, r), [UInt32](repeating: 0, count: width), "row \(r) not read: zero gradient")
        }
        // Row 3 was read twice: its gradient is the sum of both uses (weights rows 0 and 2).
        for k in 0..<width {
            let w0 = Float(k % 5) - 1.5, w2 = Float((2 * width + k) % 5) - 1.5
            XCTAssertEqual(grad.pointer[3 * width + k], w0 + w2)
        }

        // Any non-lookup use makes the gradient dense.
        t.zeroGradient()
        let tape = Tape()
        let v = tape.watch(t)
        tape.backward(Variable.gatherRows(v, indices: [2]).sum() + v.sum())
        XCTAssertNil(t.gradientRows)
    }

    func testLazyAdamLeavesRowsOutsideTheBatchBitIdentical() {
        let lazyTable = table(), denseTable = table()
        let initial = lazyTable.value.copy()
        let lazy = Adam(learningRate: 0.01, lazyRows: true), dense = Adam(learningRate: 0.01)
        XCTAssertFalse(dense.lazyRows, "the default is dense (PyTorch) Adam")

        // Step 1 reads rows 1 and 3; step 2 reads only row 5.
        let batches: [[Int32]] = [[1, 3, 3], [5]]
        for (step, ids) in batches.enumerated() {
            let before = (lazy: lazyTable.value.copy(), dense: denseTable.value.copy())
            backward(lazyTable, ids: ids)
            backward(denseTable, ids: ids)
            lazy.step([lazyTable])
            dense.step([denseTable])
            let inBatch = Set(ids.map(Int.init))
            for r in 0..<rows {
                if inBatch.contains(r) {
                    XCTAssertNotEqual(row(lazyTable.value, r), row(before.lazy, r), "step \(step + 1): lazy moves batch row \(r)")
                    XCTAssertEqual(row(lazyTable.value, r), row(denseTable.value, r),
                                   "step \(step + 1): lazy and dense agree bit for bit on batch row \(r)")
                } else {
                    XCTAssertEqual(row(lazyTable.value, r), row(before.lazy, r), "step \(step + 1): lazy leaves row \(r) bit-identical")
                }
            }
            if step == 1 {
                // Dense Adam: rows 1 and 3 have zero gradient now but m ≠ 0 from step 1, so they move (PyTorch
                // behaviour); rows never read have m = v = 0 and stay put.
                for r in [1, 3] {
                    XCTAssertNotEqual(row(denseTable.value, r), row(before.dense, r), "dense Adam moves row \(r) by momentum")
                }
                for r in [0, 2, 4, 6, 7] {
                    XCTAssertEqual(row(denseTable.value, r), row(initial, r), "dense Adam: never-read row \(r) unchanged")
                }
            }
        }
        for r in [0, 2, 4, 6, 7] { XCTAssertEqual(row(lazyTable.value, r), row(initial, r)) }
    }
}
