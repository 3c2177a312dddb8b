import FunnelCore

/// One raw value a row of a `RawRowEncoder` reads, by name: a schema feature (feature map) or a synthetic
/// generator's column. What a scoring request keys its values by.
public struct RawInput: Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case categorical, numeric, multiValued }

    public var name: String
    public var kind: Kind
    /// A row must give it: a numeric value with neither a fill value nor buckets, or any synthetic column.
    public var isRequired: Bool
    /// The categorical field whose id 0 means "not in the fitted vocabulary" for this input (nil: hashed,
    /// bucketized, numeric or multi-valued inputs, which have no out-of-vocabulary outcome to count).
    public var vocabularyField: Int?
}

extension RawRowEncoder {
    /// The raw inputs of a row, in schema (or generator column) order.
    public var inputs: [RawInput] {
        switch self {
        case .featureMap(let map):
            return map.features.enumerated().map { f, fitted in
                let kind = map.schema.features[f].kind
                var input = RawInput(name: fitted.name, kind: RawInput.Kind(rawValue: kind.rawValue)!, isRequired: false, vocabularyField: nil)
                if case .numeric(let s) = map.plan.sources[f] { input.isRequired = !map.plan.numeric[s].missingAllowed }
                if fitted.output == .categorical, kind == .categorical, fitted.hashBuckets == nil { input.vocabularyField = fitted.index }
                return input
            }
        case let .synthetic(categorical, numeric, _, _):
            return categorical.map { RawInput(name: $0, kind: .categorical, isRequired: true, vocabularyField: nil) }
                + numeric.map { RawInput(name: $0, kind: .numeric, isRequired: true, vocabularyField: nil) }
        }
    }

    /// Encodes one row given the text of each input (`value(i)` for `inputs[i]`, nil when absent: a missing
    /// value), through the same rules as `forEachBatch`. A numeric input whose text is a non-finite number is
    /// refused. Errors are `DataError`s with `file` "request" and `columnName` the input's name.
    public func encodeRow(_ value: (Int) -> String?) throws -> EncodedRow {
        let inputs = self.inputs
        for (i, input) in inputs.enumerated() where input.kind == .numeric {
            if let text = value(i), let number = Double(text), !number.isFinite {
                throw DataError(.number, file: "request", columnName: input.name, message: "\"\(text)\" is not a finite number")
            }
        }
        switch self {
        case .featureMap(let map):
            let missing = map.schema.format.missingValues.first ?? ""
            var fields = [String](repeating: missing, count: map.columnCount)
            for i in inputs.indices { if let text = value(i) { fields[map.plan.column(ofFeature: i)] = text } }
            do { return try map.encodeRow(fields) } catch var error as DataError {
                if let column = error.column, let f = inputs.indices.first(where: { map.plan.column(ofFeature: $0) == column }) {
                    error.columnName = inputs[f].name
                }
                throw error
            }
        case let .synthetic(categorical, numeric, layout, _):
            return try Self.syntheticRow(categorical: categorical, numeric: numeric, layout: layout, file: "request", line: nil) { i in
                value(i) ?? ""
            }
        }
    }

    /// A batch of encoded rows (labels zero), ready for a model's forward pass.
    public func batch(_ rows: [EncodedRow]) -> Batch {
        switch self {
        case .featureMap(let map): return map.batch(rows)
        case let .synthetic(_, _, layout, taskCount): return Self.batch(rows, layout: layout, taskCount: taskCount)
        }
    }
}
