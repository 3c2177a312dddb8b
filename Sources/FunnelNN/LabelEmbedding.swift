import FunnelCore

/// HTLNet's Label Embedding Unit (`htlnet.md` §3.3): a learnable 2-row label table Λ `[2, width]` (row 0: label
/// 0, row 1: label 1) read out with a *sampled* label of the task's own prediction, so later tasks see what the
/// model believes rather than the ground truth (no train/test mismatch):
/// ```
/// p̄  = clamp(sg(σ(z)), 1e-7, 1 − 1e-7)                  [B]     sg only when `stopsGradient`
/// π  = [1 − p̄, p̄]                                      [B, 2]
/// s  = softmax((log π + g) / τ)   training, Gumbel-softmax (g standard Gumbel noise, from the context's rng)
/// le = s Λ                                             [B, width]
/// ```
/// Other training forms (`Sampling`): the deterministic tempered softmax `softmax(log π / τ)` of the third-party
/// reimplementation, and the straight-through sample (value one-hot(argmax), gradient of the soft sample).
/// Evaluation forms (`Inference`): the expected embedding s = π (default), the tempered softmax at the current
/// τ, or the hard argmax. τ is set from outside (`temperature`, from a `TemperatureSchedule`).
///
/// The stop-gradient sits on the *input* p, never on the output: Λ learns from the losses of later tasks.
/// Parameter: `<name>.weight`, Xavier-uniform.
public final class LabelEmbedding: Module {
    /// How the label is drawn in training.
    public enum Sampling: String, Codable, Sendable, CaseIterable {
        case gumbelSoftmax, temperedSoftmax, straightThrough
    }

    /// How the label weights are formed in evaluation.
    public enum Inference: String, Codable, Sendable, CaseIterable {
        case expected, tempered, hard
    }

    /// The clamp applied to the predicted probability before the log.
    public static let probabilityBounds: ClosedRange<Float> = 1e-7...(1 - 1e-7)

    /// Λ `[2, width]`.
    public let table: Parameter
    public let width: Int
    public var sampling: Sampling
    public var inference: Inference
    /// Stop the gradient at the predicted probability (HTLNet's Eq. 15).
    public var stopsGradient: Bool
    /// The current temperature τ > 0.
    public var temperature: Float

    public init(width: Int, name: String, sampling: Sampling = .gumbelSoftmax, inference: Inference = .expected,
                stopsGradient: Bool = true, temperature: Float = 10, using rng: inout SeededGenerator) {
        self.width = width
        self.sampling = sampling
        self.inference = inference
        self.stopsGradient = stopsGradient
        self.temperature = temperature
        table = Parameter(name: qualified(name, "weight"),
                          value: Initializer.xavierUniform(gain: 1).make([2, width], fanIn: width, fanOut: 2, using: &rng))
    }

    public var parameters: [Parameter] { [table] }

    /// The label embedding of a binary task's logits `[B]` → `[B, width]`. `noise` (`[B, 2]`) replaces the
    /// Gumbel draw (for parity tests); otherwise noise comes from `context.rng` when the sampling needs it.
    public func callAsFunction(_ logits: Variable, _ context: ForwardContext, noise: Tensor? = nil) -> Variable {
        .matmul(labelWeights(logits, context, noise: noise), context.use(table))
    }

    /// The mixing weights s `[B, 2]` over the two label rows (each row sums to 1).
    public func labelWeights(_ logits: Variable, _ context: ForwardContext, noise: Tensor? = nil) -> Variable {
        let batch = logits.shape[0]
        let z = stopsGradient ? logits.detached() : logits
        let p = z.reshaped([batch, 1]).sigmoid().clamped(to: Self.probabilityBounds)
        let pi = Variable.concat([1 - p, p], alongAxis: 1)
        if let noise { precondition(noise.shape == [batch, 2], "label noise \(noise.shape) for batch \(batch)") }
        if context.isTraining {
            switch sampling {
            case .temperedSoftmax:
                return tempered(pi, noise: nil)
            case .gumbelSoftmax:
                return tempered(pi, noise: noise ?? .gumbel([batch, 2], using: &context.rng))
            case .straightThrough:
                let soft = tempered(pi, noise: noise ?? .gumbel([batch, 2], using: &context.rng))
                return soft + Variable(oneHotOfMaximum(soft.value) - soft.value)
            }
        }
        switch inference {
        case .expected: return pi
        case .tempered: return tempered(pi, noise: nil)
        case .hard: return Variable(oneHotOfMaximum(pi.value))
        }
    }

    /// softmax((log π + g) / τ) along the label axis.
    private func tempered(_ pi: Variable, noise: Tensor?) -> Variable {
        var x = pi.log()
        if let noise { x = x + Variable(noise) }
        return (x * (1 / temperature)).softmax(alongAxis: 1)
    }
}

/// One-hot rows of `[rows, columns]` at each row's maximum (the first one on ties, as `torch.argmax`).
func oneHotOfMaximum(_ x: Tensor) -> Tensor {
    let (rows, columns) = (x.shape[0], x.shape[1])
    let out = Tensor(zeros: x.shape)
    for r in 0..<rows {
        var best = 0
        for c in 1..<columns where x.pointer[r * columns + c] > x.pointer[r * columns + best] { best = c }
        out.pointer[r * columns + best] = 1
    }
    return out
}
