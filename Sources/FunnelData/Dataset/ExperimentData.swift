import Foundation

/// The three splits an experiment trains, early-stops and tests on, whichever way they were made: a schema read
/// through the ingestion path (`PreparedDataset`) or a built-in synthetic generator (`SyntheticRecipe`).
public struct ExperimentData {
    /// Where the data came from, as a run file records it.
    public enum Source: Equatable, Sendable {
        /// A dataset schema (its path).
        case schema(String)
        case synthetic(SyntheticRecipe)
    }

    public var train: EncodedTable
    public var validation: EncodedTable
    public var test: EncodedTable
    /// The fitted feature map (schema data only): what serving needs to encode raw rows.
    public var featureMap: FeatureMap?
    public var source: Source
    /// A human-readable description (split sizes and label rates, or the generator's statistics).
    public var summary: String

    public init(train: EncodedTable, validation: EncodedTable, test: EncodedTable, featureMap: FeatureMap?, source: Source,
                summary: String) {
        self.train = train
        self.validation = validation
        self.test = test
        self.featureMap = featureMap
        self.source = source
        self.summary = summary
    }

    /// The tasks of the data, in label-column order.
    public var tasks: [TaskSpec] { train.tasks }
    /// The model input layout.
    public var layout: FeatureLayout { train.layout }

    /// A prepared schema dataset.
    public init(prepared: PreparedDataset, schemaPath: String) {
        self.init(train: prepared.train, validation: prepared.validation, test: prepared.test, featureMap: prepared.featureMap,
                  source: .schema(schemaPath), summary: prepared.summary)
    }
}

/// Which data a run uses, as a run file states it: `schema: recipes/x.yaml` (with an optional `dataDir`), or
/// `synthetic: {generator: funnel, rows: 50000, seed: 0}`. Exactly one of the two.
public struct DataSpecification: Codable, Equatable, Sendable {
    /// Path of a dataset schema (YAML or JSON); relative paths resolve against the run file's folder.
    public var schema: String?
    /// Directory the schema's file names resolve against (default: the schema's folder).
    public var dataDirectory: String?
    public var synthetic: SyntheticRecipe?

    public init(schema: String? = nil, dataDirectory: String? = nil, synthetic: SyntheticRecipe? = nil) {
        self.schema = schema
        self.dataDirectory = dataDirectory
        self.synthetic = synthetic
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, dataDirectory = "dataDir", synthetic
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(schema: try c.decodeIfPresent(String.self, forKey: .schema),
                  dataDirectory: try c.decodeIfPresent(String.self, forKey: .dataDirectory),
                  synthetic: try c.decodeIfPresent(SyntheticRecipe.self, forKey: .synthetic))
    }

    /// Reads or generates the data. Relative `schema` and `dataDir` paths resolve against `base` (nil: the
    /// current directory).
    public func load(relativeTo base: URL? = nil, badRows: BadRowPolicy? = nil) throws -> ExperimentData {
        switch (schema, synthetic) {
        case let (path?, nil):
            let schemaURL = Self.resolve(path, against: base)
            let options = PreparedDataset.Options(dataDirectory: dataDirectory.map { Self.resolve($0, against: base) }, badRows: badRows)
            return ExperimentData(prepared: try PreparedDataset.load(schemaURL: schemaURL, options: options), schemaPath: schemaURL.path)
        case let (nil, recipe?):
            return try recipe.makeData()
        default:
            throw DataError.schema("data", "give exactly one of `schema` (a dataset schema file) and `synthetic` (a generator)")
        }
    }

    private static func resolve(_ path: String, against base: URL?) -> URL {
        if path.hasPrefix("/") || base == nil { return URL(fileURLWithPath: path) }
        return base!.appendingPathComponent(path)
    }
}
