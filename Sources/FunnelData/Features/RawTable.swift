/// Records reduced to columns while reading, before any fitting: categorical text interned to per-vocabulary
/// raw ids (first-seen order), numbers parsed, multi-valued fields split into interned tokens, labels derived,
/// weights and group ids read. One pass over the bytes; fitting and encoding then work on these arrays.
///
/// Stages for custom pipelines: `RawTable.read(schema:files:directory:)`, `FeatureMap.fit(_:rows:)`,
/// `FeatureMap.encode(_:rows:)`; `PreparedDataset` chains them with a split.
public struct RawTable {
    let plan: ReadPlan
    public private(set) var rowCount = 0
    /// One per vocabulary group of the plan.
    var interners: [ByteInterner]
    /// Per categorical slot: raw id per row, −1 for a missing value that maps to the unknown id.
    var categorical: [[Int32]]
    /// Per numeric slot: value per row, NaN when missing.
    var numeric: [[Double]]
    /// Per token slot: compressed rows of raw token ids.
    var tokens: [(offsets: [Int32], ids: [Int32])]
    /// `[rows · tasks]` entire-space labels.
    var labels: [Float] = []
    /// `[rows · tasks]` sample weights, when any task has a weight column.
    var weights: [Float]?
    /// `[rows]` group ids, when the schema has a group column.
    var groups: [Int64]?
    /// Each file read (as the schema names it), with its rows.
    private(set) var files: [(name: String, rows: Range<Int>)] = []
    /// Rows skipped under `BadRowPolicy.skip`.
    public private(set) var report = BadRowReport()

    init(plan: ReadPlan) {
        self.plan = plan
        interners = plan.groups.map { _ in ByteInterner(capacity: 1024) }
        categorical = plan.categorical.map { _ in [] }
        numeric = plan.numeric.map { _ in [] }
        tokens = plan.tokens.map { _ in (offsets: [0], ids: []) }
        weights = plan.hasWeights ? [] : nil
        groups = plan.groupColumn == nil ? nil : []
    }

    /// Reads every record of `reader` (already past its header), appending rows; `entry` is the file as the
    /// schema names it (default: the reader's name).
    mutating func read(_ reader: CSVReader, entry: String? = nil) throws {
        let first = rowCount
        let plan = self.plan
        reader.expectedFieldCount = plan.columnCount
        let numericSlots = plan.numeric, categoricalSlots = plan.categorical, tokenSlots = plan.tokens
        let groupColumn = plan.groupColumn, hasWeights = weights != nil
        var numbers = [Double](repeating: 0, count: numericSlots.count)
        var rowLabels = [Float](repeating: 0, count: plan.labels.count), rowWeights = rowLabels
        let file = reader.name
        try reader.forEachRecord { record in
            // Everything that can fail first, into scratch; then commit the row.
            for s in numericSlots.indices {
                let slot = numericSlots[s]
                numbers[s] = try plan.number(record[slot.column], column: slot.column, missingAllowed: slot.missingAllowed,
                                             file: file, line: record.line)
            }
            try plan.labels(field: { record[$0] }, file: file, line: record.line, into: &rowLabels)
            if hasWeights { try plan.weights(field: { record[$0] }, file: file, line: record.line, into: &rowWeights) }
            for s in numbers.indices { numeric[s].append(numbers[s]) }
            labels.append(contentsOf: rowLabels)
            if hasWeights { weights!.append(contentsOf: rowWeights) }
            if let groupColumn { groups!.append(plan.groupID(record[groupColumn])) }
            for s in categoricalSlots.indices {
                let slot = categoricalSlots[s], bytes = record[slot.column]
                categorical[s].append(slot.missingIsUnknown && plan.isMissing(bytes) ? -1 : interners[slot.group].intern(bytes))
            }
            for s in tokenSlots.indices {
                let slot = tokenSlots[s]
                plan.tokens(record[slot.column], slot: slot) { tokens[s].ids.append(interners[slot.group].intern($0)) }
                tokens[s].offsets.append(Int32(tokens[s].ids.count))
            }
            rowCount += 1
        }
        report.merge(reader.report)
        files.append((entry ?? reader.name, first..<rowCount))
    }

    /// The raw text of a categorical slot's value in `row` (nil for a missing value mapped to unknown).
    func text(slot: Int, row: Int) -> String? {
        let raw = categorical[slot][row]
        return raw < 0 ? nil : interners[plan.categorical[slot].group].key(Int(raw))
    }
}
