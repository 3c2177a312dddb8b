#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// σ(z) computed stably: 1/(1 + e^{−z}) for z ≥ 0, e^z/(1 + e^z) otherwise (synthetic-data.md §1).
@inline(__always)
public func stableSigmoid(_ z: Double) -> Double {
    if z >= 0 { return 1 / (1 + exp(-z)) }
    let e = exp(z)
    return e / (1 + e)
}

/// The bias b with mean_i σ(b + scores_i) = `target` (synthetic-data.md §5.2): bisection on [−40, 40], at most
/// 200 halvings, stopping once the bracket is narrower than 1e-12; the mean is a Float64 sum in index order
/// divided by the count. This is how every generator hits a chosen base rate.
public func baseRateBias(scores: [Double], target: Double) -> Double {
    precondition(!scores.isEmpty && target > 0 && target < 1, "baseRateBias: \(scores.count) scores, target \(target)")
    var lo = -40.0, hi = 40.0
    for _ in 0..<200 {
        let mid = (lo + hi) / 2
        var sum = 0.0
        for s in scores { sum += stableSigmoid(mid + s) }
        if sum / Double(scores.count) < target { lo = mid } else { hi = mid }
        if hi - lo < 1e-12 { break }
    }
    return (lo + hi) / 2
}

/// The largest phi coefficient two binary labels with positive rates `a` and `b` can have (synthetic-data.md §4):
/// sqrt(π₁(1 − π₂)/(π₂(1 − π₁))) with π₁ = min, π₂ = max.
public func maximumPhi(rate a: Double, rate b: Double) -> Double {
    let p1 = min(a, b), p2 = max(a, b)
    return (p1 * (1 - p2) / (p2 * (1 - p1))).squareRoot()
}
