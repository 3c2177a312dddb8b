import FunnelCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma & Ba), PyTorch semantics: bias-corrected moments, `θ ← θ − lr·m̂/(√v̂ + ε)`.
///
/// - `weightDecay` is coupled L2 (added to the gradient, PyTorch `Adam(weight_decay:)`) unless `decoupled`,
///   which gives AdamW (`θ ← θ·(1 − lr·λ)` before the update).
/// - `lazyRows` (lazy Adam, TensorFlow's `LazyAdam` / PyTorch's `SparseAdam`): for a row-sparse gradient (an
///   embedding table read by lookups) only the rows the batch read are updated — their moments and their value;
///   every other row is left bit-identical, moments included (they do not decay while the row is unused, so a row
///   seen again resumes from the moments of its last use). Bias correction uses the optimizer's global step count
///   t, not a per-row count, as `SparseAdam` does. Coupled weight decay likewise applies only to the rows read.
///   Within one batch the update equals dense Adam's for every row read; it differs only for rows not read, which
///   dense Adam keeps moving with their decaying first moment. The default for tables in training runs
///   (`OptimizerConfiguration.lazyEmbeddingRows`), off when Adam is built directly (PyTorch-dense semantics).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let decoupled: Bool, lazyRows: Bool
    /// Updates applied so far.
    public private(set) var stepCount = 0
    private let state = OptimizerState()

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false, lazyRows: Bool = false) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        self.lazyRows = lazyRows
    }

    /// AdamW: Adam with decoupled weight decay (default λ = 0.01 as PyTorch).
    public static func adamW(learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(learningRate: learningRate, weightDecay: weightDecay, decoupled: true)
    }

    public func snapshot(for parameters: [Parameter]) -> OptimizerSnapshot {
        OptimizerSnapshot(kind: "Adam", step: stepCount, tensors: state.snapshot(of: parameters, slotNames: Self.slotNames))
    }

    public func restore(_ snapshot: OptimizerSnapshot, for parameters: [Parameter]) throws {
        try checkKind(snapshot, "Adam")
        try state.restore(snapshot.tensors, of: parameters, slotNames: Self.slotNames)
        stepCount = snapshot.step
    }

    private static let slotNames = ["exp_avg", "exp_avg_sq"]

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - powf(beta1, t), correction2 = 1 - powf(beta2, t)
        let stepSize = learningRate / correction1, rootCorrection2 = correction2.squareRoot()
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let coupled = decoupled ? 0 : weightDecay, shrink = decoupled ? 1 - learningRate * weightDecay : 1
        for parameter in parameters {
            guard let gradient = parameter.gradient else { continue }
            let moments = state.tensors(for: parameter, count: 2)
            let (p, m, v) = (parameter.value.pointer, moments[0].pointer, moments[1].pointer)
            forEachUpdateRange(parameter, gradient, lazy: lazyRows) { start, rows, count in
                let g = rows - start
                // 8 lanes at a time; the same IEEE operations in the same order as the scalar tail.
                let (vb1, vb2, vc, vs) = (SIMD8<Float>(repeating: b1), SIMD8<Float>(repeating: b2),
                                          SIMD8<Float>(repeating: coupled), SIMD8<Float>(repeating: shrink))
                let (vr, ve, vstep) = (SIMD8<Float>(repeating: rootCorrection2), SIMD8<Float>(repeating: eps),
                                       SIMD8<Float>(repeating: stepSize))
                var i = start
                let end = start + count
                while i + 8 <= end {
                    var gi = load8(g + i), pi = load8(p + i)
                    if coupled != 0 { gi += vc * pi }
                    if shrink != 1 { pi *= vs }
                    let mi = vb1 * load8(m + i) + (1 - vb1) * gi
                    let vi = vb2 * load8(v + i) + (1 - vb2) * gi * gi
                    store8(mi, m + i)
                    store8(vi, v + i)
                    store8(pi - vstep * mi / (vi.squareRoot() / vr + ve), p + i)
                    i += 8
                }
                while i < end {
                    var gi = g[i]
                    if coupled != 0 { gi += coupled * p[i] }
                    if shrink != 1 { p[i] *= shrink }
                    m[i] = b1 * m[i] + (1 - b1) * gi
                    v[i] = b2 * v[i] + (1 - b2) * gi * gi
                    p[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + eps)
                    i += 1
                }
            }
        }
    }
}
