import Foundation
import FunnelCore

/// What fitting learned about one feature on the training split.
public struct FittedFeature: Codable, Equatable, Sendable {
    /// The kind of model input the feature becomes.
    public enum Output: String, Codable, Sendable { case categorical, multiValued, numeric }

    public var name: String
    public var output: Output
    /// Position among the layout's fields of the same output (categorical field, multi-valued field, numeric column).
    public var index: Int
    /// Number of ids, 0 included (`V_f`), for categorical and multi-valued outputs.
    public var cardinality: Int?
    /// Fitted vocabulary: the value of id k is `vocabulary[k − 1]`; id 0 is out-of-vocabulary.
    public var vocabulary: [String]?
    /// The feature whose vocabulary (and embedding table) this one uses.
    public var sharesVocabularyOf: String?
    /// id = 1 + FNV-1a-64(value) mod `hashBuckets`.
    public var hashBuckets: Int?
    /// Bucket edges: id = 1 + number of edges ≤ value; 0 for a missing value.
    public var edges: [Double]?
    /// The value a missing entry takes before the transform (or bucketing).
    public var fill: Double?
    public var transform: NumericTransform?
    /// `t = (g(x) − shift) / scale`.
    public var shift: Double?
    public var scale: Double?
}

/// One row encoded for a model: what `FeatureMap.encodeRow` returns to a server.
public struct EncodedRow: Equatable, Sendable {
    /// One id per categorical field, `[F_cat]`.
    public var ids: [Int32]
    /// One id list per multi-valued field (0 = unknown token, excluded from pooling).
    public var multiValued: [[Int32]]
    /// `[numericCount]`, transformed.
    public var numeric: [Float]
}

/// The fitted feature processing of a dataset: vocabularies, statistics and bucket edges learned on the training
/// split, with the schema they came from. Saved as JSON (sorted keys) and applied identically to training,
/// evaluation and serving data: batch encoding and `encodeRow` call the same per-value functions
/// (`categoricalID`, `numericValue`, `bucketID`) and the same `ReadPlan` text rules. Unseen categories get id 0.
public struct FeatureMap: Codable {
    public static let currentVersion = 1
    public var version: Int
    public var schema: DatasetSchema
    /// Column names in file order as resolved when fitting (from `columns` or the header).
    public var columnNames: [String]
    public var columnCount: Int
    /// One per schema feature, in schema order.
    public var features: [FittedFeature]
    public var layout: FeatureLayout
    public var tasks: [TaskSpec]
    /// Per feature, the lookup of its (own or shared) vocabulary.
    private var lookups: [ByteInterner?] = []
    let plan: ReadPlan

    enum CodingKeys: String, CodingKey { case version, schema, columnNames, columnCount, features, layout, tasks }

    init(schema: DatasetSchema, plan: ReadPlan, features: [FittedFeature], layout: FeatureLayout, tasks: [TaskSpec]) {
        version = Self.currentVersion
        self.schema = schema
        self.plan = plan
        columnNames = plan.columnNames
        columnCount = plan.columnCount
        self.features = features
        self.layout = layout
        self.tasks = tasks
        lookups = Self.lookups(features)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        guard version == Self.currentVersion else {
            throw DataError.schema("feature map", "version \(version) is not supported (expected \(Self.currentVersion))")
        }
        schema = try c.decode(DatasetSchema.self, forKey: .schema)
        columnNames = try c.decode([String].self, forKey: .columnNames)
        columnCount = try c.decode(Int.self, forKey: .columnCount)
        features = try c.decode([FittedFeature].self, forKey: .features)
        layout = try c.decode(FeatureLayout.self, forKey: .layout)
        tasks = try c.decode([TaskSpec].self, forKey: .tasks)
        plan = try ReadPlan(schema: schema, header: columnNames.isEmpty ? nil : columnNames, fieldCount: columnCount)
        guard features.count == schema.features.count else {
            throw DataError.schema(schema.name, "feature map has \(features.count) features, its schema \(schema.features.count)")
        }
        lookups = Self.lookups(features)
    }

    private static func lookups(_ features: [FittedFeature]) -> [ByteInterner?] {
        let own = features.map { feature in
            feature.vocabulary.map { values -> ByteInterner in
                var lookup = ByteInterner(capacity: values.count)
                for value in values { lookup.intern(value) }
                return lookup
            }
        }
        return features.indices.map { f in
            features[f].sharesVocabularyOf.flatMap { owner in features.firstIndex { $0.name == owner }.flatMap { own[$0] } } ?? own[f]
        }
    }

    /// Writes the map as JSON with sorted keys, through an `OutputFile`: an existing file is replaced when it is a
    /// feature map (Funnel's own artifact) or with `overwrite`.
    public func save(to url: URL, overwrite: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let ownArtifact = FileManager.default.fileExists(atPath: url.path) && (try? FeatureMap.load(from: url)) != nil
        try OutputFile.write(encoder.encode(self), to: url, overwrite: overwrite || ownArtifact)
    }

    /// Reads a map written by `save(to:)`.
    public static func load(from url: URL) throws -> FeatureMap {
        try JSONDecoder().decode(FeatureMap.self, from: Data(contentsOf: url))
    }

    // MARK: Per-value encoding, shared by batch and single-row encoding

    /// The id of categorical or multi-valued feature `f` for the text `bytes`: its vocabulary id, 0 when unseen,
    /// or its hash bucket.
    @inline(__always)
    func categoricalID(_ f: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        if let buckets = features[f].hashBuckets { return Int32(1 + fnv1a64(bytes) % UInt64(buckets)) }
        return lookups[f]?.index(of: bytes).map { $0 + 1 } ?? 0
    }

    /// The model input of numeric feature `f` for the raw number `raw` (NaN when missing).
    @inline(__always)
    func numericValue(_ f: Int, _ raw: Double) -> Float {
        // Stored properties read in place: binding `features[f]` would copy (and retain) its arrays per value.
        var x = raw.isNaN ? features[f].fill ?? .nan : raw
        if features[f].transform == .log1p || features[f].transform == .log1pStandardize { x = signedLog1p(x) }
        return Float((x - (features[f].shift ?? 0)) / (features[f].scale ?? 1))
    }

    /// The bucket id of bucketized feature `f` for `raw` (NaN when missing: the fill value's bucket, or 0).
    @inline(__always)
    func bucketID(_ f: Int, _ raw: Double) -> Int32 {
        let x = raw.isNaN ? features[f].fill ?? .nan : raw
        guard !x.isNaN, let count = features[f].edges?.count else { return 0 }
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if features[f].edges![mid] <= x { low = mid + 1 } else { high = mid }
        }
        return Int32(1 + low)
    }

    // MARK: Serving

    /// Encodes one record given as its fields in file column order (what a server receives). Unseen categories
    /// get id 0; an unparsable number or a missing value without fill throws a `DataError` labelled `request`.
    public func encodeRow(_ fields: [String]) throws -> EncodedRow {
        guard fields.count == columnCount else {
            throw DataError(.fieldCount, file: "request", line: 1, message: "expected \(columnCount) fields, found \(fields.count)")
        }
        var bytes: [UInt8] = [], bounds: [Int] = [0]
        for field in fields {
            bytes.append(contentsOf: field.utf8)
            bounds.append(bytes.count)
        }
        return try bytes.withUnsafeBufferPointer { all in
            try encodeRecord { UnsafeBufferPointer(rebasing: all[bounds[$0]..<bounds[$0 + 1]]) }
        }
    }

    /// Encodes one record given by column name; absent columns are missing values.
    public func encodeRow(named values: [String: String]) throws -> EncodedRow {
        guard !columnNames.isEmpty else {
            throw DataError.schema(schema.name, "columns have no names: use encodeRow(_:) with fields in file order")
        }
        let missing = schema.format.missingValues.first ?? ""
        return try encodeRow(columnNames.map { values[$0] ?? missing })
    }

    private func encodeRecord(_ field: (Int) -> UnsafeBufferPointer<UInt8>) throws -> EncodedRow {
        var row = EncodedRow(ids: [Int32](repeating: 0, count: layout.vocabularySizes.count),
                             multiValued: [[Int32]](repeating: [], count: layout.multiValued.count),
                             numeric: [Float](repeating: 0, count: layout.numericCount))
        for (f, source) in plan.sources.enumerated() {
            let index = features[f].index
            switch source {
            case .categorical(let s):
                let slot = plan.categorical[s], bytes = field(slot.column)
                row.ids[index] = slot.missingIsUnknown && plan.isMissing(bytes) ? 0 : categoricalID(f, bytes)
            case .numeric(let s):
                let slot = plan.numeric[s]
                let raw = try plan.number(field(slot.column), column: slot.column, missingAllowed: slot.missingAllowed,
                                          file: "request", line: 1)
                if features[f].output == .categorical { row.ids[index] = bucketID(f, raw) } else { row.numeric[index] = numericValue(f, raw) }
            case .tokens(let s):
                plan.tokens(field(plan.tokens[s].column), slot: plan.tokens[s]) { row.multiValued[index].append(categoricalID(f, $0)) }
            }
        }
        return row
    }

    /// A batch of served rows (labels zero, no masks), ready for a model's forward pass.
    public func batch(_ rows: [EncodedRow]) -> Batch {
        let width = layout.numericCount
        let numeric = width > 0 ? Tensor(shape: [rows.count, width], values: rows.flatMap(\.numeric)) : nil
        let bags = layout.multiValued.indices.map { m -> MultiValuedIDs in
            var offsets: [Int32] = [0], ids: [Int32] = []
            for row in rows {
                ids.append(contentsOf: row.multiValued[m])
                offsets.append(Int32(ids.count))
            }
            return MultiValuedIDs(offsets: offsets, ids: ids)
        }
        return Batch(count: rows.count, ids: rows.flatMap(\.ids), multiValued: bags, numeric: numeric,
                     labels: Tensor(repeating: 0, shape: [rows.count, tasks.count]))
    }
}

/// sign(x)·log(1 + |x|): `log1p` for x ≥ 0, mirrored for negatives so no input becomes NaN.
@inline(__always)
func signedLog1p(_ x: Double) -> Double { x < 0 ? -Foundation.log1p(-x) : Foundation.log1p(x) }
