extension RunReport {
    /// Per task: training loss and the validation metric per epoch of each model's first run, best epoch ringed.
    var curveSection: String {
        let runs = firstRuns.filter { $0.details?.history.isEmpty == false }
        guard !runs.isEmpty else { return section("learning-curves", "<p class=\"note\">No epoch history recorded.</p>\n") }
        var body = "<p class=\"note\">Seed \(runs[0].seed) of each model (the first seed). Ringed: the best epoch by the "
            + "early-stopping monitor, whose weights were restored and tested.</p>\n" + legend
        for task in outcome.tasks {
            let metric = validationMetric(of: task, in: runs)
            body += "<h3>\(escaped(task))</h3>\n<div class=\"charts\">\n"
            body += LineChart(title: "\(task): training loss per epoch", xLabel: "epoch", yLabel: "mean training loss",
                              series: runs.map { series($0, task: task) { $0.trainingLoss[task] } }, integerX: true).svg
            body += LineChart(title: "\(task): validation \(metric) per epoch", xLabel: "epoch", yLabel: "validation \(metric)",
                              series: runs.map { series($0, task: task) { $0.validation[task]?[metric] } }, integerX: true).svg
            body += "</div>\n"
        }
        return section("learning-curves", body)
    }

    /// The metric a task's validation curve shows: AUC (binary), Gini (continuous), else the loss.
    private func validationMetric(of task: String, in runs: [ComparisonRun]) -> String {
        let present = Set(runs.flatMap { $0.details!.history.flatMap { $0.validation[task]?.keys.map { $0 } ?? [] } })
        return ["auc", "gini", "loss"].first(where: present.contains) ?? "loss"
    }

    private func series(_ run: ComparisonRun, task: String, value: (EpochRecord) -> Double?) -> LineChart.Series {
        let history = run.details?.history ?? []
        let points = history.compactMap { record in value(record).map { (x: Double(record.epoch), y: $0) } }
        return LineChart.Series(name: run.model, color: color(of: run.model), points: points, markers: true,
                                highlighted: points.filter { Int($0.x) == run.bestEpoch })
    }

    /// A reliability diagram per binary task (each model's first run; ECE over every seed).
    var calibrationSection: String {
        var body = ""
        for (t, task) in outcome.tasks.enumerated() {
            let runs = firstRuns.filter { $0.details?.diagnostics[t].calibration != nil }
            guard !runs.isEmpty else { continue }
            let series = runs.map { run in
                LineChart.Series(name: run.model, color: color(of: run.model),
                                 points: run.details!.diagnostics[t].calibration!.map { (x: $0.meanPrediction, y: $0.observedRate) }, markers: true)
            }
            let extent = series.flatMap { $0.points.flatMap { [$0.x, $0.y] } }.max() ?? 1
            let diagonal = LineChart.Series(name: "perfectly calibrated", color: "#8c959f", points: [(0, 0), (extent, extent)], dashed: true)
            body += "<h3>\(escaped(task))</h3>\n<div class=\"charts\">\n"
                + LineChart(title: "\(task): reliability (10 probability bins)", xLabel: "mean predicted probability in bin",
                            yLabel: "observed positive rate", series: [diagonal] + series, xLimits: 0...1, yLimits: 0...1).svg
                + "<table><tr><th class=\"name\">model</th><th>ECE mean ± std</th></tr>\n"
            for model in outcome.models {
                let errors = outcome.runs.filter { $0.model == model }.compactMap { $0.details?.diagnostics[t].expectedCalibrationError }
                guard !errors.isEmpty else { continue }
                let (mean, std) = meanAndStd(errors)
                body += "<tr><td class=\"name\"><span class=\"legend\"><i style=\"background:\(color(of: model))\"></i></span>"
                    + "\(escaped(model))</td><td>\(fixed(mean, 4)) ± \(fixed(std, 4))</td></tr>\n"
            }
            body += "</table>\n</div>\n"
        }
        let note = "<p class=\"note\">Test rows of each task's evaluation space, binned by predicted probability; a point per "
            + "non-empty bin of the first seed. Expected calibration error (ECE) = Σ (rows in bin / rows) · |mean prediction − observed rate|.</p>\n"
        return section("calibration", body.isEmpty ? "<p class=\"note\">No binary task.</p>\n" : note + body)
    }

    /// Cumulative-gain (Lorenz) curves per continuous task against the oracle and random ranking, with Gini.
    var gainSection: String {
        var body = ""
        for (t, task) in outcome.tasks.enumerated() {
            let runs = firstRuns.filter { $0.details?.diagnostics[t].gain != nil }
            guard let oracle = runs.first?.details?.diagnostics[t].gain else { continue }
            let series = runs.map { run -> LineChart.Series in
                let gain = run.details!.diagnostics[t].gain!
                return LineChart.Series(name: run.model, color: color(of: run.model), points: zip(gain.rowShares, gain.model).map { (x: $0, y: $1) })
            }
            let references = [LineChart.Series(name: "random", color: "#8c959f", points: [(0, 0), (1, 1)], dashed: true),
                              LineChart.Series(name: "oracle", color: "#1b1f24", points: zip(oracle.rowShares, oracle.oracle).map { (x: $0, y: $1) },
                                               dashed: true)]
            body += "<h3>\(escaped(task))</h3>\n<div class=\"charts\">\n"
                + LineChart(title: "\(task): cumulative gain (Lorenz)", xLabel: "share of test rows, ranked by prediction",
                            yLabel: "share of total \(task)", series: references + series, xLimits: 0...1, yLimits: 0...1).svg
                + "<table><tr><th class=\"name\">model</th><th>Gini mean ± std</th></tr>\n"
            for model in outcome.models {
                guard let gini = outcome.aggregate(model: model, task: task, metric: "gini") else { continue }
                body += "<tr><td class=\"name\"><span class=\"legend\"><i style=\"background:\(color(of: model))\"></i></span>"
                    + "\(escaped(model))</td><td>\(fixed(gini.mean, 4)) ± \(fixed(gini.std, 4))</td></tr>\n"
            }
            body += "</table>\n</div>\n"
        }
        let note = "<p class=\"note\">Rows ranked by predicted value (first seed); the curve is the share of the task's total "
            + "captured by the top rows. Dashed black: ranking by the true value (oracle); dashed grey: random. Gini is the "
            + "test metric (normalised by the oracle, metrics.md).</p>\n"
        return section("gain", body.isEmpty ? "<p class=\"note\">No continuous task.</p>\n" : note + legend + body)
    }

    /// Every heat map of each model's first inspected run.
    var inspectionSection: String {
        var body = ""
        for model in outcome.models {
            guard let run = outcome.runs.first(where: { $0.model == model && $0.details?.heatmaps.isEmpty == false }) else { continue }
            body += "<h3>\(escaped(model)), seed \(run.seed)</h3>\n"
                + run.details!.heatmaps.map { HeatmapChart(map: $0).svg }.joined()
        }
        let note = "<p class=\"note\">Means over up to 4,096 test rows; darker = larger within each table.</p>\n"
        return section("inspections", body.isEmpty ? "<p class=\"note\">No model of this run offers an inspection.</p>\n" : note + body)
    }
}

/// Mean and sample standard deviation (0 for one value).
func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
    let mean = values.reduce(0, +) / Double(max(values.count, 1))
    guard values.count > 1 else { return (mean, 0) }
    return (mean, (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot())
}
