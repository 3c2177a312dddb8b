import Foundation

/// Funnel vs PyTorch training-step throughput for several `BenchmarkCase`s in one run: per case and thread count,
/// `rounds` alternating runs of each side (Funnel first in even rounds, PyTorch first in odd ones, so that drifting
/// load on a shared host hits both), each in a fresh process, reported as medians and the median per-round ratio.
/// The twin's parameter count is compared with the Swift model's; a difference, a missing twin or a twin that
/// cannot build the configuration is reported, never skipped.
public struct StepComparison {
    /// One PyTorch run as `bench/pytorch_reference.py --json` reports it.
    public struct TwinRun: Sendable {
        public var samplesPerSecond: Double
        public var millisecondsPerStepMedian: Double
        public var millisecondsPerStepP90: Double
        public var peakResidentMiB: Double
        public var parameters: Int
        /// The twin trains on nested labels (`chained = True`).
        public var chained: Bool

        init?(_ line: [String: Any]) {
            guard let samples = line["samples_per_s"] as? Double, let median = line["ms_per_step_median"] as? Double,
                  let p90 = line["ms_per_step_p90"] as? Double, let rss = line["peak_rss_mib"] as? Double,
                  let parameters = line["parameters"] as? Int else { return nil }
            samplesPerSecond = samples
            millisecondsPerStepMedian = median
            millisecondsPerStepP90 = p90
            peakResidentMiB = rss
            self.parameters = parameters
            chained = line["chained"] as? Bool ?? false
        }
    }

    /// One case at one thread count.
    public struct Row: Sendable {
        public var benchCase: BenchmarkCase
        public var threads: Int
        public var funnel: [TrainingBenchmark.Result] = []
        public var twin: [TwinRun] = []
        /// Why the twin has no numbers (missing, or it rejected the configuration).
        public var twinProblem: String?

        /// Funnel / PyTorch samples/s per round.
        public var ratios: [Double] { zip(funnel, twin).map { $0.samplesPerSecond / $1.samplesPerSecond } }
    }

    public var cases: [BenchmarkCase]
    public var threadCounts: [Int]
    public var rounds: Int
    public var steps: Int
    public var warmup: Int
    /// nil: Funnel only.
    public var peer: PyTorchPeer?

    public init(cases: [BenchmarkCase], threadCounts: [Int], rounds: Int, steps: Int, warmup: Int, peer: PyTorchPeer?) {
        self.cases = cases
        self.threadCounts = threadCounts
        self.rounds = max(rounds, 1)
        self.steps = steps
        self.warmup = warmup
        self.peer = peer
    }

    /// The twin's command line for `benchCase` at `threads`.
    public func twinArguments(_ benchCase: BenchmarkCase, threads: Int) -> [String] {
        [benchCase.model, "--threads", "\(threads)", "--steps", "\(steps)", "--warmup", "\(warmup)",
         "--config", benchCase.overridesJSON, "--tasks", benchCase.tasks.rawValue, "--balancing", benchCase.balancing.rawValue]
    }

    /// Measures every case; `funnel` runs one Funnel measurement (in its own process), `rowFinished` gets each row
    /// as soon as it is complete.
    public func run(funnel: (BenchmarkCase, Int) throws -> TrainingBenchmark.Result, rowFinished: (Row) -> Void) throws -> [Row] {
        var rows: [Row] = []
        for benchCase in cases {
            for threads in threadCounts {
                var row = Row(benchCase: benchCase, threads: threads)
                for round in 0..<rounds {
                    if round % 2 == 1 { runTwin(&row) }
                    row.funnel.append(try funnel(benchCase, threads))
                    if round % 2 == 0 { runTwin(&row) }
                }
                rowFinished(row)
                rows.append(row)
            }
        }
        return rows
    }

    private func runTwin(_ row: inout Row) {
        guard let peer, row.twinProblem == nil else { return }
        do {
            let lines = try peer.run(twinArguments(row.benchCase, threads: row.threads))
            guard let run = lines.lazy.compactMap(TwinRun.init).first else {
                row.twinProblem = "the twin printed no result"
                return
            }
            row.twin.append(run)
        } catch {
            row.twinProblem = Self.reason(error)
        }
    }

    /// The last line of the twin's error output (an argparse "invalid choice" means there is no twin of that name).
    private static func reason(_ error: Error) -> String {
        guard case PyTorchPeer.Failure.failed(_, let output) = error else { return "\(error)" }
        let last = output.split(separator: "\n").last.map(String.init) ?? output
        return last.contains("invalid choice") ? "no PyTorch twin" : "twin failed: \(last)"
    }
}

extension StepComparison {
    /// The Markdown table header.
    public static let header = """
        | model | threads | params Funnel | params PyTorch | Funnel samples/s | PyTorch samples/s | ratio (range) | \
        Funnel ms/step p50 / p90 | PyTorch ms/step p50 / p90 | peak RSS MiB Funnel / PyTorch |
        |---|---:|---:|---:|---:|---:|---|---:|---:|---:|
        """

    /// One table line: medians over rounds; ratio = median of the per-round ratios (min–max).
    public static func markdown(_ row: Row) -> String {
        let f = row.funnel, t = row.twin
        let median = { (values: [Double]) in Statistics.median(values) }
        let funnelMS = "\(fixed(median(f.map(\.millisecondsPerStepMedian)))) / \(fixed(median(f.map(\.millisecondsPerStepP90))))"
        let funnelRSS = fixed(f.map(\.peakResidentMiB).max() ?? .nan, 0)
        let params = f.first.map { "\($0.parameters)" } ?? "–"
        guard !t.isEmpty else {
            let why = row.twinProblem ?? "not run"
            return "| \(row.benchCase.label) | \(row.threads) | \(params) | – | \(fixed(median(f.map(\.samplesPerSecond)), 0)) | "
                + "– (\(why)) | – | \(funnelMS) | – | \(funnelRSS) / – |"
        }
        let ratios = row.ratios
        let twinParams = t[0].parameters == f.first?.parameters ? "\(t[0].parameters)" : "**\(t[0].parameters)** ≠"
        return "| \(row.benchCase.label) | \(row.threads) | \(params) | \(twinParams) | "
            + "\(fixed(median(f.map(\.samplesPerSecond)), 0)) | \(fixed(median(t.map(\.samplesPerSecond)), 0)) | "
            + "**\(fixed(median(ratios), 2))×** (\(fixed(ratios.min()!, 2))–\(fixed(ratios.max()!, 2))) | \(funnelMS) | "
            + "\(fixed(median(t.map(\.millisecondsPerStepMedian)))) / \(fixed(median(t.map(\.millisecondsPerStepP90)))) | "
            + "\(funnelRSS) / \(fixed(t.map(\.peakResidentMiB).max()!, 0)) |"
    }

    /// What a reader must know about the rows: parameter-count and label differences, missing twins, and each case's
    /// configuration.
    public static func notes(_ rows: [Row]) -> [String] {
        var notes: [String] = [], seen: Set<String> = []
        for row in rows where seen.insert(row.benchCase.label).inserted {
            let c = row.benchCase
            var line = "\(c.label): `\(c.model)` \(c.overridesJSON), tasks \(c.tasks.rawValue), balancing \(c.balancing.rawValue)"
            if let loss = row.funnel.first { line += ", Funnel loss \(fixed(loss.firstLoss, 3)) → \(fixed(loss.lastLoss, 3))" }
            notes.append(line)
            if let problem = row.twinProblem { notes.append("  \(c.label): \(problem)") }
            if let twin = row.twin.first, let mine = row.funnel.first {
                if twin.parameters != mine.parameters {
                    notes.append("  \(c.label): PARAMETER COUNT DIFFERS: Funnel \(mine.parameters), PyTorch \(twin.parameters)")
                }
                if twin.chained != c.nestsLabels {
                    notes.append("  \(c.label): label nesting differs (Funnel \(c.nestsLabels), twin \(twin.chained))")
                }
            }
        }
        return notes
    }
}

/// A number with `digits` decimals.
func fixed(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
