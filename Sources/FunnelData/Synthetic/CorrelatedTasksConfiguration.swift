/// How the correlated-tasks generator turns each continuous task into labels (synthetic-data.md §4).
public enum CorrelatedLabels: Codable, Equatable, Sendable {
    /// The continuous values y_k are the labels (regression tasks, MMoE's setting).
    case regression
    /// Binary labels with base rates `rates[k]`.
    case binary(BinaryThresholding)
}

/// Thresholding continuous tasks into 0/1 labels (synthetic-data.md §4).
public struct BinaryThresholding: Codable, Equatable, Sendable {
    public enum Method: Codable, Equatable, Sendable {
        /// The floor(π·n + 0.5) rows with the largest y_k are positive (ties: smaller row index first); exact rate.
        case rank
        /// Bernoulli(σ(κ·(y_k − mean)/std + b_k)) with b_k solved for the rate, uniforms from stream 220 + k.
        case bernoulli(sharpness: Double = 2)
    }

    /// Target positive rate π_k per task.
    public var rates: [Double]
    public var method: Method
    /// y_k ← y_k · y_{k−1} (k ≥ 1): funnel-style nested labels (changes the rates; measure them).
    public var nested: Bool

    public init(rates: [Double], method: Method = .rank, nested: Bool = false) {
        self.rates = rates
        self.method = method
        self.nested = nested
    }
}

/// The MMoE correlation-controlled generator (synthetic-data.md §2) and its K-task extension (§3).
///
/// Task k's label is y_k = w_kᵀx + Σ_i sin(α_i w_kᵀx + β_i) + σ_ε·ε with x ~ N(0, I_d), ‖w_k‖ = c and
/// cos(w_k, w_l) = P_kl. **P is a cosine between weight vectors, not the label correlation**: the sine terms lower
/// the correlation by an amount that depends on the seed, so the dataset measures it (`statistics`).
public struct CorrelatedTasksConfiguration: Codable, Equatable, Sendable {
    public var rows: Int
    /// Input dimension d (≥ K).
    public var inputDimension: Int
    /// Number of sine terms m.
    public var sineTerms: Int
    /// Weight norm c.
    public var scale: Double
    /// Noise standard deviation σ_ε (default 0.1: the paper's "N(0, 0.01)" read as a variance).
    public var noise: Double
    /// Target cosine matrix P, K×K: symmetric, unit diagonal, positive semi-definite; K ≤ 10.
    public var cosines: [[Double]]
    public var labels: CorrelatedLabels

    public init(rows: Int = 10_000, inputDimension: Int = 100, sineTerms: Int = 10, scale: Double = 1, noise: Double = 0.1,
                cosines: [[Double]], labels: CorrelatedLabels = .regression) {
        self.rows = rows
        self.inputDimension = inputDimension
        self.sineTerms = sineTerms
        self.scale = scale
        self.noise = noise
        self.cosines = cosines
        self.labels = labels
    }

    /// MMoE's two-task setting: cos(w_1, w_2) = `cosine`.
    public static func twoTasks(cosine: Double, rows: Int = 10_000, scale: Double = 1, labels: CorrelatedLabels = .regression)
        -> CorrelatedTasksConfiguration {
        CorrelatedTasksConfiguration(rows: rows, scale: scale, cosines: [[1, cosine], [cosine, 1]], labels: labels)
    }

    /// Number of tasks K.
    public var taskCount: Int { cosines.count }
}

/// Errors of an invalid generator configuration.
public enum SyntheticDataError: Error, Equatable, CustomStringConvertible {
    /// The cosine matrix is not symmetric with unit diagonal, or not positive semi-definite.
    case invalidCosineMatrix(String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .invalidCosineMatrix(let reason): return "invalid cosine matrix: \(reason)"
        case .invalidConfiguration(let reason): return "invalid generator configuration: \(reason)"
        }
    }
}

/// The lower-triangular L with L Lᵀ = P of a positive semi-definite P (row-major `[K·K]` in and out).
///
/// Standard Cholesky, except that a zero pivot (|remainder| ≤ 1e-10) gives a zero column instead of failing, so a
/// singular P (some cosine = ±1) keeps the Cholesky path: for K = 2 and p = ±1 this is exactly §2's
/// w_2 = c·(p·u_1 + 0·u_2). [Deviation from synthetic-data.md §3, which falls back to an eigendecomposition whose
/// vectors' order and signs are not portable between LAPACK implementations; the Gram matrix is the same.]
/// Throws when P is not positive semi-definite (a pivot below −1e-10, or a non-zero remainder below a zero pivot).
public func semidefiniteCholesky(_ p: [Double], size k: Int) throws -> [Double] {
    precondition(p.count == k * k)
    var l = [Double](repeating: 0, count: k * k)
    func dot(_ i: Int, _ j: Int) -> Double {
        var sum = 0.0
        for q in 0..<j { sum += l[i * k + q] * l[j * k + q] }
        return sum
    }
    for j in 0..<k {
        let pivot = p[j * k + j] - dot(j, j)
        if pivot < -1e-10 { throw SyntheticDataError.invalidCosineMatrix("not positive semi-definite (pivot \(pivot) at \(j))") }
        if pivot <= 1e-10 {
            for i in (j + 1)..<k {
                let remainder = p[i * k + j] - dot(i, j)
                if abs(remainder) > 1e-8 {
                    throw SyntheticDataError.invalidCosineMatrix("not positive semi-definite (zero pivot at \(j), remainder \(remainder))")
                }
            }
            continue
        }
        let diagonal = pivot.squareRoot()
        l[j * k + j] = diagonal
        for i in (j + 1)..<k { l[i * k + j] = (p[i * k + j] - dot(i, j)) / diagonal }
    }
    return l
}
