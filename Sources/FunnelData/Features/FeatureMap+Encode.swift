import Foundation

extension FeatureMap {
    /// Encodes `rows` of `table` (read with this map's plan) into model-ready columns. Categorical text is looked up
    /// once per distinct value through `categoricalID`, numbers go through `numericValue` / `bucketID`: the same
    /// functions `encodeRow` uses.
    public func encode(_ table: RawTable, rows: [Int]? = nil) -> EncodedTable {
        precondition(table.plan.schema == schema && table.plan.columnCount == columnCount, "table read with another schema")
        let rows = rows ?? Array(0..<table.rowCount)
        let n = rows.count, fields = layout.vocabularySizes.count, width = layout.numericCount, taskCount = tasks.count
        var ids = [Int32](repeating: 0, count: n * fields)
        var numeric = [Float](repeating: 0, count: n * width)
        var bags = [MultiValuedIDs](repeating: MultiValuedIDs(offsets: [], ids: []), count: layout.multiValued.count)
        for (f, source) in plan.sources.enumerated() {
            let index = features[f].index
            switch source {
            case .categorical(let s):
                let remap = remapTable(f, interner: table.interners[plan.categorical[s].group])
                table.categorical[s].withUnsafeBufferPointer { raw in
                    ids.withUnsafeMutableBufferPointer { out in
                        for (r, row) in rows.enumerated() {
                            let value = raw[row]
                            out[r &* fields &+ index] = value < 0 ? 0 : remap[Int(value)]
                        }
                    }
                }
            case .numeric(let s):
                let raw = table.numeric[s]
                if features[f].output == .categorical {
                    for (r, row) in rows.enumerated() { ids[r &* fields &+ index] = bucketID(f, raw[row]) }
                } else {
                    numeric.withUnsafeMutableBufferPointer { out in
                        for (r, row) in rows.enumerated() { out[r &* width &+ index] = numericValue(f, raw[row]) }
                    }
                }
            case .tokens(let s):
                let remap = remapTable(f, interner: table.interners[plan.tokens[s].group])
                let (offsets, tokenIDs) = table.tokens[s]
                var bag = MultiValuedIDs(offsets: [0], ids: [])
                bag.offsets.reserveCapacity(n + 1)
                for row in rows {
                    for p in Int(offsets[row])..<Int(offsets[row + 1]) { bag.ids.append(remap[Int(tokenIDs[p])]) }
                    bag.offsets.append(Int32(bag.ids.count))
                }
                bags[index] = bag
            }
        }
        var labels = [Float](repeating: 0, count: n * taskCount)
        var weights = table.weights.map { _ in [Float](repeating: 1, count: n * taskCount) }
        for (r, row) in rows.enumerated() {
            for t in 0..<taskCount { labels[r * taskCount + t] = table.labels[row * taskCount + t] }
            if let source = table.weights { for t in 0..<taskCount { weights![r * taskCount + t] = source[row * taskCount + t] } }
        }
        return EncodedTable(layout: layout, tasks: tasks, rowCount: n, ids: ids, multiValued: bags, numeric: numeric,
                            labels: labels, weights: weights, groups: table.groups.map { groups in rows.map { groups[$0] } })
    }

    /// `categoricalID` of every key of `interner`, by raw id.
    private func remapTable(_ f: Int, interner: ByteInterner) -> [Int32] {
        (0..<interner.count).map { k in interner.withKey(k) { categoricalID(f, $0) } }
    }

    /// Reads `files` with this map's schema and encodes every row (evaluation or scoring data).
    public func encode(files: [URL], badRows: BadRowPolicy? = nil) throws -> (table: EncodedTable, report: BadRowReport) {
        var raw = RawTable(plan: plan)
        for url in files {
            let reader = try CSVReader(path: url.path, dialect: schema.format, badRows: badRows ?? schema.badRows)
            if let header = reader.header, schema.columns == nil, header != columnNames {
                throw DataError.schema(schema.name, "\(url.lastPathComponent): header differs from the columns the map was fitted on")
            }
            try raw.read(reader)
        }
        return (encode(raw, rows: Array(0..<raw.rowCount)), raw.report)
    }

    /// Reads `files` under `schema` and fits a map on every row (files that are all training data).
    public static func fit(schema: DatasetSchema, files: [URL]) throws -> FeatureMap {
        let raw = try RawTable.read(schema: schema, files: files.map(\.path), directory: URL(fileURLWithPath: "/"))
        return try fit(raw)
    }
}
