#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementwise nonlinearities and functions, each with its hand-written derivative.
extension Variable {
    /// An elementwise op whose derivative is `g ⊙ d(x, y)` with `d` computed from input x and output y.
    private func elementwise(
        _ op: TracedOpKind, _ vector: @escaping (SIMD8<Float>) -> SIMD8<Float>, _ scalar: @escaping (Float) -> Float,
        derivative: @escaping (_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor
    ) -> Variable {
        let x = value
        let y = x.map(vector, scalar)
        return Variable.record(y, inputs: [self], op: op) { g, _ in [derivative(g, x, y)] }
    }

    /// `max(x, 0)`.
    public func relu() -> Variable {
        elementwise(.relu, { $0.replacing(with: 0, where: $0 .< 0) }, { max($0, 0) }) { g, _, y in
            Tensor.broadcasting(g, y, { $0.replacing(with: 0, where: $1 .<= 0) }, { $1 > 0 ? $0 : 0 })
        }
    }

    /// `x` where positive, `slope · x` elsewhere.
    public func leakyRelu(slope: Float = 0.01) -> Variable {
        let s = SIMD8<Float>(repeating: slope)
        return elementwise(.leakyRelu(slope: slope), { $0.replacing(with: $0 * s, where: $0 .< 0) }, { $0 < 0 ? $0 * slope : $0 }) { g, x, _ in
            Tensor.broadcasting(g, x, { $0.replacing(with: $0 * s, where: $1 .<= 0) }, { $1 > 0 ? $0 : $0 * slope })
        }
    }

    /// The logistic function `1 / (1 + e^{−x})`.
    public func sigmoid() -> Variable {
        let y = value.applying(KernelSet.sigmoid)
        return Variable.record(y, inputs: [self], op: .sigmoid) { g, _ in [g * y.map({ $0 * (1 - $0) }, { $0 * (1 - $0) })] }
    }

    /// `softplus(x) = log(1 + e^x)`, computed as `max(x, 0) + log1p(e^{−|x|})` (no overflow for any finite x);
    /// derivative σ(x). `−softplus(−z)` is log σ(z), the log-probability of a logit.
    public func softplus() -> Variable {
        elementwise(.softplus, { lanewise($0, stableSoftplus) }, stableSoftplus) { g, x, _ in
            g * x.map({ lanewise($0, stableSigmoid) }, stableSigmoid)
        }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Variable {
        elementwise(.tanh, { lanewise($0, tanhf) }, tanhf) { g, _, y in g * y.map({ 1 - $0 * $0 }, { 1 - $0 * $0 }) }
    }

    /// `e^x`.
    public func exp() -> Variable {
        elementwise(.exp, { lanewise($0, expf) }, expf) { g, _, y in g * y }
    }

    /// Natural logarithm.
    public func log() -> Variable {
        elementwise(.log, { lanewise($0, logf) }, logf) { g, x, _ in g / x }
    }

    /// Sine.
    public func sin() -> Variable {
        elementwise(.sin, { lanewise($0, sinf) }, sinf) { g, x, _ in g * x.map({ lanewise($0, cosf) }, cosf) }
    }

    /// Cosine.
    public func cos() -> Variable {
        elementwise(.cos, { lanewise($0, cosf) }, cosf) { g, x, _ in g * x.map({ -lanewise($0, sinf) }, { -sinf($0) }) }
    }

    /// `x²`.
    public func squared() -> Variable {
        elementwise(.square, { $0 * $0 }, { $0 * $0 }) { g, x, _ in Tensor.broadcasting(g, x, { 2 * $0 * $1 }, { 2 * $0 * $1 }) }
    }

    /// `min(max(x, lower), upper)`. The gradient passes where `lower ≤ x ≤ upper` (bounds included, as PyTorch's
    /// `clamp`) and is zero outside.
    public func clamped(to range: ClosedRange<Float>) -> Variable {
        let (lo, hi) = (range.lowerBound, range.upperBound)
        let (vlo, vhi) = (SIMD8<Float>(repeating: lo), SIMD8<Float>(repeating: hi))
        return elementwise(.clamp(lower: lo, upper: hi), { $0.clamped(lowerBound: vlo, upperBound: vhi) }, { min(max($0, lo), hi) }) { g, x, _ in
            Tensor.broadcasting(g, x, { $0.replacing(with: 0, where: ($1 .< vlo) .| ($1 .> vhi)) },
                                { $1 < lo || $1 > hi ? 0 : $0 })
        }
    }

    /// `√x`.
    public func squareRoot() -> Variable {
        elementwise(.squareRoot, { $0.squareRoot() }, { $0.squareRoot() }) { g, _, y in
            Tensor.broadcasting(g, y, { $0 / (2 * $1) }, { $0 / (2 * $1) })
        }
    }
}
