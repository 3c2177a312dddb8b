#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FunnelCore

/// How similar two tasks' label vectors are within a mini-batch (x_{jt} of DEPHN's virtual gradient,
/// dephn.md §5). Computed in Float64 over all rows.
public enum LabelSimilarity: String, Codable, CaseIterable, Sendable {
    /// Pearson correlation (the phi coefficient for binary labels). Undefined when either vector is constant,
    /// which includes a batch of one row.
    case pearson
    /// ⟨a, b⟩ / (‖a‖ ‖b‖). Undefined when either vector is all zeros.
    case cosine

    /// The similarity of `a` and `b` (same length) in [−1, 1], or nil where undefined (or when empty).
    public func callAsFunction(_ a: [Float], _ b: [Float]) -> Double? {
        precondition(a.count == b.count, "label vectors of \(a.count) and \(b.count) rows")
        switch self {
        case .pearson: return Self.pearsonCorrelation(a, b)
        case .cosine: return Self.cosineSimilarity(a, b)
        }
    }

    /// Σ(a − ā)(b − b̄) / √(Σ(a − ā)² Σ(b − b̄)²), clamped to [−1, 1]; nil for a constant vector or no rows.
    public static func pearsonCorrelation(_ a: [Float], _ b: [Float]) -> Double? {
        guard let a0 = a.first, let b0 = b.first, a.contains(where: { $0 != a0 }), b.contains(where: { $0 != b0 }) else {
            return nil
        }
        let n = Double(a.count)
        let meanA = a.reduce(0.0) { $0 + Double($1) } / n, meanB = b.reduce(0.0) { $0 + Double($1) } / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            let (da, db) = (Double(x) - meanA, Double(y) - meanB)
            sab += da * db
            saa += da * da
            sbb += db * db
        }
        return min(1, max(-1, sab / (saa * sbb).squareRoot()))
    }

    /// ⟨a, b⟩ / (‖a‖ ‖b‖), clamped to [−1, 1]; nil when either vector is all zeros.
    public static func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double? {
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            sab += Double(x) * Double(y)
            saa += Double(x) * Double(x)
            sbb += Double(y) * Double(y)
        }
        guard saa > 0, sbb > 0 else { return nil }
        return min(1, max(-1, sab / (saa * sbb).squareRoot()))
    }
}

/// The candidate functions γ(x, y) of DEPHN's virtual gradient (dephn.md §5, the paper's Fig. 4), for
/// x = |label similarity| and y = min(1, |gate difference|), both in [0, 1]; every value lies in [0, 2].
/// [DECISION] The square-root variants take sqrt(|·|) (the paper prints no absolute value; its heat map's thin
/// minimum along x + y = 1 implies one).
public enum VirtualGradientFunction: String, Codable, CaseIterable, Sendable {
    /// cos(2π x y) + 1.
    case mulCos
    /// 2 · |2xy − 1|.
    case mulAbs
    /// 2 · (2xy − 1)².
    case mulSquare
    /// 2 · √|2xy − 1|.
    case mulSqrt
    /// cos(π x + π y) + 1 (the paper's initial definition, Eq. 9).
    case addCos
    /// 2 · |x + y − 1|.
    case addAbs
    /// 2 · (x + y − 1)².
    case addSquare
    /// 2 · √|x + y − 1| (the paper's final choice, the default).
    case addSqrt

    /// γ(x, y).
    public func callAsFunction(_ x: Double, _ y: Double) -> Double {
        let product = 2 * x * y - 1, sum = x + y - 1
        switch self {
        case .mulCos: return cos(2 * Double.pi * x * y) + 1
        case .mulAbs: return 2 * abs(product)
        case .mulSquare: return 2 * product * product
        case .mulSqrt: return 2 * abs(product).squareRoot()
        case .addCos: return cos(Double.pi * (x + y)) + 1
        case .addAbs: return 2 * abs(sum)
        case .addSquare: return 2 * sum * sum
        case .addSqrt: return 2 * abs(sum).squareRoot()
        }
    }
}

/// What to do with a task pair whose label similarity is undefined in a batch (a constant label vector, common
/// for sparse conversions).
public enum ConstantLabelPolicy: String, Codable, CaseIterable, Sendable {
    /// x = 0 ([DECISION] default).
    case zeroCorrelation
    /// The pair contributes no factor (γ ≡ 1 for it).
    case skip
}

/// DEPHN's virtual gradient coefficient (dephn.md §5). For task t and gate element i (an (expert, mapping) pair,
/// per row for input-dependent gates):
/// ```
/// x_{jt}   = |similarity(Y_j, Y_t)| over the batch rows
/// y_{jt,i} = min(1, |G^t_i − G^j_i|)
/// Γ^t_i    = Π_{j≠t} γ(x_{jt}, y_{jt,i}),  optionally clipped to [0, clip]
/// ```
/// Γ multiplies only the gradient flowing into the gate (`Variable.scalingGradient(by:)`); both inputs are
/// constants. Evaluated in Float64, Γ rounded to Float32 once.
public struct VirtualGradient: Codable, Equatable, Sendable {
    public var function: VirtualGradientFunction
    public var similarity: LabelSimilarity
    public var constantLabelPolicy: ConstantLabelPolicy
    /// Upper bound of Γ (with T > 2 the product of T − 1 factors can reach 2^{T−1}); nil: no clipping.
    public var clip: Float?

    public init(function: VirtualGradientFunction = .addSqrt, similarity: LabelSimilarity = .pearson,
                constantLabelPolicy: ConstantLabelPolicy = .zeroCorrelation, clip: Float? = nil) {
        self.function = function
        self.similarity = similarity
        self.constantLabelPolicy = constantLabelPolicy
        self.clip = clip
    }

    /// |similarity| of every task pair from `labels` `[B, T]`: a symmetric T × T matrix, nil where undefined
    /// (the diagonal is the similarity of a task with itself, unused).
    public func similarities(labels: Tensor) -> [[Double?]] {
        precondition(labels.rank == 2, "labels must be [B, T], got \(labels.shape)")
        let (rows, tasks) = (labels.shape[0], labels.shape[1])
        let columns = (0..<tasks).map { t in (0..<rows).map { labels.pointer[$0 * tasks + t] } }
        var result = [[Double?]](repeating: [Double?](repeating: nil, count: tasks), count: tasks)
        for t in 0..<tasks {
            for j in t..<tasks {
                let value = similarity(columns[t], columns[j]).map(abs)
                result[t][j] = value
                result[j][t] = value
            }
        }
        return result
    }

    /// Γ^t for every element of the gates of `task`: `gates[s]` holds task s's gate values (all the same shape,
    /// `[K, P]` for trainable values or `[B, K·P]` per row), `similarities` comes from `similarities(labels:)`.
    /// Returns a tensor shaped like `gates[task]`.
    public func coefficients(task: Int, gates: [Tensor], similarities: [[Double?]]) -> Tensor {
        let own = gates[task]
        let result = Tensor(repeating: 1, shape: own.shape)
        for i in 0..<own.count {
            var coefficient = 1.0
            for j in gates.indices where j != task {
                precondition(gates[j].shape == own.shape, "gate shapes \(gates[j].shape) and \(own.shape)")
                let x: Double
                if let similarity = similarities[j][task] {
                    x = similarity
                } else if constantLabelPolicy == .skip {
                    continue
                } else {
                    x = 0
                }
                let y = min(1, abs(Double(own.pointer[i]) - Double(gates[j].pointer[i])))
                coefficient *= function(x, y)
            }
            if let clip { coefficient = min(coefficient, Double(clip)) }
            result.pointer[i] = Float(coefficient)
        }
        return result
    }
}

/// What the virtual gradient did in one training forward, for logs and inspection (dephn.md §9.4: the plots of
/// gate values, coefficients and batch similarities).
public struct VirtualGradientRecord: Codable, Equatable, Sendable {
    /// |similarity| x_{jt} per task pair (T × T, symmetric), nil where the labels were constant.
    public var similarities: [[Double?]]
    /// Γ^t per task, one value per (expert, mapping) in expert-major order (the batch mean for per-row gates).
    public var coefficients: [[Float]]

    public init(similarities: [[Double?]], coefficients: [[Float]]) {
        self.similarities = similarities
        self.coefficients = coefficients
    }
}
