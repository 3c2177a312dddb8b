import Foundation
import FunnelData

/// Ingest throughput of the data pipeline on one file under one schema, phase by phase: tokenizing alone
/// (decompression + CSV records), reading into columns (tokenize + intern categorical text + parse numbers +
/// derive labels), fitting the feature map, and encoding every row. Single-threaded.
public struct IngestBenchmark {
    public struct Result {
        /// Uncompressed size of the file, bytes.
        public var bytes: Int
        public var rows: Int
        /// Median seconds per phase.
        public var tokenize: Double
        public var read: Double
        public var fit: Double
        public var encode: Double
        public var peakResidentMiB: Double
        /// Features of the fitted map, fields of the layout.
        public var features: Int
        public var fields: Int

        /// Read + fit: the time to a fitted feature map.
        public var readAndFit: Double { read + fit }
        public var megabytesPerSecond: Double { Double(bytes) / 1e6 / readAndFit }
        public var rowsPerSecond: Double { Double(rows) / readAndFit }
    }

    public let file: URL
    public let schema: DatasetSchema
    public let rounds: Int

    public init(file: URL, schema: DatasetSchema, rounds: Int = 3) {
        self.file = file
        self.schema = schema
        self.rounds = rounds
    }

    public func run() throws -> Result {
        var tokenize: [Double] = [], read: [Double] = [], fit: [Double] = [], encode: [Double] = []
        var bytes = 0, rows = 0, features = 0, fields = 0
        for _ in 0..<max(rounds, 1) {
            var start = Stopwatch.now()
            let reader = try CSVReader(path: file.path, dialect: schema.format)
            var records = 0
            try reader.forEachRecord { _ in records += 1 }
            tokenize.append(Stopwatch.now() - start)
            bytes = reader.bytesRead

            start = Stopwatch.now()
            let raw = try RawTable.read(schema: schema, files: [file.path], directory: file.deletingLastPathComponent())
            read.append(Stopwatch.now() - start)
            rows = raw.rowCount

            start = Stopwatch.now()
            let map = try FeatureMap.fit(raw)
            fit.append(Stopwatch.now() - start)

            start = Stopwatch.now()
            let table = map.encode(raw)
            encode.append(Stopwatch.now() - start)
            precondition(table.rowCount == rows && records == rows, "row counts differ: \(records) / \(rows) / \(table.rowCount)")
            features = map.features.count
            fields = map.layout.fieldCount
        }
        return Result(bytes: bytes, rows: rows, tokenize: Statistics.median(tokenize), read: Statistics.median(read),
                      fit: Statistics.median(fit), encode: Statistics.median(encode),
                      peakResidentMiB: Stopwatch.peakResidentMiB(), features: features, fields: fields)
    }
}
