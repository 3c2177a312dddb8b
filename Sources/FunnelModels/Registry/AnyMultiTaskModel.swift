import Foundation
import FunnelCore
import FunnelData
import FunnelNN

/// Any registered multi-task model behind one concrete type (built by `ModelRegistry`), itself a
/// `MultiTaskModel` so generic code (`TrainingStep<AnyMultiTaskModel>`) runs every model.
public final class AnyMultiTaskModel: MultiTaskModel {
    /// A model choice as it appears in run files and checkpoints: `{"model": "ple", "configuration": {…}}`.
    public struct Configuration: Codable, Equatable, Sendable {
        /// A registered model name.
        public var model: String
        /// A partial configuration merged over the model's defaults (nil: the defaults).
        public var configuration: JSONValue?

        public init(model: String, configuration: JSONValue? = nil) {
            self.model = model
            self.configuration = configuration
        }
    }

    /// The registered name the model was built under.
    public let name: String
    /// The full configuration (defaults merged with the overrides), as JSON.
    public let configuration: JSONValue
    /// The model itself.
    public let model: any MultiTaskModel

    init(name: String, configuration: JSONValue, model: any MultiTaskModel) {
        self.name = name
        self.configuration = configuration
        self.model = model
    }

    /// Builds `configuration.model` from `ModelRegistry.standard`. An unknown name or an invalid configuration is
    /// a programming error here; use `ModelRegistry.makeModel` to handle it.
    public convenience init(configuration: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
        let built: AnyMultiTaskModel
        do {
            built = try ModelRegistry.standard.makeModel(named: configuration.model, configuration: configuration.configuration,
                                                         features: features, tasks: tasks, using: &rng)
        } catch {
            preconditionFailure("\(error)")
        }
        self.init(name: built.name, configuration: built.configuration, model: built.model)
    }

    /// The model choice that rebuilds this model (full configuration).
    public var specification: Configuration { Configuration(model: name, configuration: configuration) }

    /// The full configuration as JSON text (sorted keys).
    public func configurationData(prettyPrinted: Bool = false) throws -> Data {
        try configuration.data(prettyPrinted: prettyPrinted)
    }

    public var parameters: [Parameter] { model.parameters }
    public var buffers: [Parameter] { model.buffers }
    public var sharedParameters: [Parameter] { model.sharedParameters }

    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput { model(batch, context) }
}

extension AnyMultiTaskModel {
    /// Passes training progress on to the wrapped model.
    public func trainingProgress(step: Int, epoch: Int) { model.trainingProgress(step: step, epoch: epoch) }

    /// The wrapped model's report.
    public func inspectionReport(on batch: Batch) -> String? { model.inspectionReport(on: batch) }

    /// The wrapped model's heat maps.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] { model.inspectionHeatmaps(on: batch) }
}
