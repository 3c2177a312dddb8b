import Foundation
import FunnelData
import FunnelModels

/// What a tune produced: each model's search, the final runs of the selected configurations, and their comparison.
public struct TuningOutcome: Sendable {
    public var settings: TuningSettings
    public var schedule: SuccessiveHalving
    /// The validation monitor the search selected on.
    public var monitor: String
    public var searches: [ModelSearchResult]
    public var finals: [FinalRecord]
    /// The tuned comparison: the best configuration of each model × the seeds, test metrics.
    public var comparison: ComparisonOutcome
    /// The run file reproducing each model's best configuration, by label.
    public var runFiles: [String: RunConfiguration]

    /// The paired differences of every model against `baseline` (default: the first model).
    public func pairedDifferences(baseline: String? = nil) -> [PairedDifference] {
        PairedDifference.all(in: comparison, baseline: baseline ?? comparison.models[0])
    }

    /// Writes into `directory`: `tune.md` (the tuned table, paired differences against `baseline`, the budget and the
    /// best configurations), `search.md` (every trial), `best/<label>.yaml` (run files; data paths that resolved against
    /// `dataBase` rewritten to resolve from there) and the comparison files (`ComparisonOutcome.write`). Returns the files.
    @discardableResult
    public func write(to directory: URL, baseline: String? = nil, dataBase: URL? = nil) throws -> [URL] {
        let best = directory.appendingPathComponent("best")
        try FileManager.default.createDirectory(at: best, withIntermediateDirectories: true)
        var files = try comparison.write(to: directory, baseline: baseline, overwrite: true)  // the tune's own directory
        for (label, runFile) in runFiles.sorted(by: { $0.key < $1.key }) {
            var relocated = runFile
            relocated.data = runFile.data?.relocated(from: dataBase, to: best)
            let url = best.appendingPathComponent("\(label).yaml")
            try OutputFile.write(Data((Self.runFileComment(label) + relocated.yaml()).utf8), to: url, overwrite: true)
            files.append(url)
        }
        for (name, text) in [("tune.md", markdown(baseline: baseline)), ("search.md", searchMarkdown)] {
            let url = directory.appendingPathComponent(name)
            try OutputFile.write(Data(text.utf8), to: url, overwrite: true)
            files.append(url)
        }
        return files
    }

    private static func runFileComment(_ label: String) -> String {
        "# The best configuration funnel tune found for \(label); `funnel compare --config` or `funnel train --config` reruns it.\n"
    }
}
