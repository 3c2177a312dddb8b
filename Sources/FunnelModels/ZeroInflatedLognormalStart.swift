import Foundation

/// Where a continuous task's log amounts lie on the training split: the mean and standard deviation of log y over
/// its positive rows (what the lognormal part of a ZILN head should start from).
public struct LogAmountStatistics: Equatable, Sendable {
    public var mean: Float, std: Float

    public init(mean: Float, std: Float) {
        self.mean = mean
        self.std = std
    }
}

/// A model whose ZILN heads must start at the data's log scale to train (see docs/aitm-ziln.md). Trainers call
/// `startZeroInflatedLognormal(at:)` once, before the first step of a fresh run, with the statistics of every
/// ZILN task by name.
public protocol ZeroInflatedLognormalStart: AnyObject {
    func startZeroInflatedLognormal(at statistics: [String: LogAmountStatistics])
}

extension AITM: ZeroInflatedLognormalStart {
    /// Sets each ZILN head's output biases so that μ = mean log y⁺ and σ = softplus(s_raw) = std log y⁺ at the
    /// start. AITM's heads are one linear layer over small-initialised, transfer-mixed representations, so from
    /// μ ≈ 0 they cannot reach log amounts of ~4 at Adam's per-step pace: σ inflates instead, and the predicted
    /// mean exp(μ + σ²/2) then ranks rows by σ, inverting the amount's ranking (docs/aitm-ziln.md).
    public func startZeroInflatedLognormal(at statistics: [String: LogAmountStatistics]) {
        for (t, task) in tasks.enumerated() where task.loss == .zeroInflatedLognormal {
            guard let s = statistics[task.name], let bias = heads[t].output.bias else { continue }
            bias.value.pointer[1] = s.mean
            let sigma = max(s.std, 0.05)
            bias.value.pointer[2] = sigma + Float(log1p(-exp(-Double(sigma))))  // softplus⁻¹(σ)
        }
    }
}
