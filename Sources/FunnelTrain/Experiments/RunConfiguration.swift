import Foundation
import FunnelData
import FunnelModels
import Yams

/// A run file (YAML or JSON) for `funnel compare` and `funnel train`: the data, the models, the training
/// settings, the seeds and where to write. Command-line flags override it field by field (`RunOverrides`).
///
/// ```yaml
/// data:
///   synthetic: {generator: funnel, rows: 60000, seed: 0}     # or: schema: recipes/census-income-mmoe.yaml, dataDir: ../data
/// models:
///   - mmoe                                                    # a registry name, or:
///   - {name: htlnet, label: htlnet-noLE, configuration: {transferLabels: false}, balancing: pcgrad}
/// training:                                                  # TrainingConfiguration; every field optional
///   epochs: 5
///   batchSize: 1024
///   optimizer: {kind: adam, learningRate: 0.002}
///   earlyStopping: {monitor: "mean(auc)", patience: 2}
///   balancing: uncertainty                                   # a method name (its defaults) or the full form
/// seeds: [0, 1, 2]
/// output: runs/funnel-baselines
/// ```
public struct RunConfiguration: Equatable, Sendable {
    /// One model of a run: the registry `name`, an optional display `label` (so one model can appear twice with
    /// different configurations), a partial `configuration`, and an optional loss-balancing override.
    public struct ModelChoice: Codable, Equatable, Sendable {
        public var name: String
        public var label: String?
        public var configuration: JSONValue?
        public var balancing: BalancingMethod?

        public init(name: String, label: String? = nil, configuration: JSONValue? = nil, balancing: BalancingMethod? = nil) {
            self.name = name
            self.label = label
            self.configuration = configuration
            self.balancing = balancing
        }

        /// The label, or the registry name.
        public var displayName: String { label ?? name }

        /// `name` or `label=name` (the command line's form).
        public init(parsing text: String) throws {
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.allSatisfy({ !$0.isEmpty }) else { throw RunConfigurationError.invalid("model '\(text)': expected name or label=name") }
            self.init(name: parts.last!, label: parts.count == 2 ? parts[0] : nil)
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case name, label, configuration, balancing }

        public init(from decoder: Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                try self.init(parsing: text)
                return
            }
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try c.decode(String.self, forKey: .name), label: try c.decodeIfPresent(String.self, forKey: .label),
                      configuration: try c.decodeIfPresent(JSONValue.self, forKey: .configuration),
                      balancing: try c.decodeIfPresent(JSONValue.self, forKey: .balancing).map(BalancingMethod.init(json:)))
        }
    }

    public var data: DataSpecification?
    public var models: [ModelChoice]
    public var training: TrainingConfiguration
    /// Seeds of the runs (each model is trained once per seed).
    public var seeds: [UInt64]
    /// Output directory.
    public var output: String?

    public init(data: DataSpecification? = nil, models: [ModelChoice] = [], training: TrainingConfiguration = TrainingConfiguration(),
                seeds: [UInt64] = [0], output: String? = nil) {
        self.data = data
        self.models = models
        self.training = training
        self.seeds = seeds
        self.output = output
    }

    private enum Keys: String, CodingKey, CaseIterable { case data, models, training, seeds, output }

    /// Reads a run file: YAML, or JSON when the file ends in `.json`.
    public static func load(from url: URL) throws -> RunConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw RunConfigurationError.invalid("cannot read the run file: \(ErrorText.describe(error))") }
        return try decode(data, name: url.lastPathComponent, json: url.pathExtension.lowercased() == "json")
    }

    /// Decodes a run file from YAML or JSON text; `name` labels errors.
    public static func decode(_ data: Data, name: String = "run file", json: Bool = false) throws -> RunConfiguration {
        do {
            let document = json ? try JSONDecoder().decode(JSONValue.self, from: data)
                                : try YAMLDecoder().decode(JSONValue.self, from: String(decoding: data, as: UTF8.self))
            return try RunConfiguration(json: document)
        } catch let error as RunConfigurationError {
            throw RunConfigurationError.invalid("\(name): \(error.message)")
        } catch {
            throw RunConfigurationError.invalid("\(name): \(ErrorText.describe(error))")
        }
    }

    /// A run configuration from its JSON form (what the YAML decodes to).
    public init(json: JSONValue) throws {
        guard case .object(let object) = json else { throw RunConfigurationError.invalid("the run file must be a mapping") }
        if let unknown = object.keys.sorted().first(where: { Keys(rawValue: $0) == nil }) {
            throw RunConfigurationError.invalid("unknown key '\(unknown)'; known keys: \(Keys.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init()
        data = try object["data"].map { try $0.decode(as: DataSpecification.self) }
        models = try object["models"].map { try $0.decode(as: [ModelChoice].self) } ?? []
        if case .object(let section)? = object["training"] {
            training = try Self.trainingConfiguration(section)
        } else if object["training"] != nil {
            throw RunConfigurationError.invalid("training must be a mapping of TrainingConfiguration fields")
        }
        seeds = try object["seeds"].map { try $0.decode(as: [UInt64].self) } ?? [0]
        output = try object["output"].map { try $0.decode(as: String.self) }
    }

    /// A `TrainingConfiguration` from a run file's `training` mapping. The nested settings objects (`optimizer`,
    /// `earlyStopping`) may be partial: they are merged over their defaults, and a key they do not have is an error.
    /// `balancing` may be a method name. Other fields are taken as written.
    static func trainingConfiguration(_ section: [String: JSONValue]) throws -> TrainingConfiguration {
        var section = section
        if let unknown = section.keys.sorted().first(where: { !TrainingConfiguration.keys.contains($0) }) {
            throw RunConfigurationError.invalid("training: unknown key '\(unknown)'; known keys: \(TrainingConfiguration.keys.joined(separator: ", "))")
        }
        let defaults = TrainingConfiguration()
        let nested: [(String, JSONValue)] = [("optimizer", try JSONValue(encoding: defaults.optimizer)),
                                             ("earlyStopping", try JSONValue(encoding: defaults.earlyStopping))]
        for (key, base) in nested {
            guard let given = section[key] else { continue }
            do { section[key] = try base.merging(given, path: "training.\(key)") } catch {
                throw RunConfigurationError.invalid("\(error)")
            }
        }
        if let balancing = section["balancing"] { section["balancing"] = try JSONValue(encoding: try BalancingMethod(json: balancing)) }
        return try JSONValue.object(section).decode(as: TrainingConfiguration.self)
    }

    /// This configuration with the flags of `overrides` applied.
    public func applying(_ overrides: RunOverrides) throws -> RunConfiguration {
        var run = self
        if let data = overrides.data { run.data = data }
        if let models = overrides.models {
            run.models = try models.map { choice in
                // A model the run file already configures keeps its configuration unless a flag replaces it.
                var merged = self.models.first { $0.displayName == choice.displayName && $0.name == choice.name } ?? choice
                merged.label = choice.label
                return merged
            }
        }
        for (label, configuration) in overrides.modelConfigurations {
            guard let index = run.models.firstIndex(where: { $0.displayName == label }) else {
                throw RunConfigurationError.invalid("--model-config names '\(label)', which is not one of the models \(run.models.map(\.displayName))")
            }
            run.models[index].configuration = run.models[index].configuration.map { $0.overlaid(with: configuration) } ?? configuration
        }
        for (label, balancing) in overrides.balancing {
            if label == "*" { run.training.balancing = balancing; continue }
            guard let index = run.models.firstIndex(where: { $0.displayName == label }) else {
                throw RunConfigurationError.invalid("--balancing names '\(label)', which is not one of the models \(run.models.map(\.displayName))")
            }
            run.models[index].balancing = balancing
        }
        if let seeds = overrides.seeds { run.seeds = seeds }
        if let output = overrides.output { run.output = output }
        if let epochs = overrides.epochs { run.training.epochs = epochs }
        if let batchSize = overrides.batchSize { run.training.batchSize = batchSize }
        if let rate = overrides.learningRate { run.training.optimizer.learningRate = rate }
        if let monitor = overrides.monitor { run.training.earlyStopping.monitor = monitor }
        if let patience = overrides.patience { run.training.earlyStopping.patience = patience }
        if let threads = overrides.threads { run.training.threads = threads }
        try run.training.validate()
        return run
    }

    /// The comparison of `models` × `seeds` on `data`'s layout and tasks (every model configuration is checked here).
    public func comparison(for data: ExperimentData, registry: ModelRegistry = .standard,
                           inspection: Comparison.InspectionScope = .firstSeed) throws -> Comparison {
        guard !models.isEmpty else { throw RunConfigurationError.invalid("no models (--models or `models:` in the run file)") }
        guard !seeds.isEmpty else { throw RunConfigurationError.invalid("no seeds") }
        let entries = try models.map { choice in
            try Comparison.Entry.registry(registry, name: choice.displayName, model: choice.name, configuration: choice.configuration,
                                          balancing: choice.balancing, features: data.layout, tasks: data.tasks)
        }
        return Comparison(entries: entries, seeds: seeds, training: training, tasks: data.tasks, inspection: inspection)
    }
}

/// Command-line values that replace a run file's (nil / empty: keep the file's).
public struct RunOverrides: Equatable, Sendable {
    public var data: DataSpecification?
    public var models: [RunConfiguration.ModelChoice]?
    /// Partial configurations by model label, overlaid on the run file's.
    public var modelConfigurations: [String: JSONValue] = [:]
    /// Balancing by model label; the label `*` sets the shared `training.balancing`.
    public var balancing: [String: BalancingMethod] = [:]
    public var seeds: [UInt64]?
    public var output: String?
    public var epochs: Int?
    public var batchSize: Int?
    public var learningRate: Float?
    public var monitor: String?
    public var patience: Int?
    public var threads: Int?

    public init() {}
}

/// A run file or flag that cannot be used.
public struct RunConfigurationError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public static func invalid(_ message: String) -> RunConfigurationError { RunConfigurationError(message: message) }

    public var description: String { message }
}

extension JSONValue {
    /// `other` laid over this value: objects key by key (recursively), anything else replaced. Unlike
    /// `merging(_:)`, new keys are allowed (both sides are partial; the registry checks keys when it merges over
    /// a model's defaults).
    func overlaid(with other: JSONValue) -> JSONValue {
        guard case .object(var base) = self, case .object(let changes) = other else { return other }
        for (key, change) in changes { base[key] = base[key].map { $0.overlaid(with: change) } ?? change }
        return .object(base)
    }
}
