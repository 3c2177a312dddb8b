import FunnelCore

/// Updates parameters from their `grad` (PyTorch semantics). Parameters without a gradient are skipped.
public protocol Optimizer: AnyObject {
    /// Learning rate; schedules change it between steps.
    var learningRate: Float { get set }
    /// Applies one update to every parameter in `parameters` that has a gradient.
    func step(_ parameters: [Parameter])
}

/// Per-parameter optimizer state (moment buffers), created on first use.
final class OptimizerState {
    private var slots: [ObjectIdentifier: [Tensor]] = [:]

    /// The `count` state tensors of `parameter`, zero-initialised on first access.
    func tensors(for parameter: Parameter, count: Int, initial: Float = 0) -> [Tensor] {
        let key = ObjectIdentifier(parameter)
        if let existing = slots[key] { return existing }
        let created = (0..<count).map { _ in Tensor(repeating: initial, shape: parameter.value.shape) }
        slots[key] = created
        return created
    }

    /// Whether `parameter` has state yet.
    func has(_ parameter: Parameter) -> Bool { slots[ObjectIdentifier(parameter)] != nil }
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`:
/// factor `min(1, maxNorm / (norm + 1e-6))`). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    let grads = parameters.compactMap { $0.grad }
    let norm = Float(grads.reduce(0.0) { $0 + $1.squaredNorm() }.squareRoot())
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for parameter in parameters where parameter.grad != nil { parameter.grad = parameter.grad!.scaled(by: factor) }
    }
    return norm
}

/// Runs `body(start, count)` over the rows a parameter's update should touch: all elements, or only the rows
/// in `gradientRows` when `lazy` is set and the gradient is row-sparse.
@inline(__always)
func forEachUpdateRange(_ parameter: Parameter, lazy: Bool, _ body: @escaping (Int, Int) -> Void) {
    if lazy, let rows = parameter.gradientRows, parameter.value.rank == 2 {
        let width = parameter.value.shape[1]
        for row in rows { body(Int(row) * width, width) }
    } else {
        chunked(parameter.count, body)
    }
}
