import Foundation
import Yams

/// A dataset described declaratively: its files and text format, column names, features, tasks (labels and
/// funnel relations), meta columns and split. One YAML or JSON file per dataset; see `recipes/` for examples
/// and `recipes/generic.yaml` for every option with comments.
public struct DatasetSchema: Codable, Equatable, Sendable {
    public var name: String
    public var description: String?
    /// Source files, relative to the data directory (see `PreparedDataset.Options.dataDirectory`). Defaults to
    /// the files listed in `split`.
    public var files: [String]
    public var format: CSVDialect
    /// Column names in file order (required for headerless files that refer to columns by name; replaces the
    /// header's names when both exist).
    public var columns: [String]?
    public var features: [FeatureSchema]
    public var tasks: [TaskSchema]
    /// Column of per-row sample weights, for every task without its own `sampleWeight`.
    public var sampleWeight: ColumnReference?
    /// Column of group ids (user, query) for GAUC: integers are used as they are, other text is hashed
    /// (FNV-1a 64).
    public var group: ColumnReference?
    public var split: SplitSchema?
    /// What to do with a row that cannot be read (default: fail with file, line and column).
    public var badRows: BadRowPolicy

    public init(name: String, description: String? = nil, files: [String], format: CSVDialect = CSVDialect(),
                columns: [String]? = nil, features: [FeatureSchema], tasks: [TaskSchema], sampleWeight: ColumnReference? = nil,
                group: ColumnReference? = nil, split: SplitSchema? = nil, badRows: BadRowPolicy = .fail) {
        self.name = name
        self.description = description
        self.files = files
        self.format = format
        self.columns = columns
        self.features = features
        self.tasks = tasks
        self.sampleWeight = sampleWeight
        self.group = group
        self.split = split
        self.badRows = badRows
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, files, format, columns, features, tasks, sampleWeight, group, split, badRows
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let split = try c.decodeIfPresent(SplitSchema.self, forKey: .split)
        let splitFiles = SplitRole.allCases.flatMap { split?.files(for: $0) ?? [] }
        self.init(
            name: try c.decode(String.self, forKey: .name), description: try c.decodeIfPresent(String.self, forKey: .description),
            files: try c.decodeIfPresent([String].self, forKey: .files) ?? splitFiles,
            format: try c.decodeIfPresent(CSVDialect.self, forKey: .format) ?? CSVDialect(),
            columns: try c.decodeIfPresent([String].self, forKey: .columns),
            features: try c.decode([FeatureSchema].self, forKey: .features), tasks: try c.decode([TaskSchema].self, forKey: .tasks),
            sampleWeight: try c.decodeIfPresent(ColumnReference.self, forKey: .sampleWeight),
            group: try c.decodeIfPresent(ColumnReference.self, forKey: .group), split: split,
            badRows: try c.decodeIfPresent(BadRowPolicy.self, forKey: .badRows) ?? .fail)
    }

    /// Reads a schema from YAML or JSON (JSON when the file ends in `.json` or starts with `{`) and validates it.
    public static func load(from url: URL) throws -> DatasetSchema {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError(.io, file: url.path, message: "cannot read schema: \(ErrorText.describe(error))")
        }
        return try decode(data, name: url.lastPathComponent, json: url.pathExtension.lowercased() == "json")
    }

    /// Decodes and validates a schema from YAML or JSON text; `name` labels errors.
    public static func decode(_ data: Data, name: String, json: Bool? = nil) throws -> DatasetSchema {
        let text = String(decoding: data, as: UTF8.self)
        let isJSON = json ?? text.drop(while: { $0.isWhitespace }).hasPrefix("{")
        let schema: DatasetSchema
        do {
            schema = isJSON ? try JSONDecoder().decode(DatasetSchema.self, from: data) : try YAMLDecoder().decode(DatasetSchema.self, from: text)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.schema(name, ErrorText.describe(error))
        }
        try schema.validate(name: name)
        return schema
    }

    /// The schema as JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Checks everything that does not need the data: unique names, known references, option ranges.
    public func validate(name schemaName: String? = nil) throws {
        let schema = schemaName ?? name
        try format.validate(schemaName: schema)
        guard !files.isEmpty else { throw DataError.schema(schema, "no files (give `files` or files in `split`)") }
        guard !features.isEmpty else { throw DataError.schema(schema, "no features") }
        guard !tasks.isEmpty else { throw DataError.schema(schema, "no tasks") }
        let featureNames = features.map(\.name), taskNames = tasks.map(\.name)
        for (kind, names) in [("feature", featureNames), ("task", taskNames)] {
            if let duplicate = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw DataError.schema(schema, "duplicate \(kind) name '\(duplicate)'")
            }
        }
        for feature in features {
            try feature.validate(schema: schema)
            if let owner = feature.shareEmbedding {
                guard let target = features.first(where: { $0.name == owner }), owner != feature.name else {
                    throw DataError.schema(schema, "feature '\(feature.name)': shareEmbedding names unknown feature '\(owner)'")
                }
                guard target.shareEmbedding == nil, target.kind != .numeric, target.hashBuckets == nil, feature.hashBuckets == nil else {
                    throw DataError.schema(schema, "feature '\(feature.name)': shareEmbedding must name a vocabulary feature that shares no other")
                }
            }
        }
        for (index, task) in tasks.enumerated() {
            _ = try task.taskLoss(schema: schema)
            if let parent = task.parent, !taskNames[..<index].contains(parent) {
                throw DataError.schema(schema, "task '\(task.name)': parent '\(parent)' must be a task listed before it")
            }
            if task.kind == .continuous && (task.label.positive != nil || task.label.greaterThan != nil) {
                throw DataError.schema(schema, "task '\(task.name)': positive and greaterThan make binary labels; the task is continuous")
            }
            if task.label.positive == nil && task.label.negative != nil {
                throw DataError.schema(schema, "task '\(task.name)': negative needs positive")
            }
            for space in [task.lossSpace, task.evaluationSpace ?? .all] {
                if case .whereLabels(let conditions) = space, let unknown = conditions.keys.first(where: { !taskNames.contains($0) }) {
                    throw DataError.schema(schema, "task '\(task.name)': space names unknown task '\(unknown)'")
                }
            }
        }
        if let split {
            for role in SplitRole.allCases {
                for file in split.files(for: role) where !files.contains(file) {
                    throw DataError.schema(schema, "split.\(role.rawValue): '\(file)' is not among the files")
                }
            }
            try split.divide?.validate(schema: schema)
        }
    }

    /// The tasks as `TaskSpec`s (labels named by their source column).
    public func taskSpecs() throws -> [TaskSpec] {
        let order = tasks.map(\.name)
        return try tasks.map { task in
            let lossSpace = task.lossSpace.rule(taskOrder: order)
            let weightColumn = task.sampleWeight ?? sampleWeight
            return TaskSpec(
                name: task.name, kind: task.kind, label: Self.columnLabel(task.label.column, columns: columns), parent: task.parent,
                loss: try task.taskLoss(schema: name), weight: task.weight, reduction: task.reduction, lossSpace: lossSpace,
                evaluationSpace: task.evaluationSpace?.rule(taskOrder: order) ?? lossSpace,
                sampleWeight: weightColumn.map { Self.columnLabel($0, columns: columns) },
                targetTransform: task.targetTransform, metrics: task.metrics)
        }
    }

    private static func columnLabel(_ column: ColumnReference, columns: [String]?) -> String {
        switch column {
        case .name(let name): return name
        case .position(let position): return columns.flatMap { position < $0.count ? $0[position] : nil } ?? "#\(position)"
        }
    }
}
