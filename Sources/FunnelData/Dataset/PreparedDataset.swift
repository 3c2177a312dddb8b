import Foundation

/// A dataset ready for training: train / validation / test tables encoded by one feature map fitted on the
/// training rows only.
///
/// ```swift
/// let data = try PreparedDataset.load(schemaURL: URL(fileURLWithPath: "recipes/census-income-mmoe.yaml"),
///                                     options: .init(dataDirectory: URL(fileURLWithPath: "/data")))
/// try data.featureMap.save(to: URL(fileURLWithPath: "census.features.json"))
/// ```
public struct PreparedDataset {
    public var train: EncodedTable
    public var validation: EncodedTable
    public var test: EncodedTable
    public var featureMap: FeatureMap
    /// Rows skipped under `BadRowPolicy.skip`.
    public var skipped: BadRowReport
    /// Rows a column split assigned to no role.
    public var droppedBySplit: Int
    /// Seconds spent reading and parsing, fitting, and encoding.
    public var timings: (read: Double, fit: Double, encode: Double)

    public struct Options {
        /// Where relative file names of the schema are resolved (default: the schema file's directory).
        public var dataDirectory: URL?
        /// Overrides the schema's `badRows`.
        public var badRows: BadRowPolicy?

        public init(dataDirectory: URL? = nil, badRows: BadRowPolicy? = nil) {
            self.dataDirectory = dataDirectory
            self.badRows = badRows
        }
    }

    /// Loads the schema at `schemaURL` and prepares its dataset.
    public static func load(schemaURL: URL, options: Options = Options()) throws -> PreparedDataset {
        let schema = try DatasetSchema.load(from: schemaURL)
        var options = options
        if options.dataDirectory == nil { options.dataDirectory = schemaURL.deletingLastPathComponent() }
        return try prepare(schema, options: options)
    }

    /// Reads every file of `schema`, splits the rows, fits the feature map on the training rows and encodes the
    /// three parts.
    public static func prepare(_ schema: DatasetSchema, options: Options = Options()) throws -> PreparedDataset {
        try schema.validate()
        let directory = options.dataDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var start = now()
        let raw = try RawTable.read(schema: schema, files: schema.files, directory: directory, badRows: options.badRows)
        let read = now() - start
        let (rows, dropped) = try DatasetSplit.assign(raw, split: schema.split)
        start = now()
        let map = try FeatureMap.fit(raw, rows: rows[.train]!)
        let fit = now() - start
        start = now()
        let parts = SplitRole.allCases.map { map.encode(raw, rows: rows[$0]!) }
        return PreparedDataset(train: parts[0], validation: parts[1], test: parts[2], featureMap: map, skipped: raw.report,
                               droppedBySplit: dropped, timings: (read, fit, now() - start))
    }

    private static func now() -> Double { Date().timeIntervalSinceReferenceDate }
}

extension RawTable {
    /// Reads `files` (resolved against `directory` unless absolute) under `schema`.
    public static func read(schema: DatasetSchema, files: [String], directory: URL, badRows: BadRowPolicy? = nil) throws -> RawTable {
        try schema.validate()
        var table: RawTable?
        for file in files {
            let path = file.hasPrefix("/") ? file : directory.appendingPathComponent(file).path
            let reader = try CSVReader(path: path, dialect: schema.format, badRows: badRows ?? schema.badRows)
            if table == nil {
                table = RawTable(plan: try ReadPlan(schema: schema, header: reader.header, fieldCount: try reader.peekFieldCount()))
            } else if let header = reader.header, !table!.plan.columnNames.isEmpty, schema.columns == nil, header != table!.plan.columnNames {
                throw DataError.schema(schema.name, "\(file): header differs from the first file's")
            }
            try table!.read(reader, entry: file)
        }
        guard let table else { throw DataError.schema(schema.name, "no files") }
        return table
    }
}
