import FunnelCore
import FunnelData
import FunnelNN

/// A task's tower: an MLP block (baselines.md §1.3) followed by the output layer the task needs (§1.6, §14):
///
/// | task | output layer | head |
/// |---|---|---|
/// | binary | `Linear(h → 1)` | `.logit(z)`, `[B]` |
/// | continuous, MSE or Huber | `Linear(h → 1)`, identity output | `.value(ŷ)`, `[B]` |
/// | continuous, ZILN loss | `Linear(h → 3)` | `.zeroInflatedLognormal([a, μ, s_raw])`, `[B, 3]` |
///
/// Parameters `<name>.linears.{i}.*`, `<name>.norms.{i}.*`, `<name>.output.*` — the same names (and the same
/// initialisation order) as an `MLP` with an output layer, so a tower is interchangeable with MMoE's.
public final class TaskTower: Module {
    public let task: TaskSpec
    /// The hidden layers (no output layer).
    public let hidden: MLP
    /// `Linear(h → outputWidth)`.
    public let output: Linear

    /// - Parameters:
    ///   - inputWidth: columns of the tower input `[B, inputWidth]`.
    ///   - hiddenWidths: hidden layer widths (may be empty: the output layer reads the input directly).
    ///   - dropouts: one rate per hidden layer.
    public init(inputWidth: Int, hiddenWidths: [Int], batchNorm: Bool, dropouts: [Float], task: TaskSpec, name: String,
                using rng: inout SeededGenerator) {
        self.task = task
        hidden = MLP(inputWidth: inputWidth, hiddenWidths: hiddenWidths, batchNorm: batchNorm, dropouts: dropouts,
                     name: name, using: &rng)
        output = Linear(hidden.outputWidth, TaskTower.outputWidth(for: task), name: qualified(name, "output"), using: &rng)
    }

    /// As the other initialiser, with the same dropout rate after every hidden layer.
    public convenience init(inputWidth: Int, hiddenWidths: [Int], batchNorm: Bool, dropout: Float, task: TaskSpec,
                            name: String, using rng: inout SeededGenerator) {
        self.init(inputWidth: inputWidth, hiddenWidths: hiddenWidths, batchNorm: batchNorm,
                  dropouts: Array(repeating: dropout, count: hiddenWidths.count), task: task, name: name, using: &rng)
    }

    public var children: [any Module] { hidden; output }
    /// Width of the output layer for `task`: 3 for a ZILN loss, else 1.
    public static func outputWidth(for task: TaskSpec) -> Int {
        task.loss == .zeroInflatedLognormal ? 3 : 1
    }

    /// The raw output: `[B]` (logit or prediction) or `[B, 3]` (ZILN).
    public func rawOutput(_ x: Variable, _ context: ForwardContext) -> Variable {
        TaskTower.reshapedOutput(output(hidden(x, context), context), for: task)
    }

    /// The task's head for input `x` `[B, inputWidth]`.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> TaskHead {
        TaskHead(rawOutput(x, context), for: task)
    }

    /// `[B, 1]` → `[B]`; a ZILN output stays `[B, 3]`.
    static func reshapedOutput(_ y: Variable, for task: TaskSpec) -> Variable {
        outputWidth(for: task) == 1 ? y.reshaped([y.shape[0]]) : y
    }
}

extension TaskHead {
    /// The head of `task` for its raw output (`TaskTower.rawOutput`): a logit for a binary task, an identity
    /// prediction for a continuous one, ZILN logits when the task's loss is ZILN (baselines.md §14).
    public init(_ raw: Variable, for task: TaskSpec) {
        switch (task.kind, task.loss) {
        case (.continuous, .zeroInflatedLognormal):
            precondition(raw.shape.count == 2 && raw.shape[1] == 3, "ZILN head of '\(task.name)' needs [B, 3], got \(raw.shape)")
            self = .zeroInflatedLognormal(raw)
        case (.continuous, _):
            self = .value(raw)
        case (.binary, .zeroInflatedLognormal):
            preconditionFailure("binary task '\(task.name)' cannot use the ZILN loss")
        case (.binary, _):
            self = .logit(raw)
        }
    }
}
