import FunnelCore

/// How a parameter tensor is initialised. All draw from the caller's `SeededGenerator`, so a seed fixes a run.
public enum Initializer: Sendable {
    /// Kaiming-uniform, PyTorch's `Linear` weight default with `a = √5`: U(−b, b), b = gain·√(3 / fanIn),
    /// gain = √(2 / (1 + a²)) — which is b = 1/√fanIn for a = √5.
    case kaimingUniform(a: Float)
    /// Xavier/Glorot-uniform: U(−b, b), b = gain·√(6 / (fanIn + fanOut)).
    case xavierUniform(gain: Float)
    /// Xavier/Glorot-normal: N(0, std²), std = gain·√(2 / (fanIn + fanOut)).
    case xavierNormal(gain: Float)
    /// N(mean, std²).
    case normal(mean: Float, std: Float)
    /// U(−bound, bound) (PyTorch's `Linear` bias default uses bound = 1/√fanIn).
    case uniform(bound: Float)
    /// A constant.
    case constant(Float)

    /// PyTorch's default for `Linear` weights.
    public static let linearDefault = Initializer.kaimingUniform(a: Float(5).squareRoot())

    /// A tensor of `shape` drawn by this rule, for a layer with the given fan-in and fan-out.
    public func make(_ shape: [Int], fanIn: Int, fanOut: Int, using rng: inout SeededGenerator) -> Tensor {
        switch self {
        case .kaimingUniform(let a):
            let gain = (2 / (1 + a * a)).squareRoot()
            let bound = gain * (3 / Float(max(fanIn, 1))).squareRoot()
            return .uniform(shape, in: -bound...bound, using: &rng)
        case .xavierUniform(let gain):
            let bound = gain * (6 / Float(max(fanIn + fanOut, 1))).squareRoot()
            return .uniform(shape, in: -bound...bound, using: &rng)
        case .xavierNormal(let gain):
            return .normal(shape, std: gain * (2 / Float(max(fanIn + fanOut, 1))).squareRoot(), using: &rng)
        case .normal(let mean, let std):
            return .normal(shape, mean: mean, std: std, using: &rng)
        case .uniform(let bound):
            return .uniform(shape, in: -bound...bound, using: &rng)
        case .constant(let value):
            return Tensor(repeating: value, shape: shape)
        }
    }
}
