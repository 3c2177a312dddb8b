import Foundation
import XCTest
@testable import FunnelData

/// `NumPyExport` writes `.npy` files NumPy can read (`bench/pytorch_train.py` loads them with `np.load`).
final class NumPyExportTests: XCTestCase {
    func testHeaderIsAlignedAndPayloadIsLittleEndianRowMajor() throws {
        let data = NumPyExport.array([Int32(1), 2, 3, 4, 5, 6], descriptor: "<i4", shape: [3, 2])
        XCTAssertEqual(Array(data.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "data must start on a 64-byte boundary")
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))
        let payload = Array(data[(10 + headerLength)...])
        XCTAssertEqual(payload.count, 24)
        XCTAssertEqual(Array(payload.prefix(8)), [1, 0, 0, 0, 2, 0, 0, 0])
        XCTAssertTrue(String(decoding: NumPyExport.array([Float(0)], descriptor: "<f4", shape: [1]).prefix(80), as: UTF8.self)
            .contains("'shape': (1,)"))
    }

    func testWritesEverySplitAndMeta() throws {
        let layout = FeatureLayout(vocabularySizes: [3, 5], numericCount: 1)
        let tasks = [TaskSpec(name: "ctr", kind: .binary)]
        let train = EncodedTable(layout: layout, tasks: tasks, rowCount: 2, ids: [1, 4, 2, 3], numeric: [0.5, -1], labels: [1, 0])
        let test = EncodedTable(layout: layout, tasks: tasks, rowCount: 1, ids: [0, 1], numeric: [2], labels: [0])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numpy-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try NumPyExport.write(["train": train, "test": test], to: directory)
        let labels = try Data(contentsOf: directory.appendingPathComponent("train_labels.npy"))
        XCTAssertEqual(labels.count, 128 + 8)
        XCTAssertEqual(Array(labels.suffix(8)), [0, 0, 0x80, 0x3F, 0, 0, 0, 0], "float32 1 then 0")
        let ids = try Data(contentsOf: directory.appendingPathComponent("test_ids.npy"))
        XCTAssertTrue(String(decoding: ids.prefix(128), as: UTF8.self).contains("'shape': (1, 2)"))
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("meta.json"))) as? [String: Any]
        XCTAssertEqual(meta?["splits"] as? [String], ["test", "train"])
        XCTAssertEqual((meta?["layout"] as? [String: Any])?["vocabularySizes"] as? [Int], [3, 5])
        XCTAssertEqual(((meta?["tasks"] as? [[String: Any]])?.first)?["name"] as? String, "ctr")
    }
}
