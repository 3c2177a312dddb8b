import Foundation

/// Dataset schemas (YAML) for the CSV files the synthetic generators write, so that a generated file is read
/// through the same ingestion path as real data (`funnel compare --data file.yaml`): categorical ids become
/// fitted vocabularies, dense columns numeric features, label columns tasks with the generator's funnel
/// relations, and the rows are split 80 / 10 / 10 at random (the rows are i.i.d., so any split is fair).
/// Ground-truth columns, when present, are not read.
enum SyntheticSchema {
    /// Checks both outputs (the CSV at `csv` and its schema next to it) before writing either, then writes the CSV
    /// with `writeCSV` and the schema text; returns the schema's URL.
    static func write(csv: URL, schema text: String, overwrite: Bool, writeCSV: () throws -> Void) throws -> URL {
        let schema = url(nextTo: csv)
        guard schema.standardizedFileURL != csv.standardizedFileURL else {
            throw OutputError(path: csv.path, problem: "the CSV and its schema would be the same file", remedy: "name the CSV file.csv")
        }
        try OutputGuard.checkFile(csv, overwrite: overwrite)
        try OutputGuard.checkFile(schema, overwrite: overwrite)
        try writeCSV()
        try OutputFile.write(Data(text.utf8), to: schema, overwrite: overwrite)
        return schema
    }

    /// The YAML text of a schema over `file` (a name relative to the schema's folder).
    static func yaml(name: String, description: String, file: String, categorical: [String], numeric: [String],
                     tasks: [String], seed: UInt64) -> String {
        var lines = ["# Written by `funnel synth … --csv`: the schema of \(file), for `funnel compare --data <this file>`.",
                     "name: \(name)", "description: \(description)", "files: [\(file)]", "split:", "  divide:",
                     "    method: random", "    seed: \(seed)", "    fractions: {train: 0.8, validation: 0.1, test: 0.1}", "tasks:"]
        lines += tasks.map { "  - \($0)" }
        lines.append("features:")
        lines += categorical.map { "  - {name: \($0), kind: categorical}" }
        lines += numeric.map { "  - {name: \($0), kind: numeric}" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `file.csv` → `file.yaml` next to it.
    static func url(nextTo csv: URL) -> URL { csv.deletingPathExtension().appendingPathExtension("yaml") }

    static func lossName(_ loss: TaskLoss) -> String {
        switch loss {
        case .binaryCrossEntropy: return "bce"
        case .squaredError: return "mse"
        case .huber: return "huber"
        case .zeroInflatedLognormal: return "ziln"
        }
    }
}

extension FunnelDataset {
    /// The schema of the CSV `writeCSV(to:)` wrote at `csv`: tasks `ctr` (click), `cvr` (conv, trained and
    /// evaluated on clicked rows), `amount` (every impression, the configuration's amount loss).
    public func schemaYAML(csvFile file: String) -> String {
        SyntheticSchema.yaml(
            name: "synthetic-funnel", description: "funnel generator, seed \(seed), \(rowCount) rows", file: file,
            categorical: fieldNames, numeric: (0..<configuration.denseFeatures).map { "dense\($0)" },
            tasks: ["{name: ctr, kind: binary, label: click}",
                    "{name: cvr, kind: binary, label: conv, parent: ctr, lossSpace: {ctr: 1}, evaluationSpace: {ctr: 1}}",
                    "{name: amount, kind: continuous, label: amount, parent: cvr, loss: \(SyntheticSchema.lossName(configuration.amountLoss))}"],
            seed: seed)
    }

    /// Writes the CSV to `url` and its schema next to it (`name.yaml`; existing files only with `overwrite`); returns
    /// the schema's URL.
    @discardableResult
    public func writeCSVWithSchema(to url: URL, groundTruth: Bool = false, overwrite: Bool = false) throws -> URL {
        try SyntheticSchema.write(csv: url, schema: schemaYAML(csvFile: url.lastPathComponent), overwrite: overwrite) {
            try writeCSV(to: url, groundTruth: groundTruth, overwrite: overwrite)
        }
    }
}

extension CorrelatedTasksDataset {
    /// The schema of the CSV `writeCSV(to:)` wrote: features `x0…`, tasks `task0…` (continuous with MSE, or
    /// binary; nested binary tasks name the previous task as parent).
    public func schemaYAML(csvFile file: String) -> String {
        let tasks = self.tasks.map { task in
            "{name: \(task.name), kind: \(task.kind == .binary ? "binary" : "continuous"), label: \(task.name)"
                + (task.parent.map { ", parent: \($0)" } ?? "") + "}"
        }
        return SyntheticSchema.yaml(name: "synthetic-correlated", description: "correlated-tasks generator, seed \(seed), \(rowCount) rows",
                                    file: file, categorical: [], numeric: (0..<configuration.inputDimension).map { "x\($0)" }, tasks: tasks,
                                    seed: seed)
    }

    /// Writes the CSV to `url` and its schema next to it (`name.yaml`; existing files only with `overwrite`); returns
    /// the schema's URL.
    @discardableResult
    public func writeCSVWithSchema(to url: URL, groundTruth: Bool = false, overwrite: Bool = false) throws -> URL {
        try SyntheticSchema.write(csv: url, schema: schemaYAML(csvFile: url.lastPathComponent), overwrite: overwrite) {
            try writeCSV(to: url, groundTruth: groundTruth, overwrite: overwrite)
        }
    }
}

extension DEPHNPairDataset {
    /// The schema of the CSV `writeCSV(to:)` wrote: tasks `base` (click) and `pair` (the `related` or `unrelated`
    /// column; the file holds both, so the other pair is a one-word edit).
    public func schemaYAML(csvFile file: String, pair: Pair = .related) -> String {
        SyntheticSchema.yaml(
            name: "synthetic-dephn-\(pair.rawValue)", description: "DEPHN pair generator (\(pair.rawValue) label), seed \(funnel.seed)",
            file: file, categorical: funnel.fieldNames, numeric: (0..<funnel.configuration.denseFeatures).map { "dense\($0)" },
            tasks: ["{name: base, kind: binary, label: click}", "{name: \(pair.rawValue), kind: binary, label: \(pair.rawValue)}"],
            seed: funnel.seed)
    }

    /// Writes the CSV to `url` and its schema next to it (`name.yaml`; existing files only with `overwrite`); returns
    /// the schema's URL.
    @discardableResult
    public func writeCSVWithSchema(to url: URL, pair: Pair = .related, groundTruth: Bool = false, overwrite: Bool = false) throws -> URL {
        try SyntheticSchema.write(csv: url, schema: schemaYAML(csvFile: url.lastPathComponent, pair: pair), overwrite: overwrite) {
            try writeCSV(to: url, groundTruth: groundTruth, overwrite: overwrite)
        }
    }
}
