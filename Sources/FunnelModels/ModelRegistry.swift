import Foundation
import FunnelCore
import FunnelData

/// Every multi-task model by name, built from a (partial) JSON configuration merged over the model's defaults.
/// Trainers, benchmarks and the CLI construct models only through a registry, never by switching on names.
///
/// ```swift
/// var rng = SeededGenerator(seed: 1)
/// let model = try ModelRegistry.standard.makeModel(named: "ple", configuration: #"{"taskExperts": 1}"#.data(using: .utf8),
///                                                  features: layout, tasks: tasks, using: &rng)
/// ```
public struct ModelRegistry: Sendable {
    /// One registered model.
    public struct Entry: Sendable {
        public let name: String
        /// One line for listings.
        public let summary: String
        /// The full default configuration (what a partial configuration is merged over).
        public let defaultConfiguration: JSONValue
        /// The model type's traits.
        public let traits: ModelTraits
        /// The model's search space from the generic one (`MultiTaskModel.searchSpace(adjusting:)`).
        let adjustSearchSpace: @Sendable (SearchSpace) -> SearchSpace
        fileprivate let build: @Sendable (JSONValue, FeatureLayout, [TaskSpec], inout SeededGenerator) throws -> any MultiTaskModel
    }

    /// Registered models in registration order.
    public private(set) var entries: [Entry] = []

    public init() {}

    /// Registers `type` under `name` with `defaults` (a model may be registered under several names with
    /// different defaults, e.g. `escm2-ips` and `escm2-dr`).
    public mutating func register<Model: MultiTaskModel>(_ type: Model.Type, as name: String, defaults: Model.Configuration,
                                                         summary: String) {
        precondition(!names.contains(name), "model '\(name)' is already registered")
        let defaultJSON: JSONValue
        do { defaultJSON = try JSONValue(configuration: defaults) } catch { preconditionFailure("defaults of '\(name)' do not encode: \(error)") }
        entries.append(Entry(name: name, summary: summary, defaultConfiguration: defaultJSON, traits: Model.traits,
                             adjustSearchSpace: { Model.searchSpace(adjusting: $0) }) { json, features, tasks, rng in
            Model(configuration: try json.decode(as: Model.Configuration.self), features: features, tasks: tasks, using: &rng)
        })
    }

    /// Every model's full default configuration, by name: what `funnel compare --list-models --json` prints and
    /// what the PyTorch twins read (`bench/model-defaults.json`).
    public var defaultConfigurations: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.defaultConfiguration) }))
    }

    /// Registered names in registration order.
    public var names: [String] { entries.map(\.name) }

    /// The entry named `name`.
    public func entry(named name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.name == name }) else { throw ModelRegistryError.unknownModel(name, known: names) }
        return entry
    }

    /// The full configuration of model `name` after merging `overrides` (nil: the defaults).
    public func configuration(named name: String, overrides: JSONValue?) throws -> JSONValue {
        let entry = try entry(named: name)
        guard let overrides else { return entry.defaultConfiguration }
        do { return try entry.defaultConfiguration.merging(overrides) } catch {
            throw ModelRegistryError.invalidConfiguration(model: name, reason: "\(error)")
        }
    }

    /// Builds model `name` with `configuration` (a partial or full configuration object; nil for the defaults).
    /// Every numeric value is range-checked first (`ConfigurationRules`; a `RangeError` names the model and key).
    public func makeModel(named name: String, configuration overrides: JSONValue?, features: FeatureLayout, tasks: [TaskSpec],
                          using rng: inout SeededGenerator) throws -> AnyMultiTaskModel {
        let entry = try entry(named: name)
        let configuration = try self.configuration(named: name, overrides: overrides)
        try ConfigurationRules.validate(configuration, model: name)
        let model: any MultiTaskModel
        do { model = try entry.build(configuration, features, tasks, &rng) } catch {
            throw ModelRegistryError.invalidConfiguration(model: name, reason: "\(error)")
        }
        return AnyMultiTaskModel(name: name, configuration: configuration, model: model)
    }

    /// Builds model `name` from configuration JSON text (nil for the defaults).
    public func makeModel(named name: String, configuration data: Data?, features: FeatureLayout, tasks: [TaskSpec],
                          using rng: inout SeededGenerator) throws -> AnyMultiTaskModel {
        let overrides: JSONValue?
        do { overrides = try data.map { try JSONValue(data: $0) } } catch {
            throw ModelRegistryError.invalidConfiguration(model: name, reason: "not JSON: \(error)")
        }
        return try makeModel(named: name, configuration: overrides, features: features, tasks: tasks, using: &rng)
    }

    /// Funnel's models (baselines.md §2–9).
    public static let standard: ModelRegistry = {
        var registry = ModelRegistry()
        registry.register(SingleTaskDNN.self, as: "single-task", defaults: .init(),
                          summary: "one independent DNN per task (own embedding unless shareEmbedding)")
        registry.register(SharedBottom.self, as: "shared-bottom", defaults: .init(), summary: "shared bottom MLP, one tower per task")
        registry.register(OMoE.self, as: "omoe", defaults: .init(), summary: "mixture of experts with one gate shared by all tasks")
        registry.register(MMoE.self, as: "mmoe", defaults: .init(), summary: "mixture of experts with one gate per task")
        registry.register(CGC.self, as: "cgc", defaults: .init(), summary: "task-specific and shared experts, one extraction level")
        registry.register(PLE.self, as: "ple", defaults: .init(), summary: "progressive layered extraction (stacked CGC levels)")
        registry.register(ESMM.self, as: "esmm", defaults: .init(), summary: "entire-space chain of conversion steps")
        registry.register(ESCM2.self, as: "escm2-ips", defaults: .init(),
                          summary: "ESMM with an inverse-propensity counterfactual regulariser")
        registry.register(ESCM2.self, as: "escm2-dr", defaults: .doublyRobust,
                          summary: "ESMM with a doubly robust counterfactual regulariser and imputation tower")
        registry.register(AITM.self, as: "aitm", defaults: .init(), summary: "adaptive information transfer with calibrator (official)")
        registry.register(AITM.self, as: "aitm-mtreclib", defaults: .mtreclib, summary: "adaptive information transfer (MTReclib variant)")
        registry.register(DCN.self, as: "dcn", defaults: .init(), summary: "deep & cross network (one per task)")
        registry.register(DCNV2.self, as: "dcn-v2", defaults: .init(), summary: "DCN-V2 cross network, full/low-rank/mixture (one per task)")
        registry.register(NFM.self, as: "nfm", defaults: .init(), summary: "neural factorization machine (one per task)")
        registry.register(AutoIntPlus.self, as: "autoint", defaults: .init(), summary: "AutoInt+ self-attention over fields (one per task)")
        registry.register(FINT.self, as: "fint", defaults: .init(), summary: "field-aware interaction network (one per task)")
        registry.register(XDeepFM.self, as: "xdeepfm", defaults: .init(), summary: "xDeepFM with a compressed interaction network (one per task)")
        registry.register(HTLNet.self, as: "htlnet", defaults: .init(),
                          summary: "HTLNet: label embeddings and information fusion toward a continuous core task")
        registry.register(DEPHN.self, as: DEPHN.registryName, defaults: .init(),
                          summary: "DEPHN: heterogeneous experts, soft selection gating, virtual gradient")
        registry.register(MTPHN.self, as: MTPHN.registryName, defaults: .init(), summary: "MT-PHN: MMoE gates over DEPHN's experts")
        registry.register(APEMReconstruction.self, as: APEMReconstruction.registryName, defaults: .init(),
                          summary: "APEM-reconstruction: group transformer, SE and pattern selector (reconstructed from the abstract)")
        return registry
    }()
}

/// Why a registry could not build a model.
public enum ModelRegistryError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, known: [String])
    case invalidConfiguration(model: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownModel(name, known): "unknown model '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .invalidConfiguration(model, reason): "invalid configuration for '\(model)': \(reason)"
        }
    }
}
