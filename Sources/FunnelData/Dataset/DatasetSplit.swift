import FunnelCore

/// Assignment of a table's rows to train / validation / test (see `SplitSchema`).
public enum DatasetSplit {
    /// The seeded permutation of `0..<count` used by random splits: Fisher–Yates with
    /// j = floor(uniform(seed, 99, i) · (i + 1)) for i = count − 1 down to 1 (synthetic-data.md §8).
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        guard count > 1 else { return order }
        for i in stride(from: count - 1, through: 1, by: -1) {
            let j = Int(PortableRandom.uniform(seed: seed, stream: 99, index: UInt64(i)) * Double(i + 1))
            order.swapAt(i, min(j, i))
        }
        return order
    }

    /// Cuts `rows` (in the given order) into consecutive parts with sizes proportional to `fractions`: part k ends
    /// at round(n · (f_1 + … + f_k) / Σf).
    public static func divide(_ rows: [Int], fractions: [(SplitRole, Double)]) -> [SplitRole: [Int]] {
        let total = fractions.reduce(0) { $0 + $1.1 }
        var parts: [SplitRole: [Int]] = [:], cumulative = 0.0, start = 0
        for (k, (role, fraction)) in fractions.enumerated() {
            cumulative += fraction
            let end = k == fractions.count - 1 ? rows.count : Int((Double(rows.count) * cumulative / total).rounded())
            parts[role, default: []] += rows[start..<max(start, end)]
            start = max(start, end)
        }
        return parts
    }

    /// Rows of `table` per role under `split` (every row in train without one), each in ascending order, and the
    /// number of rows a column split dropped.
    static func assign(_ table: RawTable, split: SplitSchema?) throws -> (rows: [SplitRole: [Int]], dropped: Int) {
        let all = Array(0..<table.rowCount)
        guard let split else { return ([.train: all, .validation: [], .test: []], 0) }
        var rows: [SplitRole: [Int]] = [.train: [], .validation: [], .test: []]
        var unassigned: [Int] = []
        for file in table.files {
            if let role = SplitRole.allCases.first(where: { split.files(for: $0).contains(file.name) }) {
                rows[role]! += Array(file.rows)
            } else {
                unassigned += Array(file.rows)
            }
        }
        var dropped = 0
        if let divide = split.divide {
            let source: [Int]
            if let from = divide.from {
                source = rows[from]!
                rows[from] = []
            } else {
                source = unassigned
            }
            let parts: [SplitRole: [Int]]
            switch divide.method {
            case .random:
                let order = permutation(count: source.count, seed: divide.seed)
                parts = Self.divide(order.map { source[$0] }, fractions: divide.fractions!.all)
            case .chronological:
                guard case .numeric(let slot)? = table.plan.splitSource else { preconditionFailure("chronological split without a time slot") }
                let time = table.numeric[slot]
                let sorted = source.enumerated().sorted { (time[$0.element], $0.offset) < (time[$1.element], $1.offset) }.map(\.element)
                parts = Self.divide(sorted, fractions: divide.fractions!.all)
            case .column:
                guard case .categorical(let slot)? = table.plan.splitSource else { preconditionFailure("column split without a value slot") }
                var byRole: [SplitRole: [Int]] = [:]
                for row in source {
                    let text = table.text(slot: slot, row: row)
                    if let role = divide.values!.all.first(where: { $0.1.contains(text ?? "") })?.0 {
                        byRole[role, default: []].append(row)
                    } else {
                        dropped += 1
                    }
                }
                parts = byRole
            }
            for (role, part) in parts { rows[role]! += part }
        } else {
            rows[.train]! += unassigned
        }
        return (rows.mapValues { $0.sorted() }, dropped)
    }
}
