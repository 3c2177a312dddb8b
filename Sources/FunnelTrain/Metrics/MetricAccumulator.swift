#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FunnelCore
import FunnelData
import FunnelModels

/// One task's evaluation rows, collected over a whole evaluation set (metrics are never averaged over batches).
/// Only rows in the evaluation space are kept; non-finite predictions are counted over every row.
public struct TaskPredictions: Sendable {
    /// Predictions on the original scale: probabilities for binary tasks.
    public private(set) var predictions: [Double] = []
    public private(set) var labels: [Double] = []
    /// Sample weights, or nil while every row has weight 1.
    public private(set) var weights: [Double]?
    /// Group ids (GAUC), or nil when the rows carry none.
    public private(set) var groups: [Int64]?
    /// Rows appended, in or out of the evaluation space.
    public private(set) var rowsSeen = 0
    /// Rows whose prediction is NaN or infinite (in or out of the space).
    public private(set) var nonFiniteCount = 0

    public init() {}

    /// Adds one row. Group ids must be given for every row or for none.
    public mutating func append(prediction: Double, label: Double, weight: Double? = nil, group: Int64? = nil,
                                inSpace: Bool = true) {
        rowsSeen += 1
        if !prediction.isFinite { nonFiniteCount += 1 }
        guard inSpace else { return }
        precondition(predictions.isEmpty || (group != nil) == (groups != nil), "group ids given for some rows only")
        if let weight {
            if weights == nil { weights = [Double](repeating: 1, count: predictions.count) }
            weights!.append(weight)
        } else {
            weights?.append(1)
        }
        if let group {
            if groups == nil { groups = [] }
            groups!.append(group)
        }
        predictions.append(prediction)
        labels.append(label)
    }

    /// Removes every row.
    public mutating func removeAll() { self = TaskPredictions() }

    /// Every rank's rows, concatenated in rank order (identical on every rank; data parallelism).
    func gathered(over group: DataParallelGroup) -> TaskPredictions {
        var all = TaskPredictions()
        all.predictions = group.gather(predictions)
        all.labels = group.gather(labels)
        let anyWeights = group.sum([weights == nil ? 0 : 1])[0] > 0, anyGroups = group.sum([groups == nil ? 0 : 1])[0] > 0
        if anyWeights { all.weights = group.gather(weights ?? Array(repeating: 1, count: predictions.count)) }
        if anyGroups { all.groups = group.gather(groups ?? []) }
        let counts = group.sum([Double(rowsSeen), Double(nonFiniteCount)])
        all.rowsSeen = Int(counts[0])
        all.nonFiniteCount = Int(counts[1])
        return all
    }
}

/// Collects predictions batch by batch for a set of evaluations, then computes every task's metrics once over the
/// whole evaluation set (metrics.md §1).
///
/// `columns` are the tasks of the batches' label columns (an `EncodedTable`'s tasks). `evaluations` are what is
/// measured, by default the same tasks; an evaluation reads its labels from the column task of the same name and
/// `label`, else the first column task whose `label` (source column) or, failing that, `name` equals its `label`,
/// and selects rows by its `evaluationSpace`. So a CVR task with `evaluationSpace: .whereLabel("ctr")` gives the masked CVR AUC, and an extra evaluation
/// `TaskSpec(name: "ctcvr", kind: .binary, label: "cvr")` fed with pCTR·pCVR gives the CTCVR AUC over all
/// impressions (entire-space labels: the CVR column is y_click·y_conv).
public struct MetricAccumulator: Sendable {
    public let columns: [TaskSpec]
    public let evaluations: [TaskSpec]
    public var options: MetricOptions
    /// Collected rows, one entry per evaluation.
    public private(set) var collected: [TaskPredictions]
    private let labelColumns: [Int]

    public init(columns: [TaskSpec], evaluations: [TaskSpec]? = nil, options: MetricOptions = MetricOptions()) {
        let evaluations = evaluations ?? columns
        precondition(Set(evaluations.map(\.name)).count == evaluations.count, "evaluation names must be unique")
        self.columns = columns
        self.evaluations = evaluations
        self.options = options
        collected = Array(repeating: TaskPredictions(), count: evaluations.count)
        labelColumns = evaluations.map { evaluation in
            // A column task evaluates its own column first: tasks may share a source column (Census hybrid chain:
            // `has_gains` and `gains` both read capital_gains).
            guard let column = columns.firstIndex(where: { $0.name == evaluation.name && $0.label == evaluation.label })
                ?? columns.firstIndex(where: { $0.label == evaluation.label })
                ?? columns.firstIndex(where: { $0.name == evaluation.label }) else {
                preconditionFailure("evaluation '\(evaluation.name)': no label column '\(evaluation.label)'")
            }
            return column
        }
    }

    /// Adds the predictions `[batch.count]` (original scale; probabilities for binary tasks) of evaluation
    /// `name` for `batch`, with the batch's labels, sample weights (of the label column), groups and the
    /// evaluation's space.
    public mutating func append(_ predictions: [Double], for name: String, batch: Batch) {
        guard let e = evaluations.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("no evaluation named '\(name)'")
        }
        precondition(predictions.count == batch.count, "\(predictions.count) predictions for \(batch.count) rows")
        precondition(batch.taskCount == columns.count, "batch has \(batch.taskCount) label columns, expected \(columns.count)")
        let column = labelColumns[e], width = columns.count
        let space = evaluations[e].evaluationSpace.mask(labels: batch.labels.pointer, rows: batch.count, tasks: columns)
        let weights = options.useSampleWeights ? batch.weights : nil
        for row in 0..<batch.count {
            collected[e].append(
                prediction: predictions[row], label: Double(batch.labels.pointer[row * width + column]),
                weight: weights.map { Double($0.pointer[row * width + column]) }, group: batch.groups?[row],
                inSpace: space.map { $0[row] != 0 } ?? true)
        }
    }

    /// Adds a forward pass's predictions: for each evaluation, the head of the column task of the same name, else
    /// `output.extras[name]`. Heads are read as: logit → σ(z), chain → Π σ(z_s), probability → p (all in
    /// Float64 from the Float32 outputs), value → ŷ (only for tasks without a target transform: inverse-transform
    /// others and use `append(_:for:batch:)`), ZILN → p·exp(min(μ + σ²/2, 20)), σ = softplus(s_raw)
    /// (losses-and-balancing.md §4). Extras are probabilities for binary evaluations and values otherwise.
    public mutating func append(_ output: ModelOutput, batch: Batch) {
        precondition(output.heads.count == columns.count, "\(output.heads.count) heads for \(columns.count) tasks")
        for evaluation in evaluations {
            let predictions: [Double]
            if let t = columns.firstIndex(where: { $0.name == evaluation.name }) {
                predictions = Self.predictions(of: output.heads[t], task: columns[t])
            } else if let extra = output.extras[evaluation.name] {
                predictions = extra.value.scalars.map(Double.init)
            } else {
                preconditionFailure("evaluation '\(evaluation.name)' has no head or extra in the model output")
            }
            append(predictions, for: evaluation.name, batch: batch)
        }
    }

    /// Replaces the collected rows by every rank's, in rank order: a split evaluated in contiguous slices, one per
    /// rank, then has exactly the rows (and metrics) of a single-process evaluation, on every rank.
    public mutating func gather(over group: DataParallelGroup) {
        collected = collected.map { $0.gathered(over: group) }
    }

    /// Forgets every collected row (call between evaluations).
    public mutating func reset() {
        for e in collected.indices { collected[e].removeAll() }
    }

    /// The metrics of every evaluation (throws the first `MetricError`).
    public func report() throws -> MetricReport {
        let tasks = try zip(evaluations, collected).map { try evaluate(task: $0, predictions: $1, options: options) }
        return MetricReport(tasks: tasks, options: options)
    }

    /// A head's predictions on the original scale, `[B]`.
    static func predictions(of head: TaskHead, task: TaskSpec) -> [Double] {
        switch head {
        case .logit(let z):
            return z.value.scalars.map { sigmoid(Double($0)) }
        case .chain(let steps):
            var product = [Double](repeating: 1, count: steps[0].value.count)
            for step in steps { for (i, z) in step.value.scalars.enumerated() { product[i] *= sigmoid(Double(z)) } }
            return product
        case .probability(let p):
            return p.value.scalars.map(Double.init)
        case .value(let y):
            precondition(task.targetTransform == .none,
                         "task '\(task.name)': invert its \(task.targetTransform) transform and append the values")
            return y.value.scalars.map(Double.init)
        case .zeroInflatedLognormal(let logits):
            let raw = logits.value.scalars
            return (0..<raw.count / 3).map { row in
                let a = Double(raw[3 * row]), mu = Double(raw[3 * row + 1]), s = Double(raw[3 * row + 2])
                let sigma = max(s, 0) + log1p(exp(-abs(s)))
                return sigmoid(a) * exp(min(mu + sigma * sigma / 2, 20))
            }
        }
    }

    private static func sigmoid(_ z: Double) -> Double { z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)) }
}
