import FunnelCore
import FunnelData
import FunnelNN

/// How a continuous task at the end of a funnel is predicted by models that chain binary steps
/// (baselines.md §14).
public enum RegressionHead: String, Codable, Sendable {
    /// The tower's identity output, trained on the task's own loss; no probability enters it (default).
    case direct
    /// The tower's output scaled by the entire-space probability of the last binary step before the task
    /// (an expected-value head). Only for `.value` heads (MSE / Huber), not ZILN.
    case expectedValue
}

/// The binary steps of a funnel, in task order, as ESMM-family models and AITM chain them (baselines.md §7–9):
/// step 1 is the first binary task, step s + 1 the next binary task, whose entire-space label is 1 only where
/// step s's is. Continuous tasks are not steps.
public struct ConversionChain: Sendable {
    /// Task indices of the binary steps, in funnel order.
    public let steps: [Int]
    /// For every task, the index (into `steps`) of the last binary step before it, or nil.
    public let precedingStep: [Int?]

    /// Checks that a binary task's `parent`, when it names another task, is the previous binary step.
    public init(tasks: [TaskSpec]) {
        var steps: [Int] = [], preceding: [Int?] = []
        let names = Set(tasks.map(\.name))
        for (t, task) in tasks.enumerated() {
            preceding.append(steps.isEmpty ? nil : steps.count - 1)
            guard task.kind == .binary else { continue }
            if let parent = task.parent, names.contains(parent) {
                precondition(steps.last.map { tasks[$0].name } == parent,
                             "task '\(task.name)': parent '\(parent)' is not the previous binary step of the funnel")
            }
            steps.append(t)
        }
        self.steps = steps
        precedingStep = preceding
    }

    /// The step number (0-based) of task `t`, or nil for a continuous task.
    public func stepIndex(ofTask t: Int) -> Int? { steps.firstIndex(of: t) }

    /// ESMM heads from per-task raw outputs (logits for binary tasks; `[B]` or `[B, 3]` for continuous ones):
    /// step 1 is `.logit(z_1)`, step s ≥ 2 is `.chain([z_1 … z_s])` (probability Π σ(z), trained by the chained
    /// BCE); continuous tasks get their own head, scaled by the entire-space probability of the preceding step
    /// under `.expectedValue`. Extras: the conditional probability σ(z_s) of every step s ≥ 2 under
    /// `ModelOutput.conditionalProbabilityKey`, and the first one also as `ModelOutput.cvrKey`, each `[B]`.
    public func chainedHeads(_ raw: [Variable], tasks: [TaskSpec],
                             regressionHead: RegressionHead) -> (heads: [TaskHead], extras: [String: Variable]) {
        precondition(raw.count == tasks.count, "\(raw.count) outputs for \(tasks.count) tasks")
        var heads: [TaskHead] = [], extras: [String: Variable] = [:]
        var logits: [Variable] = []
        for (t, task) in tasks.enumerated() {
            guard task.kind == .binary else {
                heads.append(continuousHead(raw[t], task: task, regressionHead: regressionHead, stepLogits: logits))
                continue
            }
            logits.append(raw[t])
            if logits.count == 1 {
                heads.append(.logit(raw[t]))
            } else {
                heads.append(.chain(logits))
                let conditional = raw[t].sigmoid()
                extras[ModelOutput.conditionalProbabilityKey(task: task.name)] = conditional
                if logits.count == 2 { extras[ModelOutput.cvrKey] = conditional }
            }
        }
        return (heads, extras)
    }

    /// A continuous task's head, optionally scaled by `probability` (the preceding step's entire-space
    /// probability, `[B]`).
    public static func continuousHead(_ raw: Variable, task: TaskSpec, regressionHead: RegressionHead,
                                      probability: @autoclosure () -> Variable?) -> TaskHead {
        guard regressionHead == .expectedValue else { return TaskHead(raw, for: task) }
        precondition(task.loss != .zeroInflatedLognormal, "task '\(task.name)': the expected-value head needs an MSE or Huber loss")
        guard let p = probability() else {
            preconditionFailure("task '\(task.name)': the expected-value head needs a binary step before it")
        }
        return .value(raw * p)
    }

    private func continuousHead(_ raw: Variable, task: TaskSpec, regressionHead: RegressionHead,
                                stepLogits: [Variable]) -> TaskHead {
        Self.continuousHead(raw, task: task, regressionHead: regressionHead,
                            probability: stepLogits.isEmpty ? nil : Self.jointProbability(stepLogits))
    }

    /// Entire-space probability Π_s σ(z_s) of a chain of step logits, `[B]`.
    public static func jointProbability(_ logits: [Variable]) -> Variable {
        logits.dropFirst().reduce(logits[0].sigmoid()) { $0 * $1.sigmoid() }
    }
}

extension ModelOutput {
    /// Key in `extras` of the conditional probability of a chained step given the previous step (for the
    /// masked evaluation of e.g. CVR on clicked rows): `"<task>.conditional"`.
    public static func conditionalProbabilityKey(task: String) -> String { "\(task).conditional" }

    /// Key in `extras` of the first conditional step of a chain (step 2 given step 1: the post-click conversion
    /// rate pCVR of a click → conversion funnel).
    public static let cvrKey = "cvr"
}
