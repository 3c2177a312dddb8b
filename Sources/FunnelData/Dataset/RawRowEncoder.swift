import Foundation
import FunnelCore

/// Turns rows of a raw CSV file into model batches for scoring: through a fitted `FeatureMap` (`encodeRow`, the
/// serving path, identical to batch encoding), or, for a model trained on a built-in synthetic generator, by
/// reading the generator's raw ids and values (the CSV `funnel synth … --csv` writes) by column name.
/// Label columns are not needed; the batches' labels are zero.
public enum RawRowEncoder {
    case featureMap(FeatureMap)
    /// Categorical columns hold raw ids `0..<V` in layout field order; numeric columns are read as Float64 and
    /// rounded to Float32 (what the generator's table holds).
    case synthetic(categorical: [String], numeric: [String], layout: FeatureLayout, taskCount: Int)

    /// The encoder of a synthetic recipe's rows for `layout` and `taskCount` tasks.
    public static func synthetic(_ recipe: SyntheticRecipe, layout: FeatureLayout, taskCount: Int) -> RawRowEncoder {
        let numericPrefix = recipe.generator == .correlated ? "x" : "dense"
        return .synthetic(categorical: layout.fieldNames.prefix(layout.vocabularySizes.count).map { $0 },
                          numeric: (0..<layout.numericCount).map { "\(numericPrefix)\($0)" }, layout: layout, taskCount: taskCount)
    }

    /// Reads the CSV at `url` and calls `body` with batches of at most `batchSize` rows, in file order, each with
    /// the text of the `passThrough` columns of its rows (`[row][column]`).
    public func forEachBatch(csv url: URL, batchSize: Int = 8192, passThrough: [String] = [],
                             _ body: (Batch, [[String]]) throws -> Void) throws {
        let dialect: CSVDialect
        if case .featureMap(let map) = self { dialect = map.schema.format } else { dialect = CSVDialect() }
        let reader = try CSVReader(path: url.path, dialect: dialect)
        let header = reader.header ?? []
        let position = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        func column(_ name: String) throws -> Int {
            guard let index = position[name] else {
                throw DataError(.schema, file: url.lastPathComponent, message: "no column '\(name)' (columns: \(header.joined(separator: ", ")))")
            }
            return index
        }
        let kept = try passThrough.map(column)
        var rows: [EncodedRow] = [], texts: [[String]] = []
        func flush() throws {
            try body(batch(rows), texts)
            rows.removeAll(keepingCapacity: true)
            texts.removeAll(keepingCapacity: true)
        }
        switch self {
        case .featureMap(let map):
            // Columns by name when the file has a header (label columns may be absent), else in fitted order.
            let sources = reader.header == nil ? nil : try map.columnNames.map { name in try position[name] ?? (map.schema.columns == nil ? column(name) : -1) }
            let missing = map.schema.format.missingValues.first ?? ""
            try reader.forEachRecord { record in
                let fields = sources.map { $0.map { $0 >= 0 && $0 < record.count ? record.string($0) : missing } } ?? record.strings
                do { rows.append(try map.encodeRow(fields)) } catch var error as DataError {
                    (error.file, error.line) = (url.lastPathComponent, record.line)
                    throw error
                }
                texts.append(kept.map(record.string))
                if rows.count == batchSize { try flush() }
            }
        case let .synthetic(categorical, numeric, layout, _):
            let sources = try (categorical + numeric).map(column)
            try reader.forEachRecord { record in
                rows.append(try Self.syntheticRow(categorical: categorical, numeric: numeric, layout: layout, file: url.lastPathComponent,
                                                  line: record.line) { record.string(sources[$0]) })
                texts.append(kept.map(record.string))
                if rows.count == batchSize { try flush() }
            }
        }
        if !rows.isEmpty { try flush() }
    }

    /// A synthetic generator's row from the text of its columns (`text(i)`: categorical columns, then numeric).
    static func syntheticRow(categorical: [String], numeric: [String], layout: FeatureLayout, file: String, line: Int?,
                             _ text: (Int) -> String) throws -> EncodedRow {
        let ids = try categorical.indices.map { f -> Int32 in
            guard let id = Int32(text(f)), id >= 0, Int(id) < layout.vocabularySizes[f] else {
                throw DataError(.schema, file: file, line: line, columnName: categorical[f],
                                message: "column \(categorical[f]): '\(text(f))' is not an id in 0..<\(layout.vocabularySizes[f])")
            }
            return id
        }
        let values = try numeric.indices.map { j -> Float in
            guard let value = Double(text(categorical.count + j)) else {
                throw DataError(.number, file: file, line: line, columnName: numeric[j], message: "column \(numeric[j]): not a number")
            }
            return Float(value)
        }
        return EncodedRow(ids: ids, multiValued: [], numeric: values)
    }

    static func batch(_ rows: [EncodedRow], layout: FeatureLayout, taskCount: Int) -> Batch {
        let numeric = layout.numericCount > 0 ? Tensor(shape: [rows.count, layout.numericCount], values: rows.flatMap(\.numeric)) : nil
        return Batch(count: rows.count, ids: rows.flatMap(\.ids), numeric: numeric, labels: Tensor(repeating: 0, shape: [rows.count, taskCount]))
    }
}
