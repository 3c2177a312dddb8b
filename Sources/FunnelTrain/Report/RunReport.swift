import Foundation
import FunnelData

/// One self-contained HTML page about a finished comparison (or a single training run): the run summary, the
/// metric table with paired differences against a baseline, learning curves, reliability diagrams, cumulative-gain
/// curves and the models' heat maps. Inline CSS and SVG only: no script, no external resource, and the same
/// bytes for the same outcome (no clock, sorted keys, fixed number formats).
///
/// Everything it draws comes from `ComparisonOutcome` as `comparison.json` stores it (each run's `details`:
/// epoch history, test diagnostics, heat maps; the outcome's `dataSummary`), so `funnel report RUN_DIR` redraws
/// it later from the file alone.
public struct RunReport {
    public var outcome: ComparisonOutcome
    /// The model the paired differences are taken against.
    public var baseline: String

    /// - Parameter baseline: an entry of `outcome` (nil: its first model).
    public init(_ outcome: ComparisonOutcome, baseline: String? = nil) throws {
        guard let first = outcome.models.first else { throw RunReportError.empty }
        if let baseline, !outcome.models.contains(baseline) {
            throw RunReportError.unknownBaseline(baseline, outcome.models)
        }
        self.outcome = outcome
        self.baseline = baseline ?? first
    }

    /// The report of the run directory `directory` (its `comparison.json`).
    public init(directory: URL, baseline: String? = nil) throws {
        let url = directory.appendingPathComponent(ComparisonOutcome.jsonFileName)
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw RunReportError.missing(url.path) }
        try self.init(try ComparisonOutcome(jsonData: data), baseline: baseline)
    }

    /// The file name the report is written under.
    public static let fileName = "report.html"

    /// Writes `report.html` into `directory` (a temporary file, flushed, then renamed over any old report).
    @discardableResult
    public func write(to directory: URL) throws -> URL {
        let url = directory.appendingPathComponent(Self.fileName)
        try OutputFile.write(Data(html.utf8), to: url, overwrite: true)
        return url
    }

    /// The page.
    public var html: String {
        let title = outcome.models.count == 1 && outcome.seeds.count == 1
            ? "Funnel training run: \(outcome.models[0]), seed \(outcome.seeds[0])" : "Funnel comparison: \(outcome.models.joined(separator: ", "))"
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>\(escaped(title))</title>\n"
            + "<style>\n\(Self.style)</style>\n</head>\n<body>\n<h1>\(escaped(title))</h1>\n"
        page += navigation
        page += summarySection + metricSection + curveSection + calibrationSection + gainSection + inspectionSection
        return page + "<footer>Written by <code>funnel report</code> from comparison.json.</footer>\n</body>\n</html>\n"
    }

    /// The sections in page order: id and heading.
    static let sections = [("summary", "Run summary"), ("metrics", "Test metrics"), ("learning-curves", "Learning curves"),
                           ("calibration", "Calibration"), ("gain", "Cumulative gain"), ("inspections", "Inspections")]

    private var navigation: String {
        "<nav>" + Self.sections.map { "<a href=\"#\($0.0)\">\($0.1)</a>" }.joined(separator: " · ") + "</nav>\n"
    }

    /// `<section id=…><h2>…</h2>` + `body` + `</section>`.
    func section(_ id: String, _ body: String) -> String {
        let heading = Self.sections.first { $0.0 == id }?.1 ?? id
        return "<section id=\"\(id)\">\n<h2>\(heading)</h2>\n\(body)</section>\n"
    }

    /// The color of model `name` (stable across every chart of the page).
    func color(of name: String) -> String {
        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
        return palette[(outcome.models.firstIndex(of: name) ?? 0) % palette.count]
    }

    /// The first run of every model (the one whose curves and heat maps are drawn), in model order.
    var firstRuns: [ComparisonRun] {
        outcome.models.compactMap { model in outcome.runs.first { $0.model == model } }
    }

    /// A legend of the models' colors.
    var legend: String {
        "<p class=\"legend\">" + outcome.models.map { "<span><i style=\"background:\(color(of: $0))\"></i>\(escaped($0))</span>" }
            .joined(separator: " ") + "</p>\n"
    }

    static let style = """
        body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1b1f24;max-width:1040px;margin:24px auto;padding:0 20px}
        h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:34px}
        h3{font-size:15px;margin:18px 0 6px}nav{color:#57606a;margin-bottom:8px}nav a{color:#0969da;text-decoration:none}
        table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
        th{background:#f6f8fa}td.name,th.name{text-align:left}td small{display:block;color:#57606a}
        td.better{background:#dafbe1}td.worse{background:#ffebe9}td.baseline{background:#f6f8fa}
        .grid{stroke:#eaeef2;stroke-width:1}.frame{fill:none;stroke:#8c959f;stroke-width:1}.reference{stroke:#57606a;stroke-dasharray:4 3}
        .whisker{stroke-width:2.5}.missing{fill:#eaeef2}.tick,.label,.value{font-size:11px;fill:#1b1f24}.axis{font-size:12px;fill:#57606a}
        .title{font-size:13px;font-weight:600;fill:#1b1f24}svg.chart{width:100%;height:auto;max-width:500px}svg.heatmap{max-width:100%}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:10px 18px;align-items:start}
        .legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:11px;height:11px;margin-right:5px;border-radius:2px}
        p.note{color:#57606a;margin:4px 0 10px}footer{color:#8c959f;margin-top:40px;font-size:12px}code{font-size:12.5px}

        """
}

/// Why a report cannot be drawn.
public enum RunReportError: Error, CustomStringConvertible {
    case empty
    case unknownBaseline(String, [String])
    case missing(String)

    public var description: String {
        switch self {
        case .empty: return "the comparison has no models"
        case let .unknownBaseline(name, models): return "baseline '\(name)' is not a model of this run (\(models.joined(separator: ", ")))"
        case let .missing(path): return "\(path): not found (a run directory of `funnel compare --out` or `funnel train --checkpoint`)"
        }
    }
}
