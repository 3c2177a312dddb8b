import Foundation

/// A paired t-test over seeds: the differences d_i = model_i − baseline_i of runs with the same seed, their mean,
/// and the two-sided p-value of H0: E[d] = 0 under Student's t with n − 1 degrees of freedom (metrics.md §11).
public struct PairedTest: Equatable, Sendable {
    public var meanDifference: Double
    /// Number of pairs.
    public var pairs: Int
    /// nil with fewer than two pairs; 0 when every difference is the same nonzero value, 1 when all are zero.
    public var pValue: Double?

    public init(differences d: [Double]) {
        pairs = d.count
        meanDifference = d.isEmpty ? 0 : d.reduce(0, +) / Double(d.count)
        guard d.count >= 2 else { pValue = nil; return }
        let mean = meanDifference
        let variance = d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d.count - 1)
        guard variance > 0 else { pValue = mean == 0 ? 1 : 0; return }
        let t = mean / (variance / Double(d.count)).squareRoot(), df = Double(d.count - 1)
        pValue = regularizedIncompleteBeta(df / (df + t * t), a: df / 2, b: 0.5)
    }

    /// Whether the difference is significant at `level`.
    public func isSignificant(at level: Double = 0.05) -> Bool { pValue.map { $0 < level } ?? false }
}

/// I_x(a, b), by the continued fraction of Numerical Recipes §6.4 (Lentz's method).
func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a) }
    let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
    let front: Double = exp(a * log(x) + b * log(1 - x) - logBeta)
    let tiny = 1e-300
    var c = 1.0, d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var f = d
    for m in 1...300 {
        let m = Double(m)
        let evenDenominator: Double = (a + 2 * m - 1) * (a + 2 * m)
        let even: Double = m * (b - m) * x / evenDenominator
        d = 1 + even * d; if abs(d) < tiny { d = tiny }
        c = 1 + even / c; if abs(c) < tiny { c = tiny }
        d = 1 / d; f *= d * c
        let oddDenominator: Double = (a + 2 * m) * (a + 2 * m + 1)
        let odd: Double = -(a + m) * (a + b + m) * x / oddDenominator
        d = 1 + odd * d; if abs(d) < tiny { d = tiny }
        c = 1 + odd / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        let delta = d * c
        f *= delta
        if abs(delta - 1) < 1e-12 { break }
    }
    return front * f / a
}
