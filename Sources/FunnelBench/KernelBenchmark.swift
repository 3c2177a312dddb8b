import Foundation
import FunnelCore

/// GEMM throughput for the matrix shapes Funnel's models use, in the three transpose variants.
public struct KernelBenchmark {
    /// One product `op(A)[m, k] · op(B)[k, n]`.
    public struct Shape: Sendable, Hashable {
        public let m: Int, k: Int, n: Int
        public init(m: Int, k: Int, n: Int) { self.m = m; self.k = k; self.n = n }
        public var label: String { "\(m)×\(k)×\(n)" }
    }

    /// Which operand is read transposed: `AB`, `AtB` (A stored [k, m]) or `ABt` (B stored [n, k]).
    public enum Variant: String, CaseIterable, Sendable {
        case ab = "AB", atb = "AtB", abt = "ABt"
    }

    /// One measurement.
    public struct Result: Sendable {
        public let shape: Shape
        public let variant: Variant
        public let threads: Int
        public let gflops: Double
    }

    /// The GEMM shapes of the MMoE/PLE benchmark configuration (656-wide input, experts [256, 128], towers [64],
    /// 8-expert gates): forward at batch 1024 and 2048 (`ABt` is the forward `x·Wᵀ`), the weight gradients
    /// (`AtB`: in × batch × out) and the input gradient of the first layer (batch × out × in), and a single row.
    public static let modelShapes: [Shape] = [
        Shape(m: 1024, k: 656, n: 256), Shape(m: 1024, k: 256, n: 128), Shape(m: 1024, k: 128, n: 64),
        Shape(m: 1024, k: 656, n: 8), Shape(m: 2048, k: 656, n: 256), Shape(m: 2048, k: 256, n: 128),
        Shape(m: 656, k: 1024, n: 256), Shape(m: 256, k: 1024, n: 128), Shape(m: 1024, k: 256, n: 656),
        Shape(m: 1, k: 656, n: 256),
    ]

    /// The line every benchmark prints first: the kernel set in use and the others this machine has.
    public static var kernelsLine: String {
        let requested = ProcessInfo.processInfo.environment["FUNNEL_KERNELS"].map { "FUNNEL_KERNELS=\($0)" }
            ?? "FUNNEL_KERNELS unset"
        return "kernels: \(KernelSet.selected.name) (\(requested); this CPU has "
            + KernelSet.available.map(\.name).joined(separator: ", ") + ")"
    }

    public init() {}

    /// Measures one shape and variant with `threads` active threads (median of 5 timings of ≥ 0.2 s each).
    public func measure(_ shape: Shape, _ variant: Variant, threads: Int) -> Result {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        var rng = SeededGenerator(seed: 42)
        let aStored = Tensor.uniform(variant == .atb ? [shape.k, shape.m] : [shape.m, shape.k], in: -1...1, using: &rng)
        let bStored = Tensor.uniform(variant == .abt ? [shape.n, shape.k] : [shape.k, shape.n], in: -1...1, using: &rng)
        let c = Tensor(zeros: [shape.m, shape.n])
        let a = MatrixOperand(aStored.pointer, leadingDimension: aStored.shape[1], transposed: variant == .atb)
        let b = MatrixOperand(bStored.pointer, leadingDimension: bStored.shape[1], transposed: variant == .abt)
        let seconds = Stopwatch.medianSecondsPerCall {
            gemm(m: shape.m, n: shape.n, k: shape.k, a: a, b: b, c: c.pointer, ldc: shape.n)
        }
        withExtendedLifetime((aStored, bStored, c)) {}
        return Result(shape: shape, variant: variant, threads: threads, gflops: 2 * Double(shape.m * shape.n * shape.k) / seconds / 1e9)
    }
}
