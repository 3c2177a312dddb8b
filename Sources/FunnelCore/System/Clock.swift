#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seconds on the monotonic clock since an arbitrary fixed point.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds this process has used so far, over all its threads.
public func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Elapsed wall-clock time since creation or the last lap (for progress reports, not for benchmarks).
public struct ElapsedTimer {
    private let start = monotonicSeconds()
    private var lastLap = monotonicSeconds()

    public init() {}

    /// Seconds since creation.
    public var seconds: Double { monotonicSeconds() - start }

    /// Seconds since the previous lap (or creation), starting a new lap.
    public mutating func lap() -> Double {
        let now = monotonicSeconds()
        defer { lastLap = now }
        return now - lastLap
    }
}
