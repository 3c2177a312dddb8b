import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain

/// One row of the training-step benchmark: a registry model in the parity benchmark configuration (baselines.md
/// §1.8: d = 16, dropout 0.2 where the model has a `dropout` option, batch 1024, Adam lr 1e-3) on the parity data
/// (synthetic-data.md §7), with its tasks and loss balancing. The PyTorch peer builds the twin of the same name
/// with the same overrides (`bench/pytorch_reference.py <model> --config … --tasks … --balancing …`).
///
/// Specs (`parse`): `name` (any registry name), `name/fixed` or `name/htlnet` (that balancing; `htlnet` needs the
/// amount task, so it implies `Tasks.withAmount`), and `mmoe~name`: an MMoE on `name`'s tasks whose expert count
/// gives the parameter count closest to `name`'s (the "MMoE of similar size" comparison).
public struct BenchmarkCase: Equatable, Sendable {
    /// The tasks a case trains.
    public enum Tasks: String, Sendable {
        /// The parity data's two binary tasks `task0`, `task1` (nested, task1 := task0 · task1, for models that
        /// chain the funnel: `ModelTraits.nestsLabels`).
        case twoBinary = "two"
        /// Those plus a continuous core task `amount` = task1 · (1 + u) (u uniform per row), standardised with the
        /// mean and deviation of the benchmark's batches, MSE — the regime HTLNet is built for.
        case withAmount = "amount"
    }

    /// How the task losses become gradients (`BalancingMethod`).
    public enum Balancing: String, Sendable {
        /// Σ_t L_t (+ the model's auxiliary loss): one backward pass.
        case fixed
        /// HTLNet's adjustment (`BalancingMethod.htlnet`, core = the last task): one backward pass per task.
        case htlnet
    }

    /// What the table shows.
    public var label: String
    /// The registry name.
    public var model: String
    /// Configuration overrides merged over the model's defaults (and passed to the twin as `--config`).
    public var overrides: [String: JSONValue]
    public var tasks: Tasks
    public var balancing: Balancing
    /// Whether task1's labels are nested under task0's (the model's `ModelTraits.nestsLabels`).
    public var nestsLabels: Bool

    public init(label: String, model: String, overrides: [String: JSONValue], tasks: Tasks, balancing: Balancing,
                nestsLabels: Bool = false) {
        self.label = label
        self.model = model
        self.overrides = overrides
        self.tasks = tasks
        self.balancing = balancing
        self.nestsLabels = nestsLabels
    }

    /// The default rows of `funnel bench step`: the multi-task baselines and the single-task CTR models.
    public static let defaultSpecs = ["single-task", "shared-bottom", "omoe", "mmoe", "cgc", "ple", "esmm", "escm2-ips",
                                      "escm2-dr", "aitm", "dcn", "dcn-v2", "nfm", "autoint", "fint", "xdeepfm"]

    /// The parity case of registry model `name`: `embeddingWidth` 16 and `dropout` 0.2 where the configuration has
    /// them, with the model's natural tasks and balancing (its `ModelTraits`): a model built for its own balancing
    /// (HTLNet's adjustment) trains on the amount core task with it and keeps its towers' default dropout (HTLNet's
    /// paper and twin: 0); the rest: two binary tasks, summed.
    public static func parity(_ name: String, registry: ModelRegistry = .standard) throws -> BenchmarkCase {
        let entry = try registry.entry(named: name)
        guard case .object(let defaults) = entry.defaultConfiguration else {
            throw BenchmarkCaseError.invalid(name, "the default configuration is not an object")
        }
        let balancing = try entry.traits.defaultBalancing.map { method in
            guard let balancing = Balancing(rawValue: method) else {
                throw BenchmarkCaseError.invalid(name, "the benchmark has no balancing '\(method)'")
            }
            return balancing
        } ?? .fixed
        var overrides: [String: JSONValue] = [:]
        if defaults["embeddingWidth"] != nil { overrides["embeddingWidth"] = .number(16) }
        if let dropout = defaults["dropout"] { overrides["dropout"] = balancing == .fixed ? .number(0.2) : dropout }
        return BenchmarkCase(label: name, model: name, overrides: overrides, tasks: balancing == .htlnet ? .withAmount : .twoBinary,
                             balancing: balancing, nestsLabels: entry.traits.nestsLabels)
    }

    /// The case a spec names (see the type's documentation).
    public static func parse(_ spec: String, registry: ModelRegistry = .standard) throws -> BenchmarkCase {
        if let tilde = spec.firstIndex(of: "~") {
            let base = String(spec[..<tilde]), target = try parse(String(spec[spec.index(after: tilde)...]), registry: registry)
            var matched = try parity(base, registry: registry)
            matched.tasks = target.tasks
            matched.label = spec
            try matched.matchExperts(toParameterCountOf: target, registry: registry)
            return matched
        }
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw BenchmarkCaseError.invalid(spec, "expected name, name/balancing or base~name") }
        var result = try parity(parts[0], registry: registry)
        if parts.count == 2 {
            guard let balancing = Balancing(rawValue: parts[1]) else {
                throw BenchmarkCaseError.invalid(spec, "balancing '\(parts[1])' is not fixed or htlnet")
            }
            result.balancing = balancing
            if balancing == .htlnet { result.tasks = .withAmount }
            result.label = spec
        }
        return result
    }

    /// The task specs of this case (the amount task standardised; its scaling is fitted on the batches).
    public var taskSpecs: [TaskSpec] {
        let binary = ParityBenchmarkGenerator().tasks
        guard tasks == .withAmount else { return binary }
        return binary + [TaskSpec(name: "amount", kind: .continuous, parent: binary[1].name, targetTransform: .standardize)]
    }

    /// `overrides` as compact JSON with sorted keys (the twin's `--config`).
    public var overridesJSON: String {
        (try? JSONValue.object(overrides).data()).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Builds this case's model (seed 0).
    public func makeModel(registry: ModelRegistry = .standard) throws -> AnyMultiTaskModel {
        var rng = SeededGenerator(seed: 0)
        let generator = ParityBenchmarkGenerator()
        return try registry.makeModel(named: model, configuration: .object(overrides), features: generator.layout,
                                      tasks: taskSpecs, using: &rng)
    }

    /// Sets `experts` (1…16) so that the parameter count is closest to `target`'s.
    mutating func matchExperts(toParameterCountOf target: BenchmarkCase, registry: ModelRegistry) throws {
        guard case .object(let defaults) = try registry.entry(named: model).defaultConfiguration, defaults["experts"] != nil else {
            throw BenchmarkCaseError.invalid(label, "'\(model)' has no `experts` option to size")
        }
        let goal = Double(try target.makeModel(registry: registry).parameterCount)
        var best: (experts: Int, gap: Double)?
        for experts in 1...16 {
            var candidate = self
            candidate.overrides["experts"] = .number(Double(experts))
            let gap = abs(Double(try candidate.makeModel(registry: registry).parameterCount) - goal)
            if best.map({ gap < $0.gap }) ?? true { best = (experts, gap) }
        }
        overrides["experts"] = .number(Double(best!.experts))
    }
}

/// Why a benchmark spec cannot be used.
public enum BenchmarkCaseError: Error, CustomStringConvertible {
    case invalid(String, String)

    public var description: String {
        switch self {
        case let .invalid(spec, reason): return "benchmark case '\(spec)': \(reason)"
        }
    }
}
