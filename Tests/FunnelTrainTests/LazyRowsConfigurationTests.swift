import Foundation
import XCTest
import FunnelCore
@testable import FunnelTrain

/// Lazy table rows are the training default; the dense mode is one run-file key away.
final class LazyRowsConfigurationTests: XCTestCase {
    func testLazyRowsAreTheDefaultAndDenseIsAnOption() throws {
        XCTAssertTrue(OptimizerConfiguration().lazyEmbeddingRows)
        XCTAssertTrue((OptimizerConfiguration().make() as! Adam).lazyRows)
        let dense = try JSONDecoder().decode(OptimizerConfiguration.self, from: Data(#"{"lazyEmbeddingRows": false}"#.utf8))
        XCTAssertFalse((dense.make() as! Adam).lazyRows)
        XCTAssertEqual(dense.learningRate, 1e-3, "missing keys keep their defaults")
    }

    /// Lazy Adam on a 2M-row table touches only the rows read: the others stay bit-identical, and the rows read
    /// move exactly as dense Adam moves them on the first step.
    func testLazyAdamOnAHugeTableUpdatesOnlyTheRowsRead() {
        let rows = 2_000_000, width = 4
        let lazyTable = Parameter(name: "embedding.weight", value: Tensor(repeating: 0.5, shape: [rows, width]))
        let denseTable = Parameter(name: "embedding.weight", value: Tensor(repeating: 0.5, shape: [rows, width]))
        for table in [lazyTable, denseTable] {
            let tape = Tape()
            tape.backward(Variable.gatherRows(tape.watch(table), indices: [10, 1_999_999, 10]).sum())
        }
        Adam(learningRate: 0.1, lazyRows: true).step([lazyTable])
        Adam(learningRate: 0.1).step([denseTable])
        for row in [0, 9, 11, 1_999_998] {
            XCTAssertEqual(lazyTable.value.pointer[row * width], 0.5, "row \(row) was not read")
        }
        for row in [10, 1_999_999] {
            XCTAssertEqual(lazyTable.value.pointer[row * width], denseTable.value.pointer[row * width], "row \(row)")
            XCTAssertNotEqual(lazyTable.value.pointer[row * width], 0.5)
        }
    }
}
