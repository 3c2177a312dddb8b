import Foundation

extension PreparedDataset {
    /// A Markdown summary: rows and per-task label statistics per split, the fields with their vocabulary sizes,
    /// skipped rows, and timings.
    public var summary: String {
        var lines = ["dataset \(featureMap.schema.name): \(featureMap.features.count) features → \(featureMap.layout.fieldCount) fields "
                     + "(\(featureMap.layout.vocabularySizes.count) categorical, \(featureMap.layout.multiValued.count) multi-valued, "
                     + "\(featureMap.layout.numericCount) numeric)", ""]
        let tasks = featureMap.tasks
        lines.append("| split | rows | " + tasks.map { "\($0.name) (\($0.kind == .binary ? "positive rate" : "mean; >0 rate"))" }.joined(separator: " | ") + " |")
        lines.append("|---|---:|" + String(repeating: "---:|", count: tasks.count))
        for (name, table) in [("train", train), ("validation", validation), ("test", test)] {
            let cells = tasks.indices.map { t -> String in
                let values = (0..<table.rowCount).map { Double(table.labels[$0 * tasks.count + t]) }
                guard !values.isEmpty else { return "–" }
                let positive = Double(values.filter { $0 > 0 }.count) / Double(values.count)
                if tasks[t].kind == .binary { return String(format: "%.4f", positive) }
                return String(format: "%.4g; %.4f", values.reduce(0, +) / Double(values.count), positive)
            }
            lines.append("| \(name) | \(table.rowCount) | " + cells.joined(separator: " | ") + " |")
        }
        let layout = featureMap.layout
        let sizes = zip(layout.fieldNames, layout.vocabularySizes + layout.multiValued.map(\.vocabularySize)).map { "\($0) \($1)" }
        lines += ["", "fields (ids incl. 0): " + sizes.joined(separator: ", ")]
        if skipped.count > 0 {
            let kinds = skipped.countsByKind.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
            lines.append("skipped rows: \(skipped.count) (\(kinds.joined(separator: ", "))); first: \(skipped.examples[0])")
        }
        if droppedBySplit > 0 { lines.append("rows in no split: \(droppedBySplit)") }
        lines.append(String(format: "read %.2f s, fit %.2f s, encode %.2f s", timings.read, timings.fit, timings.encode))
        return lines.joined(separator: "\n")
    }
}
