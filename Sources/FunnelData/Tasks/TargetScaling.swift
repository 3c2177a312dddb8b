import FunnelCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A continuous target's transform with its fitted constants (losses-and-balancing.md §3): optionally clip the raw
/// label at a training quantile, then apply `TaskSpec.targetTransform`.
///
/// | transform | ỹ (training) | inverse (metrics) |
/// |---|---|---|
/// | `.none` | y | ŷ |
/// | `.standardize` | (y − μ)/s | μ + s·ŷ |
/// | `.log1p` | log(1 + y) | expm1(ŷ) |
/// | `.log1pStandardize` | (log(1 + y) − μ)/s | expm1(μ + s·ŷ) |
///
/// Fitted on the training split over the task's loss space only (`fit(task:on:)`), applied to labels by the loss
/// (`taskLosses`), inverted on predictions before metrics, and stored in checkpoints (Codable).
public struct TargetScaling: Codable, Equatable, Sendable {
    public var transform: TargetTransform
    /// μ: the mean of the (log-)target over the loss space; 0 when the transform does not standardize.
    public var mean: Double
    /// s: the population standard deviation of the (log-)target; 1 when the transform does not standardize, and
    /// 1 when the fitted deviation is 0 (a constant target is only centred).
    public var scale: Double
    /// Upper bound applied to raw labels before the transform (the training q-quantile), or nil.
    public var clip: Float?

    public init(transform: TargetTransform, mean: Double = 0, scale: Double = 1, clip: Float? = nil) {
        precondition(scale > 0 && scale.isFinite && mean.isFinite, "target scaling needs finite μ and s > 0")
        self.transform = transform
        self.mean = mean
        self.scale = scale
        self.clip = clip
    }

    /// No clip, no transform.
    public static let identity = TargetScaling(transform: .none)

    /// Whether labels pass through unchanged.
    public var isIdentity: Bool { transform == .none && clip == nil }

    // MARK: Applying

    /// ỹ for one raw label (NaN stays NaN).
    public func transformed(_ y: Float) -> Float {
        let clipped = clip.map { min(y, $0) } ?? y
        switch transform {
        case .none: return clipped
        case .standardize: return Float((Double(clipped) - mean) / scale)
        case .log1p: return Float(log1p(Double(clipped)))
        case .log1pStandardize: return Float((log1p(Double(clipped)) - mean) / scale)
        }
    }

    /// A prediction on the training scale mapped back to the original scale.
    public func inverted(_ prediction: Float) -> Float {
        switch transform {
        case .none: return prediction
        case .standardize: return Float(mean + scale * Double(prediction))
        case .log1p: return Float(expm1(Double(prediction)))
        case .log1pStandardize: return Float(expm1(mean + scale * Double(prediction)))
        }
    }

    /// `transformed` elementwise (labels `[B]` → training targets `[B]`).
    public func transformed(_ labels: Tensor) -> Tensor { isIdentity ? labels : map(labels, transformed) }

    /// `inverted` elementwise (predictions `[B]` → original scale `[B]`).
    public func inverted(_ predictions: Tensor) -> Tensor { transform == .none ? predictions : map(predictions, inverted) }

    private func map(_ t: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitialized: t.shape)
        for i in 0..<t.count { out.pointer[i] = f(t.pointer[i]) }
        return out
    }

    // MARK: Fitting

    /// Fits `transform` on raw labels `values` (the task's loss space of the training split). `clipQuantile` q in
    /// (0, 1]: clip at the q-quantile of `values` (linear interpolation between order statistics, NumPy's
    /// default) before transforming. Non-finite values are ignored.
    public static func fit(_ values: [Float], transform: TargetTransform, clipQuantile: Float? = nil,
                           task: String = "") throws -> TargetScaling {
        var finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { throw TargetScalingError.emptySpace(task: task) }
        if transform == .log1p || transform == .log1pStandardize, let negative = finite.first(where: { $0 < 0 }) {
            throw TargetScalingError.negativeLabel(task: task, value: negative)
        }
        var clip: Float?
        if let q = clipQuantile {
            guard q > 0 && q <= 1 else { throw TargetScalingError.invalidQuantile(task: task, value: q) }
            finite.sort()
            let position = Double(q) * Double(finite.count - 1)
            let low = Int(position.rounded(.down)), high = min(low + 1, finite.count - 1)
            let fraction = position - Double(low)
            clip = Float(Double(finite[low]) + fraction * (Double(finite[high]) - Double(finite[low])))
            finite = finite.map { min($0, clip!) }
        }
        guard transform == .standardize || transform == .log1pStandardize else {
            return TargetScaling(transform: transform, clip: clip)
        }
        let base = finite.map { transform == .standardize ? Double($0) : log1p(Double($0)) }
        let mean = base.reduce(0, +) / Double(base.count)
        let variance = base.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(base.count)
        let deviation = variance.squareRoot()
        return TargetScaling(transform: transform, mean: mean, scale: deviation > 0 ? deviation : 1, clip: clip)
    }

    /// Fits task `task`'s `targetTransform` and `targetClipQuantile` on `table` (the training split), over the rows
    /// of the task's loss space. Binary tasks and tasks with neither option give `.identity`; a ZILN task may clip
    /// but not transform (its loss needs the raw positive amount).
    public static func fit(task index: Int, on table: EncodedTable) throws -> TargetScaling {
        let task = table.tasks[index]
        if task.targetTransform == .none && task.targetClipQuantile == nil { return .identity }
        guard task.kind == .continuous else { throw TargetScalingError.notContinuous(task: task.name) }
        if task.loss == .zeroInflatedLognormal && task.targetTransform != .none {
            throw TargetScalingError.transformedZILN(task: task.name)
        }
        let taskCount = table.tasks.count, rows = table.rowCount
        let mask = table.labels.withUnsafeBufferPointer {
            task.lossSpace.mask(labels: $0.baseAddress!, rows: rows, tasks: table.tasks)
        }
        let values = (0..<rows).compactMap { row -> Float? in
            mask.map { $0[row] == 0 } ?? false ? nil : table.labels[row * taskCount + index]
        }
        return try fit(values, transform: task.targetTransform, clipQuantile: task.targetClipQuantile, task: task.name)
    }

    /// One fitted scaling per task of `table`, in task order.
    public static func fitAll(on table: EncodedTable) throws -> [TargetScaling] {
        try table.tasks.indices.map { try fit(task: $0, on: table) }
    }
}

/// Why a target transform cannot be fitted.
public enum TargetScalingError: Error, Equatable, CustomStringConvertible {
    case emptySpace(task: String)
    case negativeLabel(task: String, value: Float)
    case invalidQuantile(task: String, value: Float)
    case notContinuous(task: String)
    case transformedZILN(task: String)

    public var description: String {
        switch self {
        case .emptySpace(let task): return "task '\(task)': no finite label in its loss space to fit the target transform on"
        case .negativeLabel(let task, let value): return "task '\(task)': log1p transform of a negative label (\(value))"
        case .invalidQuantile(let task, let value): return "task '\(task)': clip quantile \(value) is not in (0, 1]"
        case .notContinuous(let task): return "task '\(task)': target transforms apply to continuous tasks only"
        case .transformedZILN(let task): return "task '\(task)': the ZILN loss needs raw amounts; use targetTransform .none"
        }
    }
}
