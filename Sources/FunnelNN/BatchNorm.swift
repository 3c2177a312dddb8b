import FunnelCore

/// PyTorch `BatchNorm1d` over `[batch, width]`: γ = 1, β = 0, running mean 0 / variance 1, ε = 1e-5,
/// momentum 0.1. Training normalises with the batch mean and biased variance and updates the running
/// statistics with the unbiased variance; evaluation normalises with the running statistics.
/// Parameters `<name>.weight` (γ), `<name>.bias` (β); buffers `<name>.running_mean`, `<name>.running_var`.
public final class BatchNorm: Module {
    public let scale: Parameter, shift: Parameter
    public let runningMean: Parameter, runningVariance: Parameter
    public let epsilon: Float, momentum: Float

    public init(_ width: Int, name: String, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        scale = Parameter(name: qualified(name, "weight"), value: Tensor(repeating: 1, shape: [width]))
        shift = Parameter(name: qualified(name, "bias"), value: Tensor(zeros: [width]))
        runningMean = Parameter(name: qualified(name, "running_mean"), value: Tensor(zeros: [width]))
        runningVariance = Parameter(name: qualified(name, "running_var"), value: Tensor(repeating: 1, shape: [width]))
        self.epsilon = epsilon
        self.momentum = momentum
    }

    public var parameters: [Parameter] { [scale, shift] }
    public var buffers: [Parameter] { [runningMean, runningVariance] }

    /// `x` `[batch, width]` → normalised, scaled and shifted, then `activation` (fused).
    public func callAsFunction(_ x: Variable, _ context: ForwardContext, activation: Activation = .identity) -> Variable {
        let gamma = context.use(scale), beta = context.use(shift)
        if context.isTraining {
            let (output, mean, variance) = Variable.batchNorm(x, scale: gamma, shift: beta, epsilon: epsilon, activation: activation)
            updateRunningStatistics(mean: mean, variance: variance, batch: x.shape[0])
            return output
        }
        // Evaluation: y = x·a + (β − μ·a), a = γ / √(running_var + ε); differentiable in γ and β.
        let inverseStd = runningVariance.value.map({ 1 / ($0 + SIMD8(repeating: self.epsilon)).squareRoot() },
                                                   { 1 / ($0 + self.epsilon).squareRoot() })
        let a = gamma * Variable(inverseStd)
        let y = x * a + (beta - Variable(runningMean.value) * a)
        return activation == .relu ? y.relu() : y
    }

    private func updateRunningStatistics(mean: Tensor, variance: Tensor, batch: Int) {
        let m = momentum, unbias = Float(batch) / Float(batch - 1)
        for j in 0..<mean.count {
            runningMean.value.pointer[j] = (1 - m) * runningMean.value.pointer[j] + m * mean.pointer[j]
            runningVariance.value.pointer[j] = (1 - m) * runningVariance.value.pointer[j] + m * variance.pointer[j] * unbias
        }
    }
}
