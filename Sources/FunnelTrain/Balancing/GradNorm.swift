import FunnelCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GradNorm (Chen et al.; losses-and-balancing.md §7.3). Learnable task weights w_t > 0, initialised to 1, with
/// `L = Σ_t w_t·L_t + R`. Each step:
/// 1. G_t = w_t·‖∇_W L_t‖ over W (`BalancingInput.gradNormParameters`: the last shared layer; by default the
///    embedding tables, or every shared parameter when the model has none);
/// 2. Ḡ = mean_t G_t, L̃_t = L_t / L_t(0) with L_t(0) the task's first non-empty loss, r_t = L̃_t / mean_s L̃_s;
/// 3. c_t = Ḡ·r_t^α (a constant), L_grad = Σ_t |G_t − c_t|, ∂L_grad/∂w_t = sign(G_t − c_t)·‖∇_W L_t‖;
/// 4. model gradients: ∇ of Σ_t w_t·L_t + R with the current w (one backward pass);
/// 5. w is stepped by its own optimizer (Adam, lr 0.01 by default), clamped to ≥ 1e-4 and renormalised so that
///    Σ_t w_t = T.
/// Tasks that are empty in the batch, or whose L_t(0) is not yet known, sit out steps 1–3 (their w_t gets no
/// gradient). The fixed λ_t are not used: w_t replaces them. Cost: T backward passes that stop at W, plus one.
public final class GradNorm: LossBalancer {
    /// α, the restoring force (default 1.5, the paper's main setting).
    public let alpha: Float
    /// w_t, `[T]`, updated inside `backward`.
    public let weights: Parameter
    /// The optimizer of `weights`.
    public let weightOptimizer: Optimizer
    /// L_t(0) per task (nil until the task's first non-empty step).
    public private(set) var initialLosses: [Float?]

    public init(taskCount: Int, alpha: Float = 1.5, weightOptimizer: Optimizer = Adam(learningRate: 0.01)) {
        precondition(taskCount >= 1, "GradNorm needs at least one task")
        self.alpha = alpha
        self.weights = Parameter(name: "gradnorm.weights", value: Tensor(repeating: 1, shape: [taskCount]))
        self.weightOptimizer = weightOptimizer
        self.initialLosses = Array(repeating: nil, count: taskCount)
    }

    public var trainableParameters: [Parameter] { [] }

    /// `weights` (w_t), `initialLosses` (L_t(0), −1 while unknown), and the weight optimizer's `optimizer.step` and
    /// `optimizer.<slot>` buffers.
    public var state: BalancerState {
        let snapshot = weightOptimizer.snapshot(for: [weights])
        var values = ["weights": currentWeights.map(Double.init), "initialLosses": initialLosses.map { $0.map(Double.init) ?? -1 },
                      "optimizer.step": [Double(snapshot.step)]]
        for (name, tensor) in snapshot.tensors { values["optimizer.\(name)"] = tensor.scalars.map(Double.init) }
        return BalancerState(values: values)
    }

    public func restore(_ state: BalancerState) throws {
        let count = initialLosses.count
        let w = try state.values("weights", count: count), initial = try state.values("initialLosses", count: count)
        let step = try state.values("optimizer.step", count: 1)[0]
        var tensors: [String: Tensor] = [:]
        for (key, values) in state.values where key.hasPrefix("optimizer.") && key != "optimizer.step" {
            tensors[String(key.dropFirst("optimizer.".count))] = Tensor(shape: [values.count], values: values.map(Float.init))
        }
        let kind = weightOptimizer.snapshot(for: []).kind
        try weightOptimizer.restore(OptimizerSnapshot(kind: kind, step: Int(step), tensors: tensors), for: [weights])
        weights.value = Tensor(shape: [count], values: w.map(Float.init))
        initialLosses = initial.map { $0 < 0 ? nil : Float($0) }
    }

    /// The current w_t.
    public var currentWeights: [Float] { weights.value.scalars }

    public func backward(_ input: BalancingInput) -> BalancingRecord {
        let taskCount = initialLosses.count
        precondition(input.taskCount == taskCount, "\(input.taskCount) losses for \(taskCount) tasks")
        input.zeroGradients()
        let w = currentWeights, losses = input.lossValues
        for t in 0..<taskCount where initialLosses[t] == nil && !input.emptyTasks[t] && losses[t] > 0 {
            initialLosses[t] = losses[t]
        }
        let active = (0..<taskCount).filter { !input.emptyTasks[$0] && initialLosses[$0] != nil }
        let layer = Self.layer(of: input)
        var norms = [Double](repeating: 0, count: taskCount), targets = [Double](repeating: 0, count: taskCount)
        var weightGradient = [Float](repeating: 0, count: taskCount)
        for t in active { norms[t] = GradientSet(of: input.losses[t], on: input.tape, wrt: layer).norm }
        if !active.isEmpty {
            let g = active.map { Double(w[$0]) * norms[$0] }
            let meanG = g.reduce(0, +) / Double(active.count)
            let ratios = active.map { Double(losses[$0]) / Double(initialLosses[$0]!) }
            let meanRatio = ratios.reduce(0, +) / Double(active.count)
            for (k, t) in active.enumerated() {
                targets[t] = meanG * pow(meanRatio > 0 ? ratios[k] / meanRatio : 1, Double(alpha))
                let difference = g[k] - targets[t]
                weightGradient[t] = Float((difference > 0 ? 1 : difference < 0 ? -1 : 0) * norms[t])
            }
        }
        if let total = input.weightedTotal(w) { input.tape.backward(total) }
        weights.grad = Tensor(shape: [taskCount], values: weightGradient)
        weightOptimizer.step([weights])
        weights.zeroGradient()
        renormalize()
        return BalancingRecord(
            losses: losses, weights: w.enumerated().map { input.emptyTasks[$0] ? 0 : $1 },
            details: ["gradientNorm": norms.enumerated().map { Float(Double(w[$0]) * $1) }, "target": targets.map(Float.init),
                      "updatedWeight": currentWeights])
    }

    /// w ← max(w, 1e-4), then scaled so that Σ w = T.
    private func renormalize() {
        let p = weights.value.pointer, n = weights.value.count
        for i in 0..<n { p[i] = max(p[i], 1e-4) }
        let factor = Float(n) / (0..<n).reduce(0) { $0 + p[$1] }
        for i in 0..<n { p[i] *= factor }
    }

    /// W for this step (see the type's documentation).
    static func layer(of input: BalancingInput) -> [Parameter] {
        if let explicit = input.gradNormParameters, !explicit.isEmpty { return explicit }
        let tables = input.sharedParameters.filter { input.tape.rowsRead(by: $0) != nil }
        return tables.isEmpty ? input.sharedParameters : tables
    }
}
