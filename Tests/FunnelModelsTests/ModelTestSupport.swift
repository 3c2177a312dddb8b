import Foundation
import FunnelCore
import FunnelData
import FunnelModels

/// Small inputs for model tests: vocabularies [5, 7, 6], 2 numeric features, nested funnel labels.
enum ModelTestInputs {
    static let layout = FeatureLayout(vocabularySizes: [5, 7, 6], numericCount: 2)

    /// ctr → ctcvr (binary, nested), then an `amount` continuous task with loss `continuous` when given.
    static func tasks(continuous loss: TaskLoss? = nil) -> [TaskSpec] {
        var tasks = [TaskSpec(name: "ctr", kind: .binary), TaskSpec(name: "ctcvr", kind: .binary, parent: "ctr")]
        if let loss { tasks.append(TaskSpec(name: "amount", kind: .continuous, loss: loss)) }
        return tasks
    }

    /// `rows` rows with random ids and numerics; labels nested along the binary tasks (each step 1 only where
    /// the previous is) and positive amounts only after the last binary step.
    static func batch(rows: Int = 8, tasks: [TaskSpec], seed: UInt64 = 7) -> Batch {
        var rng = SeededGenerator(seed: seed)
        let ids = (0..<rows).flatMap { _ in layout.vocabularySizes.map { Int32(rng.next() % UInt64($0)) } }
        var labels = [Float](repeating: 0, count: rows * tasks.count)
        for row in 0..<rows {
            var previous: Float = 1
            for (t, task) in tasks.enumerated() {
                let value: Float = task.kind == .binary
                    ? (previous == 1 && (row % (t + 2) != 1) ? 1 : 0)
                    : previous * (1 + rng.nextUnitFloat())
                labels[row * tasks.count + t] = value
                if task.kind == .binary { previous = value }
            }
        }
        return Batch(count: rows, ids: ids, numeric: .normal([rows, layout.numericCount], using: &rng),
                     labels: Tensor(shape: [rows, tasks.count], values: labels))
    }

    /// The defaults of `name` with d = 4, at most 3 experts and every width capped at 8 (fast in debug builds).
    static func small(_ name: String) throws -> JSONValue {
        func capped(_ value: JSONValue) -> JSONValue {
            switch value {
            case .number(let n): .number(min(n, 8))
            case .array(let items): .array(items.map(capped))
            default: value
            }
        }
        guard case .object(var c) = try ModelRegistry.standard.entry(named: name).defaultConfiguration else { return .object([:]) }
        for key in c.keys where key.hasSuffix("Widths") || key.hasSuffix("DimsPerLevel") { c[key] = capped(c[key]!) }
        if c["experts"] != nil { c["experts"] = .number(3) }
        c["embeddingWidth"] = .number(4)
        return .object(c)
    }
}

/// Model `name`'s configuration from partial JSON text, as the registry reads it (merged over the defaults).
func registryConfiguration<Configuration: Decodable>(_ name: String, _ json: String) throws -> Configuration {
    try ModelRegistry.standard.configuration(named: name, overrides: JSONValue(data: Data(json.utf8))).decode(as: Configuration.self)
}
