import FunnelData

/// The data a run used, for its report: a description and, per split, the row count and each task's mean label
/// over all rows (the entire-space positive rate of a binary task, the mean value of a continuous one).
public struct DataSummary: Codable, Equatable, Sendable {
    public struct Split: Codable, Equatable, Sendable {
        public var name: String
        public var rows: Int
        /// Task name → mean label.
        public var labelMeans: [String: Double]
    }

    public var description: String
    public var tasks: [String]
    public var splits: [Split]

    /// The summary of an experiment's three splits, described by the first line of its summary.
    public init(_ data: ExperimentData) {
        self.init(description: data.summary.split(separator: "\n").first.map(String.init) ?? "", train: data.train,
                  validation: data.validation, test: data.test)
    }

    public init(description: String, train: EncodedTable, validation: EncodedTable, test: EncodedTable) {
        self.description = description
        tasks = train.tasks.map(\.name)
        splits = [("train", train), ("validation", validation), ("test", test)].map { name, table in
            let width = table.tasks.count
            var sums = [Double](repeating: 0, count: width)
            for row in 0..<table.rowCount { for t in 0..<width { sums[t] += Double(table.labels[row * width + t]) } }
            return Split(name: name, rows: table.rowCount, labelMeans: Dictionary(uniqueKeysWithValues: zip(
                table.tasks.map(\.name), sums.map { $0 / Double(max(table.rowCount, 1)) })))
        }
    }
}
