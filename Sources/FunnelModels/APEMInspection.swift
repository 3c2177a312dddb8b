import Foundation
import FunnelCore
import FunnelData
import FunnelNN

/// What APEM-reconstruction selects and which fields it leans on, averaged over the rows of some batches in
/// evaluation mode: per task the mean pattern-selection weights α_t, per SE block the mean field weights a_f, and
/// per induced-attention block how the inducing points group the fields. Codable for reports; `report` is a
/// printable text form.
public struct APEMInspection: Codable, Equatable, Sendable {
    /// One task's mean selection weights.
    public struct TaskSelection: Codable, Equatable, Sendable {
        public var task: String
        /// Candidate pattern names (`patterns.{k}`, then `task_patterns.{t}.{j}`).
        public var patterns: [String]
        /// Mean α_{t,k} over rows (sums to one).
        public var weights: [Double]
    }

    /// Always `APEM-reconstruction`.
    public var model: String
    /// The switch summary of the inspected model.
    public var configuration: String
    /// Rows averaged over.
    public var rows: Int
    public var selections: [TaskSelection]
    /// Field names in embedding order.
    public var fields: [String]
    /// Per SE block, the mean field weight of every field (empty without SE).
    public var fieldWeights: [[Double]]
    /// Per induced-attention block, per inducing point, the mean attention over the fields (over rows and heads;
    /// each row sums to one). Empty without `.isab`.
    public var groupAttention: [[[Double]]]

    /// A plain-text rendering: selection table, fields by descending SE weight, top fields of each group.
    public var report: String {
        var lines = ["\(model) inspection over \(rows) rows", configuration, "Mean pattern-selection weights α (per task):"]
        if let names = selections.first?.patterns {  // task-specific columns differ per task: "own.{j}"
            let header = names.map { $0.hasPrefix("task_patterns.") ? "own." + ($0.split(separator: ".").last ?? "") : $0 }
            lines.append("  " + "task".padding(toLength: 12, withPad: " ", startingAt: 0)
                         + header.map { $0.padding(toLength: 18, withPad: " ", startingAt: 0) }.joined())
        }
        for selection in selections {
            let name = selection.task.padding(toLength: 12, withPad: " ", startingAt: 0)
            let values = selection.weights.map { String(format: "%.4f", $0).padding(toLength: 18, withPad: " ", startingAt: 0) }
            lines.append("  " + name + values.joined())
        }
        for (block, weights) in fieldWeights.enumerated() {
            let ranked = zip(fields, weights).sorted { $0.1 > $1.1 }.map { "\($0.0) \(String(format: "%.3f", $0.1))" }
            lines.append("SE field weights, block \(block) (descending): " + ranked.joined(separator: ", "))
        }
        for (block, groups) in groupAttention.enumerated() {
            for (g, attention) in groups.enumerated() {
                let top = zip(fields, attention).sorted { $0.1 > $1.1 }.prefix(5).map { "\($0.0) \(String(format: "%.3f", $0.1))" }
                lines.append("Group \(g) of block \(block) attends to: " + top.joined(separator: ", "))
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension APEMReconstruction {
    /// Candidate pattern names of task `t`, in selection order.
    public func patternNames(ofTask t: Int) -> [String] {
        patterns.indices.map { "patterns.\($0)" } + taskPatterns[t].indices.map { "task_patterns.\(t).\($0)" }
    }

    /// Mean selection weights, SE field weights and field grouping over `batches` (evaluation mode, no tape; the
    /// model's state is not changed).
    public func inspection(_ batches: [Batch]) -> APEMInspection {
        let context = ForwardContext.inference()
        var rows = 0
        var selection: [[Double]] = [], fieldSums: [[Double]] = [], groupSums: [[[Double]]] = []
        for batch in batches {
            let trace = forward(batch, context)
            rows += batch.count
            selection = accumulate(selection, trace.selectionWeights.map(columnSums))
            fieldSums = accumulate(fieldSums, trace.fieldWeights.map(columnSums))
            let groups = trace.groupAttention.map(groupColumnSums)
            groupSums = groupSums.isEmpty ? groups : zip(groupSums, groups).map(accumulate)
        }
        let scale = 1 / Double(max(rows, 1))
        let heads = Double(configuration.heads)
        return APEMInspection(
            model: Self.displayName, configuration: configuration.summary, rows: rows,
            selections: tasks.indices.map { t in
                .init(task: tasks[t].name, patterns: patternNames(ofTask: t), weights: (selection.indices.contains(t) ? selection[t] : []).map { $0 * scale })
            },
            fields: fieldNames,
            fieldWeights: fieldSums.map { $0.map { $0 * scale } },
            groupAttention: groupSums.map { $0.map { $0.map { $0 * scale / heads } } })
    }

    /// Single-batch convenience.
    public func inspection(_ batch: Batch) -> APEMInspection { inspection([batch]) }

    /// The pattern selection, SE field weights and field grouping over `batch`, as Markdown.
    public func inspectionReport(on batch: Batch) -> String? { inspection(batch).report }
}

/// Column sums of a `[rows, n]` tensor, in Float64.
private func columnSums(_ t: Tensor) -> [Double] {
    let (rows, n) = (t.shape[0], t.shape[1])
    var sums = [Double](repeating: 0, count: n)
    for i in 0..<rows { for j in 0..<n { sums[j] += Double(t.pointer[i * n + j]) } }
    return sums
}

/// `[B, H, m, F]` summed over B and H → `[m][F]`.
private func groupColumnSums(_ t: Tensor) -> [[Double]] {
    let (m, f) = (t.shape[2], t.shape[3])
    let flat = columnSums(t.reshaped([t.count / (m * f), m * f]))
    return (0..<m).map { Array(flat[($0 * f)..<(($0 + 1) * f)]) }
}

/// Element-wise `a + b` for equally shaped nested arrays, `b` when `a` is empty.
private func accumulate(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
    a.isEmpty ? b : zip(a, b).map { zip($0, $1).map(+) }
}
