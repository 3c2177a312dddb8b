import Foundation

extension FeatureMap {
    /// Reads the files of this map's schema (relative names resolved against `directory`) with the map's own read
    /// plan, splits the rows as the schema says, and encodes the rows of `role` with this map — a saved model's
    /// view of its dataset, without refitting anything.
    public func encode(_ role: SplitRole, directory: URL, badRows: BadRowPolicy? = nil) throws -> EncodedTable {
        var raw = RawTable(plan: plan)
        for file in schema.files {
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : directory.appendingPathComponent(file)
            let reader = try CSVReader(path: url.path, dialect: schema.format, badRows: badRows ?? schema.badRows)
            if let header = reader.header, schema.columns == nil, header != columnNames {
                throw DataError.schema(schema.name, "\(url.lastPathComponent): header differs from the columns the map was fitted on")
            }
            try raw.read(reader, entry: file)
        }
        let (rows, _) = try DatasetSplit.assign(raw, split: schema.split)
        return encode(raw, rows: rows[role] ?? [])
    }
}
