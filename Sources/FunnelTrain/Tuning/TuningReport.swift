import FunnelModels

/// The budget one model used: the search (budgeted by the schedule, actually trained, wall and CPU seconds) and
/// the final runs.
public struct TuningBudget: Equatable, Sendable {
    public var model: String
    public var searchBudgetedEpochs: Int
    public var searchEpochsRun: Int
    public var searchSeconds: Double
    public var searchCPUSeconds: Double
    public var finalBudgetedEpochs: Int
    public var finalEpochsRun: Int
    public var finalSeconds: Double
    public var finalCPUSeconds: Double
}

extension TuningOutcome {
    /// Each model's budget, in model order.
    public var budgets: [TuningBudget] {
        searches.map { search in
            let finals = self.finals.filter { $0.model == search.label }
            return TuningBudget(model: search.label, searchBudgetedEpochs: schedule.budgetedEpochs,
                                searchEpochsRun: search.records.reduce(0) { $0 + $1.epochsRun },
                                searchSeconds: search.records.reduce(0) { $0 + $1.seconds },
                                searchCPUSeconds: search.records.reduce(0) { $0 + $1.cpuSeconds },
                                finalBudgetedEpochs: finals.count * schedule.rungs.last!.epochs,
                                finalEpochsRun: finals.reduce(0) { $0 + $1.run.epochs },
                                finalSeconds: finals.reduce(0) { $0 + $1.run.trainingSeconds },
                                finalCPUSeconds: finals.reduce(0) { $0 + $1.cpuSeconds })
        }
    }

    /// The schedule in words: `6 trials × 1 epoch, 2 × 3 epochs = 12 epochs per model`.
    public var scheduleSummary: String {
        schedule.rungs.enumerated().map { index, rung in
            "\(rung.trials)\(index == 0 ? " trials" : "") × \(epochs(rung.epochs))"
        }.joined(separator: ", ") + " = \(schedule.budgetedEpochs) epochs per model"
    }

    /// `tune.md`: the tuned comparison, paired differences against `baseline`, the budget and the best configurations.
    public func markdown(baseline: String? = nil) -> String {
        let baseline = baseline ?? comparison.models[0]
        var text = "# Tuned comparison\n\n"
        if let data = comparison.data { text += "Data: \(data)\n\n" }
        text += "Search: random search with successive halving per model, \(settings.trials) trials, η = \(settings.eta) "
            + "(\(scheduleSummary)); trials ranked on the validation monitor `\(monitor)` only; search seed \(settings.searchSeed). "
            + "Each model's best configuration retrained with seeds \(comparison.seeds.map(String.init).joined(separator: ", ")) "
            + "and scored once on the test split.\n\n"
        text += comparison.markdown()
        text += "\n## Paired differences against \(baseline)\n\n"
        let paired = PairedDifference.all(in: comparison, baseline: baseline)
        if paired.isEmpty {
            text += "None (no other model, or no shared seeds).\n"
        } else {
            text += "| Model | task metric | Δ mean ± std | t | p (two-sided, paired) | seeds |\n|---|---|---:|---:|---:|---:|\n"
            for d in paired {
                text += "| \(d.model) | \(d.task) \(d.metric) | \(signed(d.mean)) ± \(fixed(d.std, 4)) | \(d.t.map { fixed($0, 2) } ?? "–") | "
                    + "\(d.p.map { fixed($0, 3) } ?? "–") | \(d.seeds.count) |\n"
            }
        }
        text += "\n## Budget\n\n| Model | search epochs (budget) | search epochs run | search s | search CPU s | final epochs (budget) | "
            + "final epochs run | final s | final CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for b in budgets {
            text += "| \(b.model) | \(b.searchBudgetedEpochs) | \(b.searchEpochsRun) | \(fixed(b.searchSeconds, 1)) | \(fixed(b.searchCPUSeconds, 1)) | "
                + "\(b.finalBudgetedEpochs) | \(b.finalEpochsRun) | \(fixed(b.finalSeconds, 1)) | \(fixed(b.finalCPUSeconds, 1)) |\n"
        }
        let cpu = budgets.reduce(0) { $0 + $1.searchCPUSeconds + $1.finalCPUSeconds }
        let wall = budgets.reduce(0) { $0 + $1.searchSeconds + $1.finalSeconds }
        text += "\nIn all: \(fixed(wall, 1)) s of training, \(fixed(cpu, 1)) CPU s.\n\n## Best configurations\n\n"
            + "| Model | best trial | validation \(monitor) | hyperparameters | run file |\n|---|---:|---:|---|---|\n"
        for search in searches {
            text += "| \(search.label) | \(search.best.trial) | \(search.best.monitor.map { fixed($0, 4) } ?? "–") | "
                + "\(Self.values(search.best.values)) | `best/\(search.label).yaml` |\n"
        }
        return text
    }

    /// `search.md`: each model's space and every trial, with its monitor at each rung it reached.
    public var searchMarkdown: String {
        var text = "# Search history\n\n\(scheduleSummary); validation monitor `\(monitor)`; search seed \(settings.searchSeed). "
            + "Trial 0 keeps the defaults the space contains. Every record: `trials.jsonl`.\n"
        for search in searches {
            text += "\n## \(search.label)\n\nSpace: " + search.space.keys.map { "`\($0)` \(search.space.dimensions[$0]!.summary)" }.joined(separator: "; ")
            text += "\n\n| trial | hyperparameters | " + schedule.rungs.map { "\($0.epochs) ep" }.joined(separator: " | ") + " |\n|---:|---|"
                + schedule.rungs.map { _ in "---:|" }.joined() + "\n"
            for trial in 0..<settings.trials {
                let rows = search.records.filter { $0.trial == trial }
                guard let first = rows.first else { continue }
                let cells = schedule.rungs.indices.map { rung -> String in
                    guard let record = rows.first(where: { $0.rung == rung }) else { return "" }
                    let value = record.monitor.map { fixed($0, 4) } ?? "failed"
                    return record.trial == search.best.trial && rung == search.best.rung ? "**\(value)**" : value
                }
                text += "| \(trial) | \(Self.values(first.values)) | " + cells.joined(separator: " | ") + " |\n"
            }
            for failed in search.records where failed.failure != nil { text += "\nTrial \(failed.trial) rung \(failed.rung): \(failed.failure!)\n" }
        }
        return text
    }

    private static func values(_ values: [String: JSONValue]) -> String {
        values.keys.sorted().map { "\($0) \(values[$0]!.compactText)" }.joined(separator: ", ")
    }
}

/// `1 epoch`, `3 epochs`.
func epochs(_ count: Int) -> String { "\(count) epoch\(count == 1 ? "" : "s")" }

