import FunnelCore

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and coupled weight decay,
/// PyTorch semantics (the momentum buffer starts as the first gradient).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private let state = OptimizerState()

    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and no dampening")
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// Updates applied so far.
    public private(set) var stepCount = 0

    public func snapshot(for parameters: [Parameter]) -> OptimizerSnapshot {
        OptimizerSnapshot(kind: "SGD", step: stepCount, tensors: state.snapshot(of: parameters, slotNames: ["momentum_buffer"]))
    }

    public func restore(_ snapshot: OptimizerSnapshot, for parameters: [Parameter]) throws {
        try checkKind(snapshot, "SGD")
        try state.restore(snapshot.tensors, of: parameters, slotNames: ["momentum_buffer"])
        stepCount = snapshot.step
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let (lr, mu, damp, wd, nesterov) = (learningRate, momentum, dampening, weightDecay, self.nesterov)
        for parameter in parameters {
            guard let gradient = parameter.gradient else { continue }
            let first = !state.has(parameter)
            let buffer = mu != 0 ? state.tensors(for: parameter, count: 1)[0].pointer : nil
            let p = parameter.value.pointer
            // Without momentum and weight decay the rows outside a row-sparse gradient do not move: skipping them is exact.
            forEachUpdateRange(parameter, gradient, lazy: mu == 0 && wd == 0) { start, rows, count in
                let g = rows - start
                for i in start..<(start + count) {
                    var d = g[i] + wd * p[i]
                    if let buffer {
                        buffer[i] = first ? d : mu * buffer[i] + (1 - damp) * d
                        d = nesterov ? d + mu * buffer[i] : buffer[i]
                    }
                    p[i] -= lr * d
                }
            }
        }
    }
}

/// Adagrad, PyTorch semantics: `clr = lr / (1 + (t − 1)·lrDecay)`, `s += g²`, `θ ← θ − clr·g/(√s + ε)`.
/// `lazyRows` updates only the rows of row-sparse gradients (as sparse Adagrad does).
public final class Adagrad: Optimizer {
    public var learningRate: Float
    public let learningRateDecay: Float, weightDecay: Float, initialAccumulator: Float, epsilon: Float, lazyRows: Bool
    public private(set) var stepCount = 0
    private let state = OptimizerState()

    public init(learningRate: Float = 0.01, learningRateDecay: Float = 0, weightDecay: Float = 0,
                initialAccumulator: Float = 0, epsilon: Float = 1e-10, lazyRows: Bool = false) {
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.initialAccumulator = initialAccumulator
        self.epsilon = epsilon
        self.lazyRows = lazyRows
    }

    public func snapshot(for parameters: [Parameter]) -> OptimizerSnapshot {
        OptimizerSnapshot(kind: "Adagrad", step: stepCount, tensors: state.snapshot(of: parameters, slotNames: ["sum"]))
    }

    public func restore(_ snapshot: OptimizerSnapshot, for parameters: [Parameter]) throws {
        try checkKind(snapshot, "Adagrad")
        try state.restore(snapshot.tensors, of: parameters, slotNames: ["sum"])
        stepCount = snapshot.step
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let clr = learningRate / (1 + Float(stepCount - 1) * learningRateDecay)
        let (wd, eps) = (weightDecay, epsilon)
        for parameter in parameters {
            guard let gradient = parameter.gradient else { continue }
            let sums = state.tensors(for: parameter, count: 1, initial: initialAccumulator)[0].pointer
            let p = parameter.value.pointer
            forEachUpdateRange(parameter, gradient, lazy: lazyRows) { start, rows, count in
                let g = rows - start
                for i in start..<(start + count) {
                    let d = g[i] + wd * p[i]
                    sums[i] += d * d
                    p[i] -= clr * d / (sums[i].squareRoot() + eps)
                }
            }
        }
    }
}
