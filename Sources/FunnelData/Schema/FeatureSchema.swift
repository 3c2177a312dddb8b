/// One input feature of a dataset schema: which column it reads and how it becomes model input.
///
/// - `categorical`: a vocabulary fitted on the training split (values seen at least `minCount` times, at most
///   `maxVocabulary` of them, most frequent first, ties in byte order) gives ids 1…V; id 0 is out-of-vocabulary.
///   With `hashBuckets: N`, no vocabulary: id = 1 + FNV-1a-64(value) mod N.
/// - `numeric`: `fillNA` for missing values, then `transform`. With `buckets: N` (training quantiles) or
///   `boundaries`, the value becomes a categorical field instead: id 1 + (number of edges ≤ value); 0 = missing.
/// - `multiValued` (multi-hot or sequence): the field splits on `separator`, keeps `maxLength` tokens, maps them
///   through a vocabulary like `categorical` (0 = unknown token, dropped from the pool) and is pooled by `pooling`.
///
/// `embeddingSize` overrides the model's width for this field; `shareEmbedding: other` makes this feature use
/// `other`'s vocabulary (fitted over both columns) and embedding table.
public struct FeatureSchema: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case categorical, numeric, multiValued }

    /// What a missing categorical value (a dialect `missingValues` token) becomes.
    public enum MissingCategory: String, Codable, Sendable {
        /// The missing token is a category like any other (`?` in Census-Income) (default).
        case value
        /// The out-of-vocabulary id 0.
        case outOfVocabulary
    }

    /// Which tokens a multi-valued field keeps when it has more than `maxLength`.
    public enum Keep: String, Codable, Sendable { case first, last }

    public var name: String
    public var column: ColumnReference
    public var kind: Kind
    public var minCount: Int
    public var maxVocabulary: Int?
    public var hashBuckets: Int?
    public var missing: MissingCategory
    public var fillNA: FillValue?
    public var transform: NumericTransform
    public var buckets: Int?
    public var boundaries: [Double]?
    public var separator: String
    public var maxLength: Int?
    public var keep: Keep
    public var pooling: MultiValuedField.Pooling
    public var embeddingSize: Int?
    public var shareEmbedding: String?

    public init(name: String, column: ColumnReference? = nil, kind: Kind, minCount: Int = 1, maxVocabulary: Int? = nil,
                hashBuckets: Int? = nil, missing: MissingCategory = .value, fillNA: FillValue? = nil,
                transform: NumericTransform = .none, buckets: Int? = nil, boundaries: [Double]? = nil,
                separator: String = "|", maxLength: Int? = nil, keep: Keep = .first,
                pooling: MultiValuedField.Pooling = .mean, embeddingSize: Int? = nil, shareEmbedding: String? = nil) {
        self.name = name
        self.column = column ?? .name(name)
        self.kind = kind
        self.minCount = minCount
        self.maxVocabulary = maxVocabulary
        self.hashBuckets = hashBuckets
        self.missing = missing
        self.fillNA = fillNA
        self.transform = transform
        self.buckets = buckets
        self.boundaries = boundaries
        self.separator = separator
        self.maxLength = maxLength
        self.keep = keep
        self.pooling = pooling
        self.embeddingSize = embeddingSize
        self.shareEmbedding = shareEmbedding
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, column, kind, minCount, maxVocabulary, hashBuckets, missing, fillNA, transform, buckets, boundaries
        case separator, maxLength, keep, pooling, embeddingSize, shareEmbedding
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        self.init(
            name: name, column: try c.decodeIfPresent(ColumnReference.self, forKey: .column),
            kind: try c.decode(Kind.self, forKey: .kind), minCount: try c.decodeIfPresent(Int.self, forKey: .minCount) ?? 1,
            maxVocabulary: try c.decodeIfPresent(Int.self, forKey: .maxVocabulary),
            hashBuckets: try c.decodeIfPresent(Int.self, forKey: .hashBuckets),
            missing: try c.decodeIfPresent(MissingCategory.self, forKey: .missing) ?? .value,
            fillNA: try c.decodeIfPresent(FillValue.self, forKey: .fillNA),
            transform: try c.decodeIfPresent(NumericTransform.self, forKey: .transform) ?? .none,
            buckets: try c.decodeIfPresent(Int.self, forKey: .buckets),
            boundaries: try c.decodeIfPresent([Double].self, forKey: .boundaries),
            separator: try c.decodeIfPresent(String.self, forKey: .separator) ?? "|",
            maxLength: try c.decodeIfPresent(Int.self, forKey: .maxLength),
            keep: try c.decodeIfPresent(Keep.self, forKey: .keep) ?? .first,
            pooling: try c.decodeIfPresent(MultiValuedField.Pooling.self, forKey: .pooling) ?? .mean,
            embeddingSize: try c.decodeIfPresent(Int.self, forKey: .embeddingSize),
            shareEmbedding: try c.decodeIfPresent(String.self, forKey: .shareEmbedding))
    }

    /// Whether this feature becomes one single-valued categorical field (categorical, or bucketized numeric).
    var isCategoricalField: Bool { kind == .categorical || (kind == .numeric && isBucketized) }
    var isBucketized: Bool { buckets != nil || boundaries != nil }
    /// Whether this feature needs a vocabulary fitted from data.
    var needsVocabulary: Bool { (kind == .categorical || kind == .multiValued) && hashBuckets == nil }

    func validate(schema: String) throws {
        let me = "feature '\(name)'"
        guard minCount >= 1 else { throw DataError.schema(schema, "\(me): minCount must be ≥ 1") }
        if let maxVocabulary, maxVocabulary < 1 { throw DataError.schema(schema, "\(me): maxVocabulary must be ≥ 1") }
        if let hashBuckets, hashBuckets < 1 { throw DataError.schema(schema, "\(me): hashBuckets must be ≥ 1") }
        if let buckets, buckets < 2 { throw DataError.schema(schema, "\(me): buckets must be ≥ 2") }
        if let boundaries, boundaries != boundaries.sorted() || Set(boundaries).count != boundaries.count {
            throw DataError.schema(schema, "\(me): boundaries must be strictly increasing")
        }
        if buckets != nil && boundaries != nil { throw DataError.schema(schema, "\(me): give buckets or boundaries, not both") }
        if let maxLength, maxLength < 1 { throw DataError.schema(schema, "\(me): maxLength must be ≥ 1") }
        if let embeddingSize, embeddingSize < 1 { throw DataError.schema(schema, "\(me): embeddingSize must be ≥ 1") }
        if kind == .multiValued && separator.utf8.count != 1 {
            throw DataError.schema(schema, "\(me): separator must be one byte")
        }
        if kind != .numeric && (fillNA != nil || transform != .none || isBucketized) {
            throw DataError.schema(schema, "\(me): fillNA, transform, buckets and boundaries apply to numeric features only")
        }
        if kind == .numeric && (hashBuckets != nil || shareEmbedding != nil) {
            throw DataError.schema(schema, "\(me): hashBuckets and shareEmbedding apply to categorical and multi-valued features only")
        }
    }
}

/// The value a missing numeric entry takes: a constant, or the training split's mean or median.
public enum FillValue: Codable, Equatable, Sendable {
    case value(Double)
    case mean
    case median

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .value(number)
            return
        }
        switch try container.decode(String.self) {
        case "mean": self = .mean
        case "median": self = .median
        case let other:
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "fillNA must be a number, mean or median, not '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .value(let number): try container.encode(number)
        case .mean: try container.encode("mean")
        case .median: try container.encode("median")
        }
    }
}

/// The transform of a numeric feature, fitted on the training split: `t = (g(x) − shift) / scale`.
public enum NumericTransform: String, Codable, Sendable {
    /// g(x) = x, no scaling.
    case none
    /// g(x) = x; shift = mean, scale = population standard deviation (1 when it is 0).
    case standardize
    /// g(x) = sign(x)·log(1 + |x|) (log1p for x ≥ 0, mirrored for negatives); no scaling.
    case log1p
    /// As `log1p`, then standardized.
    case log1pStandardize
    /// g(x) = x; shift = min, scale = max − min (1 when it is 0): training values map to [0, 1].
    case minMax
}
