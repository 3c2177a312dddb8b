#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FunnelCore

/// Wall-clock measurement helpers for benchmarks.
public enum Stopwatch {
    /// Seconds since an arbitrary fixed point (monotonic clock).
    public static func now() -> Double { monotonicSeconds() }

    /// Seconds taken by one call of `body`.
    public static func time(_ body: () -> Void) -> Double {
        let start = now()
        body()
        return now() - start
    }

    /// Median seconds per call of `body`: after a warm-up, `measurements` timings, each repeating `body` enough
    /// times to last at least `minimumSeconds`.
    public static func medianSecondsPerCall(measurements: Int = 5, minimumSeconds: Double = 0.2, _ body: () -> Void) -> Double {
        var reps = 1
        while true {
            let t = time { for _ in 0..<reps { body() } }
            if t >= minimumSeconds / 4 || reps >= 1 << 20 {
                reps = max(1, Int(Double(reps) * minimumSeconds / max(t, 1e-9)))
                break
            }
            reps *= 4
        }
        var samples: [Double] = []
        for _ in 0..<measurements {
            samples.append(time { for _ in 0..<reps { body() } } / Double(reps))
        }
        return Statistics.median(samples)
    }

    /// Peak resident set size of this process, in MiB (`ru_maxrss`).
    public static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF_ID, &usage)
        #if os(Linux)
        return Double(usage.ru_maxrss) / 1024
        #else
        return Double(usage.ru_maxrss) / (1024 * 1024)
        #endif
    }
}

#if os(Linux)
private let RUSAGE_SELF_ID = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let RUSAGE_SELF_ID = RUSAGE_SELF
#endif

/// Order statistics for benchmark samples.
public enum Statistics {
    /// The median of `values` (mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    /// The `q`-quantile of `values` by linear interpolation between order statistics.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty, "percentile of no values")
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] * (1 - fraction) + sorted[upper] * fraction
    }
}
