import FunnelCore

/// HTLNet's gradient adjustment of the shared parameters ("Algorithm 1", the paper's Eq. 16–17; `htlnet.md` §5):
/// the classification tasks' gradients are turned away from conflicts with the core (regression) task's gradient
/// and rescaled toward its norm, then everything is summed. With G_c the core task's gradient, for each t ≠ c:
/// ```
/// projection (Eq. 16):  if ⟨G_t, G_c⟩ < 0:  G_t ← G_t − α · ⟨G_t, G_c⟩ / (‖G_c‖² + ε) · G_c
/// magnitude  (Eq. 17):  w_t = clip(‖G_c‖ / (‖G_t‖ + ε), 1/C, C);   G_t ← (γ·w_t + 1 − γ) · G_t
/// G_shared = G_c + Σ_{t≠c} G_t
/// ```
/// Dot products and norms are over all shared tensors flattened together, in Float64, with ε = 1e-12; the
/// projection is skipped when ‖G_c‖² < 1e-20. The core gradient is never modified.
///
/// Everything is derived from the Gram entries ‖G_c‖², ‖G_t‖², ⟨G_t, G_c⟩ (the projected norm is
/// ‖G_t − a·G_c‖² = ‖G_t‖² − 2a⟨G_t, G_c⟩ + a²‖G_c‖²), so the result is one linear combination
/// Σ_k coefficient_k · G_k computed in a single pass over the touched rows — no intermediate vectors.
/// A pure function of per-task `GradientSet`s, to be wrapped by a loss balancer.
public struct HTLNetGradientAdjustment: Codable, Equatable, Sendable {
    /// Which norm of G_t the magnitude weight w_t uses.
    public enum NormSource: String, Codable, Sendable { case afterProjection, beforeProjection }
    /// Clip of w_t: to [1/C, C], or only from above.
    public enum ClipMode: String, Codable, Sendable { case symmetric, upperOnly }

    /// Apply the direction de-conflict (Eq. 16).
    public var projection: Bool
    /// Apply the magnitude adjustment (Eq. 17).
    public var magnitude: Bool
    /// α: 1 removes the whole conflicting component [DECISION]; 0.5 is one reimplementation's choice.
    public var projectionStrength: Double
    /// γ, the mix between the rescaled and the raw gradient [SECONDARY; sweep 0.1 … 0.9].
    public var magnitudeMix: Double
    /// C, the clip threshold of w_t [DECISION].
    public var clipThreshold: Double
    /// [DECISION] after projection.
    public var normSource: NormSource
    /// [DECISION] symmetric.
    public var clipMode: ClipMode

    public static let epsilon = 1e-12
    /// Below this ‖G_c‖² the projection is skipped.
    public static let minimumCoreSquaredNorm = 1e-20

    public init(projection: Bool = true, magnitude: Bool = true, projectionStrength: Double = 1, magnitudeMix: Double = 0.1,
                clipThreshold: Double = 10, normSource: NormSource = .afterProjection, clipMode: ClipMode = .symmetric) {
        precondition(clipThreshold >= 1, "clip threshold C = \(clipThreshold) must be ≥ 1")
        self.projection = projection
        self.magnitude = magnitude
        self.projectionStrength = projectionStrength
        self.magnitudeMix = magnitudeMix
        self.clipThreshold = clipThreshold
        self.normSource = normSource
        self.clipMode = clipMode
    }

    /// What one adjustment did, per task (task order; the core task's entries are its own, unadjusted).
    /// `gradientNorms` is what Fig. 5 of the paper plots.
    public struct Report: Equatable, Sendable {
        /// ‖G_t‖ before adjustment.
        public var gradientNorms: [Double]
        /// Whether G_t conflicted with G_c and was projected.
        public var projected: [Bool]
        /// w_t after the clip (1 for the core task and without the magnitude step).
        public var magnitudeWeights: [Double]
        /// ‖G̃_t‖ after adjustment.
        public var adjustedNorms: [Double]
        /// G_shared = Σ_k coefficients[k] · G_k.
        public var coefficients: [Double]
    }

    /// The adjustment from the Gram entries alone: `squaredNorms[t]` = ‖G_t‖², `coreDots[t]` = ⟨G_t, G_c⟩
    /// (both including the core task's own entries, which are ignored except ‖G_c‖² = `squaredNorms[coreTask]`).
    public func adjustment(squaredNorms: [Double], coreDots: [Double], coreTask: Int) -> Report {
        precondition(squaredNorms.count == coreDots.count && squaredNorms.indices.contains(coreTask), "Gram entries for \(squaredNorms.count) tasks, core \(coreTask)")
        let coreSquared = squaredNorms[coreTask], coreNorm = coreSquared.squareRoot()
        let eps = Self.epsilon, gamma = magnitudeMix, c = clipThreshold
        var report = Report(gradientNorms: squaredNorms.map { $0.squareRoot() }, projected: [], magnitudeWeights: [],
                            adjustedNorms: [], coefficients: Array(repeating: 0, count: squaredNorms.count))
        var coreCoefficient = 1.0
        for t in squaredNorms.indices {
            guard t != coreTask else {
                report.projected.append(false)
                report.magnitudeWeights.append(1)
                report.adjustedNorms.append(coreNorm)
                continue
            }
            let dot = coreDots[t]
            let conflict = projection && coreSquared >= Self.minimumCoreSquaredNorm && dot < 0
            let a = conflict ? projectionStrength * dot / (coreSquared + eps) : 0
            let projectedNorm = max(0, squaredNorms[t] - 2 * a * dot + a * a * coreSquared).squareRoot()
            var w = 1.0, factor = 1.0
            if magnitude {
                let source = normSource == .afterProjection ? projectedNorm : squaredNorms[t].squareRoot()
                w = coreNorm / (source + eps)
                w = clipMode == .symmetric ? min(max(w, 1 / c), c) : min(w, c)
                factor = gamma * w + (1 - gamma)
            }
            report.projected.append(conflict)
            report.magnitudeWeights.append(w)
            report.adjustedNorms.append(factor * projectedNorm)
            report.coefficients[t] = factor
            coreCoefficient -= factor * a
        }
        report.coefficients[coreTask] = coreCoefficient
        return report
    }

    /// The combined shared gradient from the per-task gradients `gradients` (task order) of the same shared
    /// parameters, with `gradients[coreTask]` the core task's.
    public func combine(_ gradients: [GradientSet], coreTask: Int) -> (gradient: GradientSet, report: Report) {
        precondition(gradients.indices.contains(coreTask), "core task \(coreTask) of \(gradients.count)")
        let core = gradients[coreTask]
        let squaredNorms = gradients.map { $0.dot($0) }
        let coreDots = gradients.enumerated().map { t, g in t == coreTask ? squaredNorms[t] : g.dot(core) }
        let report = adjustment(squaredNorms: squaredNorms, coreDots: coreDots, coreTask: coreTask)
        return (GradientSet.linearCombination(gradients, coefficients: report.coefficients), report)
    }
}
