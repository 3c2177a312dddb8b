import FunnelCore

/// Overall progress of a comparison's runs: which run of how many is starting, the time elapsed and an estimate
/// of the time left (mean time of the finished runs × runs left).
struct ComparisonProgress {
    let runs: Int
    private(set) var finishedRuns = 0
    private let clock = ElapsedTimer()

    init(runs: Int) { self.runs = runs }

    /// The line announcing the next run, `label`.
    func starting(_ label: String) -> String {
        let elapsed = clock.seconds
        let left = finishedRuns == 0 ? "–" : duration(elapsed / Double(finishedRuns) * Double(runs - finishedRuns))
        return "run \(finishedRuns + 1) of \(runs): \(label)  (elapsed \(duration(elapsed)), ETA \(left))"
    }

    mutating func finished() { finishedRuns += 1 }
}

/// `seconds` as `1m05s` (or `42s`).
func duration(_ seconds: Double) -> String {
    let whole = Int(seconds.rounded())
    return whole >= 60 ? "\(whole / 60)m" + String(format: "%02ds", whole % 60) : "\(whole)s"
}
