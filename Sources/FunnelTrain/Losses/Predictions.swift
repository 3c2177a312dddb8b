import FunnelCore
import FunnelData
import FunnelModels

/// What metrics read from a head (metrics.md), `[B]`: the probability for binary heads (σ(z), Π_s σ(z_s), or the
/// probability itself) and the value on the original label scale for continuous heads (`scaling` inverted; the
/// ZILN mean σ(a)·exp(μ + σ²/2), with its exponent capped at `zilnExponentCap`, see
/// `ZeroInflatedLognormal.mean`). Works on inference outputs (no tape).
public func predictions(of head: TaskHead, scaling: TargetScaling = .identity, zilnExponentCap: Float? = 20) -> Tensor {
    switch head {
    case .logit(let z):
        return z.value.map({ v in sigmoid8(v) }, stableSigmoid)
    case .chain(let steps):
        precondition(!steps.isEmpty, "a chain head needs at least one step")
        let out = Tensor(repeating: 1, shape: steps[0].shape)
        for step in steps {
            for i in 0..<out.count { out.pointer[i] *= stableSigmoid(step.value.pointer[i]) }
        }
        return out
    case .probability(let p):
        return p.value
    case .value(let y):
        return scaling.inverted(y.value)
    case .zeroInflatedLognormal(let z):
        return ZeroInflatedLognormal.mean(logits: z.value, exponentCap: zilnExponentCap)
    }
}

/// `predictions(of:)` for every head of `output`, in task order (`scalings` empty = identity for all).
public func predictions(of output: ModelOutput, scalings: [TargetScaling] = []) -> [Tensor] {
    precondition(scalings.isEmpty || scalings.count == output.heads.count, "\(scalings.count) scalings for \(output.heads.count) heads")
    return output.heads.enumerated().map { t, head in predictions(of: head, scaling: scalings.isEmpty ? .identity : scalings[t]) }
}

@inline(__always)
private func sigmoid8(_ v: SIMD8<Float>) -> SIMD8<Float> {
    SIMD8(stableSigmoid(v[0]), stableSigmoid(v[1]), stableSigmoid(v[2]), stableSigmoid(v[3]),
          stableSigmoid(v[4]), stableSigmoid(v[5]), stableSigmoid(v[6]), stableSigmoid(v[7]))
}
