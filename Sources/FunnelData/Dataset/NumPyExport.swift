import Foundation

/// Writes encoded splits as NumPy `.npy` files so that a PyTorch reference can train on exactly the rows,
/// ids and labels Funnel trains on (`bench/pytorch_train.py`). Per split `NAME`: `NAME_ids.npy` (int32
/// `[rows, F_cat]`), `NAME_numeric.npy` (float32 `[rows, numericCount]`), `NAME_labels.npy` (float32
/// `[rows, tasks]`), and one `meta.json` with the layout and tasks. Multi-valued fields are not exported.
public enum NumPyExport {
    /// Writes `splits` (name → table; all with the same layout and tasks) into `directory`: a new or empty one, an
    /// earlier export (it has `meta.json`), or — with `overwrite` — any directory (only the export's files are
    /// replaced). Each file is written through an `OutputFile`.
    public static func write(_ splits: [String: EncodedTable], to directory: URL, overwrite: Bool = false) throws {
        try OutputGuard.checkDirectory(directory, use: .filled, markers: ["meta.json"], overwrite: overwrite)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard let first = splits.values.first else { return }
        let write = { (data: Data, name: String) in try OutputFile.write(data, to: directory.appendingPathComponent(name), overwrite: true) }
        for (name, table) in splits {
            precondition(table.layout == first.layout && table.tasks == first.tasks, "split \(name) differs in layout or tasks")
            let fields = table.layout.vocabularySizes.count
            try write(array(table.ids, descriptor: "<i4", shape: [table.rowCount, fields]), "\(name)_ids.npy")
            try write(array(table.numeric, descriptor: "<f4", shape: [table.rowCount, table.layout.numericCount]), "\(name)_numeric.npy")
            try write(array(table.labels, descriptor: "<f4", shape: [table.rowCount, table.tasks.count]), "\(name)_labels.npy")
        }
        struct Meta: Encodable { var layout: FeatureLayout; var tasks: [TaskSpec]; var splits: [String] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(encoder.encode(Meta(layout: first.layout, tasks: first.tasks, splits: splits.keys.sorted())), "meta.json")
    }

    /// The bytes of a version-1.0 `.npy` file holding `values` (little-endian) with `shape`.
    public static func array<Element>(_ values: [Element], descriptor: String, shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }
}
