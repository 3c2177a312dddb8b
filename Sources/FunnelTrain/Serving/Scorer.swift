import Foundation
import FunnelCore
import FunnelData
import FunnelModels

/// In-process scoring of raw candidate rows with a `TrainedModel`, safe to call from many threads at once (it
/// holds no mutable state; the forward pass runs without a tape on pooled buffers).
///
/// A request's values are keyed by input name (`inputs`: the schema's features, or a synthetic generator's
/// columns); the `common` block is merged into every row, a row's own value winning. Rows are encoded by the
/// checkpoint's `RawRowEncoder` — the rules `funnel predict` and training use — so the scores are bit-identical
/// to `TrainedModel.predictions` on the same rows in the same batch. An unseen category takes the
/// out-of-vocabulary id and is counted, not refused.
///
/// ```swift
/// let scorer = try Scorer(try TrainedModel(contentsOf: checkpoint))
/// let scores = try scorer.score(rows: [["f0": "12", "dense0": "0.5"]], common: ["f1": "3"])
/// scores.values[0]          // [row]: the first task's probabilities
/// ```
public final class Scorer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Skip values of names the model does not read instead of refusing the request.
        public var ignoresUnknownFeatures: Bool

        public init(ignoresUnknownFeatures: Bool = false) { self.ignoresUnknownFeatures = ignoresUnknownFeatures }
    }

    /// What one call returns.
    public struct Scores: Sendable {
        /// Output names (`Scorer.outputNames`, or the requested subset), in order.
        public var names: [String]
        /// `[output][row]`: probabilities for binary tasks (entire-space products for chained steps), values on
        /// the label scale for continuous tasks, conditional step probabilities for `<task>.conditional`.
        public var values: [[Float]]
        /// Per input (`Scorer.inputs` order): rows whose categorical value was not in the fitted vocabulary.
        public var outOfVocabulary: [Int]
        /// Per input: rows that left it out or gave null.
        public var missing: [Int]
        /// Time in the forward pass and prediction transforms, seconds.
        public var inferenceSeconds: Double
    }

    public let trained: TrainedModel
    public let options: Options
    /// The names a row's values are keyed by, with their kinds.
    public let inputs: [RawInput]
    /// Every output: the tasks in order, then `<task>.conditional` for each chained step (ESMM-style models,
    /// whose task score is the entire-space product, e.g. pCTCVR for the conversion step).
    public let outputNames: [String]
    private let encoder: RawRowEncoder
    private let positions: [String: Int]
    private let conditionalKeys: [String]
    private let missingTokens: Set<String>

    /// A scorer over `trained`, reading rows with `encoder` (default: the checkpoint's, `trained.rowEncoder()`),
    /// validated by a warm-up call: one row of placeholder values must give a finite score for every output, or
    /// this throws `ScorerError.warmUpFailed`.
    public init(_ trained: TrainedModel, encoder: RawRowEncoder? = nil, options: Options = .init()) throws {
        self.trained = trained
        self.options = options
        self.encoder = try encoder ?? trained.rowEncoder()
        inputs = self.encoder.inputs
        positions = Dictionary(inputs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        missingTokens = Set(trained.featureMap?.schema.format.missingValues ?? [])
        let tasks = trained.tasks.map(\.name), inputs = self.inputs
        let probe = trained.model(self.encoder.batch([try self.encoder.encodeRow { Self.placeholder(inputs[$0]) }]), .inference())
        conditionalKeys = tasks.map { ModelOutput.conditionalProbabilityKey(task: $0) }.filter { probe.extras[$0] != nil }
        outputNames = tasks + conditionalKeys
        let warmUp = try score(ScoringRequest(rows: [inputs.map { RawField(name: $0.name, value: .text(Self.placeholder($0))) }]))
        for (name, values) in zip(warmUp.names, warmUp.values) where !values.allSatisfy(\.isFinite) {
            throw ScorerError.warmUpFailed("output '\(name)' is \(values) on the warm-up row")
        }
    }

    /// The warm-up row's value of an input: "0" (a number, or an id / category), empty for token lists.
    private static func placeholder(_ input: RawInput) -> String { input.kind == .multiValued ? "" : "0" }

    /// Scores `rows` (values by input name) with `common` merged into each; all outputs unless `tasks` names some.
    public func score(rows: [[String: String]], common: [String: String] = [:], tasks: [String]? = nil) throws(ScoringError) -> Scores {
        let fields = { (values: [String: String]) in values.map { RawField(name: $0.key, value: .text($0.value)) } }
        return try score(ScoringRequest(common: fields(common), rows: rows.map(fields), tasks: tasks))
    }

    /// Scores a decoded request. Throws a `ScoringError` naming the row and feature of the first value refused.
    public func score(_ request: ScoringRequest) throws(ScoringError) -> Scores {
        let selected = try outputIndices(request.tasks)
        var common = [String?](repeating: nil, count: inputs.count)
        try assign(request.common, row: nil, into: &common)
        var outOfVocabulary = [Int](repeating: 0, count: inputs.count), missing = outOfVocabulary
        var encoded: [EncodedRow] = []
        encoded.reserveCapacity(request.rows.count)
        for (r, fields) in request.rows.enumerated() {
            var values = common
            try assign(fields, row: r, into: &values)
            for (i, input) in inputs.enumerated() where values[i] == nil && input.isRequired {
                throw ScoringError(.missingFeature, row: r, feature: input.name, "row \(r): required feature '\(input.name)' is missing")
            }
            let row: EncodedRow
            do { row = try encoder.encodeRow { values[$0] } } catch {
                throw Self.refusal(error, row: r)
            }
            for (i, input) in inputs.enumerated() {
                guard let value = values[i] else { missing[i] += 1; continue }
                if let field = input.vocabularyField, row.ids[field] == 0, !missingTokens.contains(value) { outOfVocabulary[i] += 1 }
            }
            encoded.append(row)
        }
        var values = [[Float]](repeating: [], count: outputNames.count), seconds = 0.0
        if !encoded.isEmpty {
            let start = monotonicSeconds()
            values = infer(encoder.batch(encoded))
            seconds = monotonicSeconds() - start
        }
        return Scores(names: selected.map { outputNames[$0] }, values: selected.map { values[$0] },
                      outOfVocabulary: outOfVocabulary, missing: missing, inferenceSeconds: seconds)
    }

    /// The one forward pass of serving: every output for `batch`, `[output][row]` — `predictions(of:scalings:)`
    /// (what `TrainedModel.predictions` and `funnel predict` return), then the conditional step probabilities.
    private func infer(_ batch: Batch) -> [[Float]] {
        let output = trained.model(batch, .inference())
        return FunnelTrain.predictions(of: output, scalings: trained.metadata.targetScalings).map(\.scalars)
            + conditionalKeys.map { output.extras[$0]!.value.scalars }
    }

    private func outputIndices(_ tasks: [String]?) throws(ScoringError) -> [Int] {
        guard let tasks else { return Array(outputNames.indices) }
        var indices: [Int] = []
        for task in tasks {
            guard let index = outputNames.firstIndex(of: task) else {
                throw ScoringError(.unknownTask, "unknown task '\(task)' (outputs: \(outputNames.joined(separator: ", ")))")
            }
            indices.append(index)
        }
        return indices
    }

    private func assign(_ fields: [RawField], row: Int?, into values: inout [String?]) throws(ScoringError) {
        for field in fields {
            guard let i = positions[field.name] else {
                if options.ignoresUnknownFeatures { continue }
                let place = row.map { "row \($0)" } ?? "common"
                throw ScoringError(.unknownFeature, row: row, feature: field.name, "\(place): unknown feature '\(field.name)'")
            }
            values[i] = field.value.text
        }
    }

    /// An encoding error as a refusal naming `row` and the feature.
    private static func refusal(_ error: any Error, row: Int) -> ScoringError {
        guard let error = error as? DataError else { return ScoringError(.invalidNumber, row: row, "row \(row): \(error)") }
        let feature = error.columnName.map { "feature '\($0)': " } ?? ""
        let kind: ScoringError.Kind = error.kind == .missingValue ? .missingFeature : error.kind == .number ? .invalidNumber : .wrongType
        return ScoringError(kind, row: row, feature: error.columnName, "row \(row): \(feature)\(error.message)")
    }
}

/// Why a checkpoint cannot be served.
public enum ScorerError: Error, CustomStringConvertible {
    case warmUpFailed(String)

    public var description: String {
        switch self {
        case .warmUpFailed(let detail): return "warm-up failed: \(detail)"
        }
    }
}
