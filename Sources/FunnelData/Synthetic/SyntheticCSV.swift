import Foundation

/// One column of a generator's CSV export: a header name and the text of row `r`.
struct CSVColumn {
    let name: String
    let text: (Int) -> String

    /// Integers (categorical ids, 0/1 labels).
    static func integers<T: BinaryInteger>(_ name: String, _ values: [T], stride: Int = 1, offset: Int = 0) -> CSVColumn {
        CSVColumn(name: name) { String(values[$0 * stride + offset]) }
    }

    /// Float64 values in Swift's shortest round-trip form (parsing gives back the same Double).
    static func reals(_ name: String, _ values: [Double], stride: Int = 1, offset: Int = 0) -> CSVColumn {
        CSVColumn(name: name) { String(values[$0 * stride + offset]) }
    }
}

/// Writes `rows` rows of `columns` as comma-separated values with a header line (no quoting: names and values
/// never contain commas) through an `OutputFile` (an existing file is replaced only with `overwrite`). Written in
/// chunks, so large datasets stream to disk.
func writeCSV(columns: [CSVColumn], rows: Int, to url: URL, overwrite: Bool) throws {
    precondition(columns.allSatisfy { !$0.name.contains(",") && !$0.name.contains("\"") })
    let handle = try OutputFile(url, overwrite: overwrite)
    var text = columns.map(\.name).joined(separator: ",") + "\n"
    for row in 0..<rows {
        for (i, column) in columns.enumerated() {
            if i > 0 { text += "," }
            text += column.text(row)
        }
        text += "\n"
        if text.utf8.count > 1 << 20 {
            try handle.write(Data(text.utf8))
            text = ""
        }
    }
    try handle.write(Data(text.utf8))
    try handle.commit()
}
