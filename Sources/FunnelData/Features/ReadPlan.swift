/// A schema resolved against a file's columns: which column each feature, label and meta value reads, and how
/// it is extracted from a record's bytes. Shared by batch reading (`RawTable`) and single-row serving
/// (`FeatureMap.encodeRow`), so both interpret text identically.
struct ReadPlan {
    struct CategoricalSlot: Equatable {
        var column: Int
        /// Vocabulary group (the feature owning the vocabulary).
        var group: Int
        /// Missing tokens become the out-of-vocabulary id instead of a category.
        var missingIsUnknown: Bool
    }

    struct NumericSlot: Equatable {
        var column: Int
        /// Whether a missing value is allowed (a fill value or bucket 0 exists); otherwise it is a bad row.
        var missingAllowed: Bool
    }

    struct TokenSlot: Equatable {
        var column: Int
        var group: Int
        var separator: UInt8
        var maxLength: Int?
        var keepLast: Bool
    }

    /// Where a feature's raw values are.
    enum Source { case categorical(Int), numeric(Int), tokens(Int) }

    struct LabelPlan {
        var task: String
        var kind: TaskKind
        var column: Int
        var positive: ByteInterner?
        var negative: ByteInterner?
        var greaterThan: Double?
        var fillNA: Double?
        var parent: Int?
        var nesting: TaskSchema.Nesting
        var weightColumn: Int?
        /// The smallest label the task's loss and target transform accept (ZILN and `log1p` need amounts ≥ 0).
        var minimum: Float?
        /// The label comes from `positive` (and `negative`) value sets.
        var isTextual: Bool { positive != nil }
        /// Text in neither set is a bad row.
        var isStrict: Bool { negative != nil }
    }

    let schema: DatasetSchema
    /// Column names in file order (may be empty for a headerless file addressed by position).
    let columnNames: [String]
    let columnCount: Int
    /// Group index → name of the feature owning the vocabulary.
    private(set) var groups: [String] = []
    private(set) var categorical: [CategoricalSlot] = []
    private(set) var numeric: [NumericSlot] = []
    private(set) var tokens: [TokenSlot] = []
    /// One per schema feature, in order.
    private(set) var sources: [Source] = []
    private(set) var labels: [LabelPlan] = []
    private(set) var groupColumn: Int?
    /// The numeric or categorical slot the split's divide column reads.
    private(set) var splitSource: Source?
    private let missingTokens: ByteInterner

    init(schema: DatasetSchema, header: [String]?, fieldCount: Int?) throws {
        self.schema = schema
        let name = schema.name
        if let columns = schema.columns, let header, columns.count != header.count {
            throw DataError.schema(name, "`columns` lists \(columns.count) names but the header has \(header.count)")
        }
        columnNames = schema.columns ?? header ?? []
        guard let count = columnNames.isEmpty ? fieldCount : columnNames.count else {
            throw DataError.schema(name, "no columns: the file is empty")
        }
        columnCount = count
        var missing = ByteInterner()
        for token in schema.format.missingValues { missing.intern(token) }
        missingTokens = missing
        let names = columnNames
        let resolve = { (reference: ColumnReference, user: String) in
            try reference.resolve(in: names, count: count, schema: name, usedBy: user)
        }
        for feature in schema.features {
            let column = try resolve(feature.column, "feature '\(feature.name)'")
            switch feature.kind {
            case .categorical:
                let slot = CategoricalSlot(column: column, group: group(of: feature), missingIsUnknown: feature.missing == .outOfVocabulary)
                sources.append(.categorical(categoricalSlot(slot)))
            case .numeric:
                sources.append(.numeric(numericSlot(column, missingAllowed: feature.fillNA != nil || feature.isBucketized)))
            case .multiValued:
                tokens.append(TokenSlot(column: column, group: group(of: feature), separator: feature.separator.utf8.first!,
                                        maxLength: feature.maxLength, keepLast: feature.keep == .last))
                sources.append(.tokens(tokens.count - 1))
            }
        }
        let taskNames = schema.tasks.map(\.name)
        for task in schema.tasks {
            let rule = task.label
            let column = try resolve(rule.column, "task '\(task.name)'")
            let weightColumn = try (task.sampleWeight ?? schema.sampleWeight).map { try resolve($0, "sample weight of task '\(task.name)'") }
            labels.append(LabelPlan(
                task: task.name, kind: task.kind, column: column, positive: rule.positive.map(Self.set),
                negative: rule.negative.map(Self.set), greaterThan: rule.greaterThan, fillNA: rule.fillNA,
                parent: task.parent.flatMap { taskNames.firstIndex(of: $0) }, nesting: task.nesting, weightColumn: weightColumn,
                minimum: task.loss == "ziln" || [.log1p, .log1pStandardize].contains(task.targetTransform) ? 0 : nil))
        }
        groupColumn = try schema.group.map { try resolve($0, "group") }
        if let divide = schema.split?.divide, let reference = divide.column {
            let column = try resolve(reference, "split.divide")
            switch divide.method {
            case .chronological: splitSource = .numeric(numericSlot(column, missingAllowed: false))
            case .column:
                groups.append("split:\(column)")
                splitSource = .categorical(categoricalSlot(CategoricalSlot(column: column, group: groups.count - 1, missingIsUnknown: false)))
            case .random: break
            }
        }
    }

    /// The vocabulary group of a categorical or multi-valued feature (its own, or the one it shares).
    private mutating func group(of feature: FeatureSchema) -> Int {
        let owner = feature.shareEmbedding ?? feature.name
        if let index = groups.firstIndex(of: owner) { return index }
        groups.append(owner)
        return groups.count - 1
    }

    private mutating func categoricalSlot(_ slot: CategoricalSlot) -> Int {
        if let index = categorical.firstIndex(of: slot) { return index }
        categorical.append(slot)
        return categorical.count - 1
    }

    private mutating func numericSlot(_ column: Int, missingAllowed: Bool) -> Int {
        if let index = numeric.firstIndex(where: { $0.column == column }) {
            numeric[index].missingAllowed = numeric[index].missingAllowed && missingAllowed
            return index
        }
        numeric.append(NumericSlot(column: column, missingAllowed: missingAllowed))
        return numeric.count - 1
    }

    private static func set(_ values: [String]) -> ByteInterner {
        var set = ByteInterner()
        for value in values { set.intern(value) }
        return set
    }

    /// The column schema feature `f` reads.
    func column(ofFeature f: Int) -> Int {
        switch sources[f] {
        case .categorical(let s): return categorical[s].column
        case .numeric(let s): return numeric[s].column
        case .tokens(let s): return tokens[s].column
        }
    }

    /// The name of column `index` for messages, or nil.
    func columnName(_ index: Int) -> String? { index < columnNames.count ? columnNames[index] : nil }

    /// Whether `bytes` is one of the dialect's missing-value tokens.
    @inline(__always)
    func isMissing(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { missingTokens.index(of: bytes) != nil }

    /// The number in `bytes`, NaN when missing and allowed; throws a located error otherwise.
    @inline(__always)
    func number(_ bytes: UnsafeBufferPointer<UInt8>, column: Int, missingAllowed: Bool, file: String, line: Int) throws -> Double {
        if let value = NumberParser.parse(bytes) { return value }
        if isMissing(bytes) {
            if missingAllowed { return .nan }
            throw DataError(.missingValue, file: file, line: line, column: column, columnName: columnName(column),
                            message: "missing value and no fillNA")
        }
        throw DataError(.number, file: file, line: line, column: column, columnName: columnName(column),
                        message: "cannot parse \"\(String(decoding: bytes, as: UTF8.self))\" as a number")
    }

    /// The labels of one record, in task order (entire-space form: nesting applied and checked).
    func labels(field: (Int) -> UnsafeBufferPointer<UInt8>, file: String, line: Int, into out: inout [Float]) throws {
        // Indexing `labels[t]` in place (no copies of the value sets) keeps this per-row loop free of retains.
        for t in labels.indices {
            let column = labels[t].column
            let bytes = field(column)
            func located(_ kind: DataError.Kind, _ message: String) -> DataError {
                DataError(kind, file: file, line: line, column: column, columnName: columnName(column), message: message)
            }
            var value: Float
            if labels[t].isTextual {
                if labels[t].positive!.index(of: bytes) != nil {
                    value = 1
                } else if labels[t].isStrict && labels[t].negative!.index(of: bytes) == nil {
                    if isMissing(bytes), let fill = labels[t].fillNA { value = Float(fill) } else {
                        throw located(.label, "\"\(String(decoding: bytes, as: UTF8.self))\" is neither a positive nor a negative value of task '\(labels[t].task)'")
                    }
                } else {
                    value = 0
                }
            } else {
                let number: Double
                if let parsed = NumberParser.parse(bytes) {
                    number = parsed
                } else if isMissing(bytes) {
                    guard let fill = labels[t].fillNA else { throw located(.missingValue, "missing label of task '\(labels[t].task)' and no fillNA") }
                    number = fill
                } else {
                    throw located(.number, "cannot parse \"\(String(decoding: bytes, as: UTF8.self))\" as a number")
                }
                if let threshold = labels[t].greaterThan {
                    value = number > threshold ? 1 : 0
                } else {
                    value = Float(number)
                    if labels[t].kind == .binary && value != 0 && value != 1 {
                        throw located(.label, "label of binary task '\(labels[t].task)' must be 0 or 1, found \(String(decoding: bytes, as: UTF8.self))")
                    }
                    if !value.isFinite {
                        throw located(.label, "label of task '\(labels[t].task)' is \(number), beyond the 32-bit float range")
                    }
                    if let minimum = labels[t].minimum, value < minimum {
                        throw located(.label, "label of task '\(labels[t].task)' must be ≥ \(minimum) for its loss or transform (ziln, log1p), "
                                      + "found \(String(decoding: bytes, as: UTF8.self))")
                    }
                }
            }
            if let parent = labels[t].parent, out[parent] == 0 {
                if labels[t].nesting == .product {
                    value = 0
                } else if value != 0 {
                    throw located(.funnel, "task '\(labels[t].task)' is \(value) where its parent '\(labels[parent].task)' is 0")
                }
            }
            out[t] = value
        }
    }

    /// Sample weight of each task for one record (1 where a task has no weight column).
    func weights(field: (Int) -> UnsafeBufferPointer<UInt8>, file: String, line: Int, into out: inout [Float]) throws {
        for (t, plan) in labels.enumerated() {
            guard let column = plan.weightColumn else { out[t] = 1; continue }
            let weight = try number(field(column), column: column, missingAllowed: false, file: file, line: line)
            guard weight >= 0 else {
                throw DataError(.weight, file: file, line: line, column: column, columnName: columnName(column),
                                message: "negative sample weight \(weight)")
            }
            out[t] = Float(weight)
        }
    }

    /// Whether any task has a sample-weight column.
    var hasWeights: Bool { labels.contains { $0.weightColumn != nil } }

    /// The group id of a record: the integer itself, or the FNV-1a hash of the text.
    func groupID(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        if let value = NumberParser.parse(bytes), value == value.rounded(), abs(value) < 9e15 { return Int64(value) }
        return Int64(bitPattern: fnv1a64(bytes))
    }

    /// The tokens of a multi-valued field: split on the separator, empty and missing tokens dropped, `maxLength`
    /// kept from the start or the end.
    func tokens(_ bytes: UnsafeBufferPointer<UInt8>, slot: TokenSlot, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard bytes.count > 0 else { return }
        let limit = slot.maxLength ?? .max
        if slot.keepLast && limit < .max {
            var pieces: [UnsafeBufferPointer<UInt8>] = []
            splitTokens(bytes, slot.separator) { pieces.append($0); return true }
            for piece in pieces.suffix(limit) { body(piece) }
        } else {
            var kept = 0
            splitTokens(bytes, slot.separator) { piece in
                body(piece)
                kept += 1
                return kept < limit
            }
        }
    }

    /// Calls `body` with each non-empty, non-missing piece of `bytes` between separators while it returns true.
    private func splitTokens(_ bytes: UnsafeBufferPointer<UInt8>, _ separator: UInt8, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) {
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == separator {
            let piece = UnsafeBufferPointer(rebasing: bytes[start..<i])
            start = i + 1
            if piece.count > 0 && !isMissing(piece) && !body(piece) { return }
        }
    }
}
