import Foundation
import FunnelCore
import FunnelData
import FunnelNN

/// What a trained DEPHN has learned, in a form a user can read (dephn.md §9.4): per task the gate values over
/// (public expert × mapping), the last virtual-gradient coefficients and label similarities, and the SSG gate
/// means per branch. Codable (JSON for tools) with a Markdown rendering (`markdown`).
public struct DEPHNInspection: Codable, Equatable, Sendable {
    public struct TaskGates: Codable, Equatable, Sendable {
        public var task: String
        /// Gate values `[expert][mapping]`: the trainable values, or the batch mean of the mapping gates.
        public var values: [[Float]]?
        /// Γ of the last training forward `[expert][mapping]` (batch mean for mapping gates).
        public var coefficients: [[Float]]?
    }

    public struct BranchGate: Codable, Equatable, Sendable {
        /// `ssg.dnn`, `ssg.cf.0`, …
        public var branch: String
        /// Mean of σ(g) over all F·d elements (0: raw embedding, 1: attended view).
        public var mean: Float
        /// Mean of σ(g) per field.
        public var fieldMeans: [Float]
    }

    /// `trainableValue` or `mapping`.
    public var gating: String
    /// Row labels of the gate tables: the public experts (`dnn.0`, …, `cross`, `field`).
    public var experts: [String]
    /// Column labels: the mappings (`RM`, `TM(sin)`, `TM(cos)`).
    public var mappings: [String]
    public var tasks: [TaskGates]
    /// Per SSG branch; empty without SSG.
    public var branches: [BranchGate]
    /// |similarity| of the task labels in the last training batch (T × T), nil where constant.
    public var similarities: [[Double?]]?

    /// A Markdown report: one gate table per task, the similarity matrix and the SSG means.
    public var markdown: String {
        var lines = ["# DEPHN inspection", "", "Gating: \(gating). Public experts × mappings per task."]
        for task in tasks {
            lines += ["", "## Task `\(task.task)`", ""]
            lines.append("| expert | " + mappings.map { "gate \($0)" }.joined(separator: " | ")
                         + (task.coefficients == nil ? "" : " | " + mappings.map { "Γ \($0)" }.joined(separator: " | ")) + " |")
            lines.append("|---|" + String(repeating: "---:|", count: mappings.count * (task.coefficients == nil ? 1 : 2)))
            for (k, expert) in experts.enumerated() {
                let values = task.values.map { $0[k].map(Self.format) } ?? Array(repeating: "–", count: mappings.count)
                let coefficients = task.coefficients.map { $0[k].map(Self.format) } ?? []
                lines.append("| \(expert) | " + (values + coefficients).joined(separator: " | ") + " |")
            }
        }
        if let similarities {
            lines += ["", "## Label similarity |x_jt| (last training batch)", "",
                      "| task | " + tasks.map(\.task).joined(separator: " | ") + " |",
                      "|---|" + String(repeating: "---:|", count: tasks.count)]
            for (t, row) in similarities.enumerated() {
                lines.append("| \(tasks[t].task) | " + row.map { $0.map { String(format: "%.4f", $0) } ?? "undefined" }.joined(separator: " | ") + " |")
            }
        }
        lines += ["", "## Soft selection gating", ""]
        if branches.isEmpty {
            lines.append("SSG is off (E_sg = E).")
        } else {
            lines += ["| branch | mean σ(g) | per field |", "|---|---:|---|"]
            for branch in branches {
                lines.append("| \(branch.branch) | \(Self.format(branch.mean)) | " + branch.fieldMeans.map(Self.format).joined(separator: " ") + " |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func format(_ value: Float) -> String { String(format: "%.4f", value) }
}

extension DEPHN {
    /// The gates, mappings and virtual-gradient coefficients over `batch`, as Markdown.
    public func inspectionReport(on batch: Batch) -> String? { inspection(on: batch).markdown }

    /// The learned gates and SSG means. Trainable-value gates need no data; mapping gates are averaged over the
    /// rows of `batch` (their values are omitted without one).
    public func inspection(on batch: Batch? = nil) -> DEPHNInspection {
        let names = publicExpertNames, p = mappings.count
        let values: [[Float]?] = tasks.indices.map { t in
            if let gate = gates[t].trainableValue { return gate.values.scalars }
            guard let batch else { return nil }
            let context = ForwardContext.inference()
            let view = experts(embedding(batch, context), context).publicView
            let gates = self.gates[t](view, context).value
            return (0..<gates.shape[1]).map { s in
                Float((0..<gates.shape[0]).reduce(0.0) { $0 + Double(gates.pointer[$1 * gates.shape[1] + s]) } / Double(gates.shape[0]))
            }
        }
        func table(_ flat: [Float]) -> [[Float]] { names.indices.map { Array(flat[($0 * p)..<(($0 + 1) * p)]) } }
        let taskGates = tasks.indices.map { t in
            DEPHNInspection.TaskGates(task: tasks[t].name, values: values[t].map(table),
                                      coefficients: lastVirtualGradient.map { table($0.coefficients[t]) })
        }
        let branches = (experts.dnnGating + experts.crossFieldGating).map { gating in
            DEPHNInspection.BranchGate(branch: String(gating.gate.name.dropLast(".gate".count)), mean: gating.meanGate,
                                       fieldMeans: gating.fieldMeanGates)
        }
        return DEPHNInspection(gating: configuration.gating.rawValue, experts: names, mappings: mappings.map(\.label),
                               tasks: taskGates, branches: branches, similarities: lastVirtualGradient?.similarities)
    }
}
