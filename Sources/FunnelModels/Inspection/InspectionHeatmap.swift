import FunnelCore
import FunnelData

/// One table of learned weights a person can read as a heat map: gate weights per task × expert, pattern
/// selection per task × pattern, SE weights per block × field, fusion attention per task × source. Values are
/// means over the inspected rows; nil marks a cell the model does not have (e.g. attention to a later task).
public struct InspectionHeatmap: Codable, Equatable, Sendable {
    /// What the table shows, e.g. "MMoE gate weights".
    public var title: String
    /// What a row is ("task") and what a column is ("expert").
    public var rowAxis: String, columnAxis: String
    public var rows: [String], columns: [String]
    /// `values[row][column]`.
    public var values: [[Double?]]

    public init(title: String, rowAxis: String, columnAxis: String, rows: [String], columns: [String], values: [[Double?]]) {
        precondition(values.count == rows.count && values.allSatisfy { $0.count == columns.count },
                     "heat map '\(title)': \(values.count) rows for \(rows.count) labels")
        self.title = title
        self.rowAxis = rowAxis
        self.columnAxis = columnAxis
        self.rows = rows
        self.columns = columns
        self.values = values
    }
}

extension Tensor {
    /// Mean of every column of a `[rows, n]` tensor, in Float64.
    var columnMeans: [Double] {
        let (rows, n) = (shape[0], shape[1])
        var sums = [Double](repeating: 0, count: n)
        for i in 0..<rows { for j in 0..<n { sums[j] += Double(pointer[i * n + j]) } }
        return sums.map { $0 / Double(max(rows, 1)) }
    }
}

/// Column labels `prefix0`, `prefix1`, ….
func numberedLabels(_ prefix: String, _ count: Int) -> [String] { (0..<count).map { "\(prefix)\($0)" } }
