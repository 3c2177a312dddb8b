import FunnelCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `TargetTransform` with its statistics fitted on the training split (`losses-and-balancing.md` §3): the
/// loss sees ỹ = forward(y); predictions ŷ on the transformed scale go back through `inverse` before metrics.
///
/// | kind | forward | inverse |
/// |---|---|---|
/// | `.none` | y | ŷ |
/// | `.standardize` | (y − μ) / s | μ + s·ŷ |
/// | `.log1p` | log(1 + y) | expm1(ŷ) |
/// | `.log1pStandardize` | (log(1 + y) − μ) / s | expm1(μ + s·ŷ) |
///
/// μ and s are the mean and population standard deviation (of y, or of log(1 + y)); y is first clipped at
/// `clip` when set (a training quantile). Store the value in checkpoints: it is part of the model.
public struct FittedTargetTransform: Codable, Equatable, Sendable {
    public var kind: TargetTransform
    public var mean: Double
    public var scale: Double
    /// Upper clip of y before the transform, or nil.
    public var clip: Double?

    public init(kind: TargetTransform, mean: Double = 0, scale: Double = 1, clip: Double? = nil) {
        precondition(scale > 0, "target scale \(scale) must be positive")
        self.kind = kind
        self.mean = mean
        self.scale = scale
        self.clip = clip
    }

    /// Fits `kind` on `values` (one task's labels over its loss space on the training split). `clipQuantile`
    /// (e.g. 0.999) clips y at that quantile (linear interpolation between order statistics, NumPy's default)
    /// before fitting. A constant target gets s = 1.
    public init(fitting kind: TargetTransform, to values: [Float], clipQuantile: Double? = nil) {
        precondition(!values.isEmpty, "fitting a target transform on no values")
        var clip: Double?
        if let q = clipQuantile {
            precondition(q > 0 && q <= 1, "clip quantile \(q) outside (0, 1]")
            let sorted = values.map(Double.init).sorted()
            let position = q * Double(sorted.count - 1), lower = Int(position.rounded(.down))
            let upper = min(lower + 1, sorted.count - 1), fraction = position - Double(lower)
            clip = sorted[lower] + fraction * (sorted[upper] - sorted[lower])
        }
        var mean = 0.0, scale = 1.0
        if kind == .standardize || kind == .log1pStandardize {
            let x = values.map { v -> Double in
                let y = min(Double(v), clip ?? .infinity)
                return kind == .log1pStandardize ? log1p(y) : y
            }
            mean = x.reduce(0, +) / Double(x.count)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
            scale = variance > 0 ? variance.squareRoot() : 1
        }
        self.init(kind: kind, mean: mean, scale: scale, clip: clip)
    }

    /// ỹ from y.
    public func forward(_ y: Float) -> Float {
        let v = min(Double(y), clip ?? .infinity)
        switch kind {
        case .none: return Float(v)
        case .standardize: return Float((v - mean) / scale)
        case .log1p: return Float(log1p(v))
        case .log1pStandardize: return Float((log1p(v) - mean) / scale)
        }
    }

    /// y from a prediction ŷ on the transformed scale.
    public func inverse(_ prediction: Float) -> Float {
        let p = Double(prediction)
        switch kind {
        case .none: return prediction
        case .standardize: return Float(mean + scale * p)
        case .log1p: return Float(expm1(p))
        case .log1pStandardize: return Float(expm1(mean + scale * p))
        }
    }

    /// `forward` elementwise.
    public func forward(_ y: Tensor) -> Tensor { Tensor(shape: y.shape, values: y.scalars.map(forward)) }

    /// `inverse` elementwise.
    public func inverse(_ predictions: Tensor) -> Tensor { Tensor(shape: predictions.shape, values: predictions.scalars.map(inverse)) }
}

extension EncodedTable {
    /// One fitted transform per task, fitted over the task's loss space on this table (the training split):
    /// continuous tasks with a `targetTransform` other than `.none` get theirs; other tasks get nil.
    public func fittedTargetTransforms(clipQuantile: Double? = nil) -> [FittedTargetTransform?] {
        tasks.enumerated().map { t, task in
            guard task.kind == .continuous, task.targetTransform != .none else { return nil }
            let mask = labels.withUnsafeBufferPointer {
                task.lossSpace.mask(labels: $0.baseAddress!, rows: rowCount, tasks: tasks)
            }
            let values = (0..<rowCount).compactMap { row -> Float? in
                mask.map { $0[row] == 0 } ?? false ? nil : labels[row * tasks.count + t]
            }
            return FittedTargetTransform(fitting: task.targetTransform, to: values, clipQuantile: clipQuantile)
        }
    }
}

extension Batch {
    /// The same batch with each task's label column mapped through its transform (nil leaves the column as it is).
    /// Masks, weights and groups are kept: they were computed from the original labels.
    public func transformingLabels(_ transforms: [FittedTargetTransform?]) -> Batch {
        precondition(transforms.count == taskCount, "\(transforms.count) transforms for \(taskCount) tasks")
        guard transforms.contains(where: { $0 != nil }) else { return self }
        let out = labels.copy()
        for (t, transform) in transforms.enumerated() {
            guard let transform else { continue }
            for row in 0..<count { out.pointer[row * taskCount + t] = transform.forward(out.pointer[row * taskCount + t]) }
        }
        return Batch(count: count, ids: ids, multiValued: multiValued, numeric: numeric, labels: out, masks: masks,
                     weights: weights, groups: groups)
    }
}
