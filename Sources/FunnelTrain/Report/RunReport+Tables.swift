import Foundation

extension RunReport {
    /// Data, splits, models, training settings, seeds and wall time per run.
    var summarySection: String {
        var body = ""
        if let data = outcome.dataSummary {
            body += "<p>Data: \(escaped(data.description))</p>\n<table><tr><th class=\"name\">split</th><th>rows</th>"
                + data.tasks.map { "<th>\(escaped($0)) mean label</th>" }.joined() + "</tr>\n"
            for split in data.splits {
                body += "<tr><td class=\"name\">\(split.name)</td><td>\(split.rows)</td>"
                    + data.tasks.map { "<td>\(split.labelMeans[$0].map { fixed($0, 4) } ?? "–")</td>" }.joined() + "</tr>\n"
            }
            body += "</table>\n"
        } else if let data = outcome.data {
            body += "<p>Data: \(escaped(data))</p>\n"
        }
        body += "<table><tr><th class=\"name\">model</th><th class=\"name\">registry model</th><th>parameters</th>"
            + "<th class=\"name\">loss balancing</th><th>runs</th><th>mean s/run</th></tr>\n"
        for model in outcome.models {
            let runs = outcome.runs.filter { $0.model == model }
            let entry = outcome.entries?.first { $0.name == model }
            let seconds = runs.map(\.trainingSeconds).reduce(0, +) / Double(max(runs.count, 1))
            body += "<tr><td class=\"name\">\(escaped(model))</td><td class=\"name\">\(escaped(entry?.specification?.model ?? "–"))</td>"
                + "<td>\(runs.first.map { grouped($0.parameters) } ?? "–")</td><td class=\"name\">\(entry.map { balancingName($0.balancing) } ?? "–")</td>"
                + "<td>\(runs.count)</td><td>\(fixed(seconds, 1))</td></tr>\n"
        }
        body += "</table>\n"
        let total = outcome.runs.map(\.trainingSeconds).reduce(0, +)
        if let t = outcome.training {
            body += "<p>Training: up to \(t.epochs) epochs, batch \(t.batchSize), \(t.optimizer.kind.rawValue) lr \(t.optimizer.learningRate)"
                + (t.optimizer.weightDecay != 0 ? ", weight decay \(t.optimizer.weightDecay)" : "")
                + "; early stopping on validation <code>\(escaped(t.earlyStopping.monitor))</code> (patience \(t.earlyStopping.patience)), "
                + "best epoch restored; test split scored once.</p>\n"
        }
        body += "<p>Seeds \(outcome.seeds.map(String.init).joined(separator: ", ")); \(outcome.runs.count) runs, "
            + "\(duration(total)) of training in all.</p>\n"
        body += "<table><tr><th class=\"name\">model</th><th>seed</th><th>best epoch</th><th>epochs</th><th>steps</th><th>seconds</th></tr>\n"
        for run in outcome.runs {
            body += "<tr><td class=\"name\">\(escaped(run.model))</td><td>\(run.seed)</td><td>\(run.bestEpoch)</td><td>\(run.epochs)</td>"
                + "<td>\(run.steps)</td><td>\(fixed(run.trainingSeconds, 1))</td></tr>\n"
        }
        return section("summary", body + "</table>\n")
    }

    /// Mean ± std per task and metric; for every other model the paired difference to the baseline over seeds,
    /// its p-value, and a green (better) or red (worse) cell where p < 0.05.
    var metricSection: String {
        var columns: [(task: String, metric: String)] = []
        for task in outcome.tasks {
            for metric in ComparisonOutcome.tableMetrics where outcome.runs.contains(where: { $0.test[task]?[metric] != nil }) {
                columns.append((task, metric))
            }
        }
        var body = "<p class=\"note\">Mean ± sample std over seeds on the test split. Below each cell: the mean paired "
            + "difference to <b>\(escaped(baseline))</b> over the seeds both ran, and the two-sided p-value of a paired t-test "
            + "(n − 1 degrees of freedom; none with one seed). Green / red: significantly better / worse at p &lt; 0.05 "
            + "(AUC, GAUC, Gini, Spearman: higher is better; logloss, NRMSE: lower).</p>\n"
        body += "<table><tr><th class=\"name\">model</th>" + columns.map { "<th>\(escaped($0.task)) \($0.metric)</th>" }.joined() + "</tr>\n"
        for model in outcome.models {
            body += "<tr><td class=\"name\">\(escaped(model))</td>"
            for column in columns {
                guard let a = outcome.aggregate(model: model, task: column.task, metric: column.metric) else { body += "<td>–</td>"; continue }
                let cell = "\(fixed(a.mean, 4)) ± \(fixed(a.std, 4))"
                if model == baseline { body += "<td class=\"baseline\">\(cell)<small>baseline</small></td>"; continue }
                let test = pairedTest(model: model, task: column.task, metric: column.metric)
                let higherIsBetter = ["auc", "gauc", "gini", "spearman"].contains(column.metric)
                let better = (test.meanDifference > 0) == higherIsBetter
                let mark = test.isSignificant() ? " class=\"\(better ? "better" : "worse")\"" : ""
                let p = test.pValue.map { "p \(String(format: $0 < 0.001 ? "%.1e" : "%.3f", $0))" } ?? "p –"
                body += "<td\(mark)>\(cell)<small>Δ \(signed(test.meanDifference)) (\(p))</small></td>"
            }
            body += "</tr>\n"
        }
        body += "</table>\n<div class=\"charts\">\n"
        for task in outcome.tasks {
            guard let metric = primaryMetric(of: task) else { continue }
            let rows = outcome.models.compactMap { model in
                outcome.aggregate(model: model, task: task, metric: metric).map {
                    IntervalChart.Row(label: model, color: color(of: model), mean: $0.mean, std: $0.std)
                }
            }
            let reference = outcome.aggregate(model: baseline, task: task, metric: metric)?.mean
            body += IntervalChart(title: "\(task) test \(metric): mean ± std (dashed: \(baseline))", axisLabel: "\(task) \(metric)",
                                  rows: rows, reference: reference).svg
        }
        return section("metrics", body + "</div>\n")
    }

    /// The paired test of `model` against the baseline on one test metric, over the seeds both have.
    func pairedTest(model: String, task: String, metric: String) -> PairedTest {
        let base = Dictionary(outcome.runs.filter { $0.model == baseline }.compactMap { run in run.test[task]?[metric].map { (run.seed, $0) } },
                              uniquingKeysWith: { first, _ in first })
        let differences = outcome.runs.filter { $0.model == model }.compactMap { run -> Double? in
            guard let value = run.test[task]?[metric], let reference = base[run.seed] else { return nil }
            return value - reference
        }
        return PairedTest(differences: differences)
    }

    /// The metric that ranks a task: AUC for a binary task, Gini for a continuous one, else the first table metric.
    func primaryMetric(of task: String) -> String? {
        let present = ComparisonOutcome.tableMetrics.filter { metric in outcome.runs.contains { $0.test[task]?[metric] != nil } }
        return ["auc", "gini"].first(where: present.contains) ?? present.first
    }
}

/// `value` with a sign and four decimals.
func signed(_ value: Double) -> String { (value >= 0 ? "+" : "−") + fixed(abs(value), 4) }

/// An integer with thousands separators (`126,216`).
func grouped(_ value: Int) -> String {
    let digits = String(abs(value))
    var out = ""
    for (i, character) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(character)
    }
    return (value < 0 ? "-" : "") + out
}

/// The registry name of a balancing method (`BalancingMethod.names`).
func balancingName(_ method: BalancingMethod) -> String {
    switch method {
    case .fixed: return "fixed"
    case .uncertainty: return "uncertainty"
    case .gradNorm: return "gradnorm"
    case .pcGrad: return "pcgrad"
    case .metaBalance: return "metabalance"
    case .htlnet: return "htlnet"
    }
}
