import Foundation

/// A grouped bar chart of a comparison as standalone SVG (no dependency): one group per task, one bar per model
/// at the mean test metric over seeds, with a ±1 sample-std error bar, a value axis with ticks, and a legend.
///
/// Each task shows `metric` when given (tasks without it are left out), otherwise its primary metric: AUC for
/// binary tasks, normalised Gini for continuous ones (the metric is printed under each group). Bars are
/// `<rect class="bar" data-model="…" data-task="…" data-metric="…">` with a `<title>` tooltip, so the chart can
/// be checked or restyled by machine. The value axis spans the data (marked when it does not start at 0), because
/// the differences that matter between models are often in the third decimal.
public struct ComparisonChart {
    /// One bar.
    public struct Bar: Equatable, Sendable {
        public var model: String
        public var task: String
        public var metric: String
        public var mean: Double
        public var std: Double
    }

    public let title: String
    /// Groups (tasks) in order, each with its metric and bars in model order.
    public let groups: [(task: String, metric: String, bars: [Bar])]
    public let models: [String]

    public init(_ result: ComparisonResult, metric: String? = nil) {
        var groups: [(String, String, [Bar])] = []
        for task in result.tasks {
            let reported = result.metricNames.filter { name in result.runs.contains { $0.test[task]?[name] != nil } }
            let chosen = metric.map { reported.contains($0) ? $0 : nil } ?? (["auc", "gini"].first(where: reported.contains) ?? reported.first)
            guard let chosen else { continue }
            let bars = result.models.compactMap { model in
                result.aggregate(model: model, task: task, metric: chosen).map { Bar(model: model, task: task, metric: chosen, mean: $0.mean, std: $0.std) }
            }
            if !bars.isEmpty { groups.append((task, chosen, bars)) }
        }
        self.groups = groups
        self.models = result.models
        let seeds = result.seeds.count
        title = (metric ?? "AUC / Gini") + " on the test split: mean ± std over \(seeds) seed\(seeds == 1 ? "" : "s")"
    }

    // Layout in SVG user units.
    private static let barWidth = 22.0, groupGap = 36.0, plotHeight = 260.0
    private static let left = 64.0, top = 48.0, bottom = 56.0, legendWidth = 190.0
    private static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                  "#9c755f", "#bab0ac"]

    /// The SVG document.
    public var svg: String {
        let groupWidth = Double(max(models.count, 1)) * Self.barWidth
        let plotWidth = max(Double(groups.count) * (groupWidth + Self.groupGap), 120)
        let width = Self.left + plotWidth + Self.legendWidth, height = Self.top + Self.plotHeight + Self.bottom
        let (low, high, ticks) = axis()
        let y = { (value: Double) in Self.top + Self.plotHeight * (1 - (value - low) / (high - low)) }
        var out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" "
                   + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">",
                   "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"white\"/>",
                   "<text x=\"\(n(Self.left))\" y=\"24\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>"]
        for tick in ticks {
            out.append("<line x1=\"\(n(Self.left))\" x2=\"\(n(Self.left + plotWidth))\" y1=\"\(n(y(tick)))\" y2=\"\(n(y(tick)))\" stroke=\"#e0e0e0\"/>")
            out.append("<text x=\"\(n(Self.left - 6))\" y=\"\(n(y(tick) + 4))\" text-anchor=\"end\">\(label(tick, ticks))</text>")
        }
        out.append("<line x1=\"\(n(Self.left))\" x2=\"\(n(Self.left))\" y1=\"\(n(Self.top))\" y2=\"\(n(Self.top + Self.plotHeight))\" stroke=\"#333\"/>")
        out.append("<line x1=\"\(n(Self.left))\" x2=\"\(n(Self.left + plotWidth))\" y1=\"\(n(Self.top + Self.plotHeight))\" "
                   + "y2=\"\(n(Self.top + Self.plotHeight))\" stroke=\"#333\"/>")
        if low != 0 {
            out.append("<text x=\"\(n(Self.left - 6))\" y=\"\(n(Self.top + Self.plotHeight + 16))\" text-anchor=\"end\" fill=\"#888\" "
                       + "font-size=\"10\">axis from \(label(low, ticks))</text>")
        }
        for (g, group) in groups.enumerated() {
            let start = Self.left + Self.groupGap / 2 + Double(g) * (groupWidth + Self.groupGap)
            for bar in group.bars {
                let index = models.firstIndex(of: bar.model) ?? 0
                let x = start + Double(index) * Self.barWidth, top = y(bar.mean), centre = x + Self.barWidth / 2
                let color = Self.palette[index % Self.palette.count]
                out.append("<rect class=\"bar\" data-model=\"\(escape(bar.model))\" data-task=\"\(escape(bar.task))\" "
                           + "data-metric=\"\(escape(bar.metric))\" data-mean=\"\(bar.mean)\" data-std=\"\(bar.std)\" x=\"\(n(x + 1))\" "
                           + "y=\"\(n(top))\" width=\"\(n(Self.barWidth - 2))\" height=\"\(n(Self.top + Self.plotHeight - top))\" fill=\"\(color)\">"
                           + "<title>\(escape("\(bar.model) · \(bar.task) \(bar.metric) = \(fixed(bar.mean, 4)) ± \(fixed(bar.std, 4))"))</title></rect>")
                if bar.std > 0 {
                    let (upper, lower) = (y(bar.mean + bar.std), y(bar.mean - bar.std))
                    out.append("<g class=\"error\" stroke=\"#222\" stroke-width=\"1.2\"><line x1=\"\(n(centre))\" x2=\"\(n(centre))\" "
                               + "y1=\"\(n(upper))\" y2=\"\(n(lower))\"/><line x1=\"\(n(centre - 5))\" x2=\"\(n(centre + 5))\" y1=\"\(n(upper))\" "
                               + "y2=\"\(n(upper))\"/><line x1=\"\(n(centre - 5))\" x2=\"\(n(centre + 5))\" y1=\"\(n(lower))\" y2=\"\(n(lower))\"/></g>")
                }
            }
            let middle = start + groupWidth / 2
            out.append("<text x=\"\(n(middle))\" y=\"\(n(Self.top + Self.plotHeight + 18))\" text-anchor=\"middle\">\(escape(group.task))</text>")
            out.append("<text x=\"\(n(middle))\" y=\"\(n(Self.top + Self.plotHeight + 34))\" text-anchor=\"middle\" fill=\"#555\">"
                       + "\(escape(group.metric))</text>")
        }
        for (index, model) in models.enumerated() {
            let x = Self.left + plotWidth + 20, rowY = Self.top + Double(index) * 20
            out.append("<rect x=\"\(n(x))\" y=\"\(n(rowY))\" width=\"12\" height=\"12\" fill=\"\(Self.palette[index % Self.palette.count])\"/>")
            out.append("<text x=\"\(n(x + 18))\" y=\"\(n(rowY + 10))\">\(escape(model))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The value range (bars start at `low`) and tick values: the data's extent with error bars, padded, on
    /// round steps; starts at 0 when that costs little.
    private func axis() -> (low: Double, high: Double, ticks: [Double]) {
        let bars = groups.flatMap(\.bars)
        var low = bars.map { $0.mean - $0.std }.min() ?? 0, high = bars.map { $0.mean + $0.std }.max() ?? 1
        let span = max(high - low, max(abs(high), 1) * 1e-3)
        low -= 0.15 * span
        high += 0.15 * span
        if low > 0, low < 0.25 * high { low = 0 }
        if (bars.map { $0.mean - $0.std }.min() ?? 0) >= 0, low < 0 { low = 0 }
        let rough = (high - low) / 5, magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        low = (low / step).rounded(.down) * step
        high = (high / step).rounded(.up) * step
        let ticks = stride(from: low, through: high + step / 2, by: step).map { ($0 / step).rounded() * step }
        return (low, high, ticks)
    }

    private func label(_ value: Double, _ ticks: [Double]) -> String {
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let digits = max(0, min(6, Int((-log10(step)).rounded(.up)) + 1))
        return fixed(value, digits)
    }

    private func n(_ value: Double) -> String { fixed(value, 1) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
