import FunnelCore
import FunnelData
import FunnelModels

/// One model of a tune: its choice (registry name, label, and the configuration keys and balancing it pins), the
/// search space over everything it does not pin, and the trials drawn from that space.
///
/// The space is, in order: the dimensions derived from the model's configuration (`SearchSpace.derived`) plus the
/// training ones (`TrainingDimension`), adjusted by the model (`MultiTaskModel.searchSpace(adjusting:)`); minus the keys the choice
/// pins; then the space file's dimensions for this model.
public struct ModelSearch: Sendable {
    public let choice: RunConfiguration.ModelChoice
    public let space: SearchSpace
    /// The training settings every trial starts from (the choice's balancing applied).
    public let training: TrainingConfiguration
    /// The choice's full configuration (the model's defaults with the choice's keys merged in).
    let configuration: JSONValue

    public init(choice: RunConfiguration.ModelChoice, training: TrainingConfiguration, taskCount: Int, spaceFile: SpaceFile?,
                registry: ModelRegistry = .standard) throws {
        let entry = try registry.entry(named: choice.name)
        configuration = try registry.configuration(named: choice.name, overrides: choice.configuration)
        var space = SearchSpace.derived(fromDefaults: configuration)
        for (key, dimension) in TrainingDimension.defaultDimensions(taskCount: taskCount) {
            precondition(configuration.value(at: key) == nil, "model '\(choice.name)' has a configuration key named like the training setting '\(key)'")
            space.dimensions[key] = dimension
        }
        space = entry.searchSpace(adjusting: space)
        if case .object(let pinned)? = choice.configuration {
            space.dimensions = space.dimensions.filter { key, _ in !pinned.keys.contains { key == $0 || key.hasPrefix($0 + ".") } }
        }
        if choice.balancing != nil { space.dimensions[TrainingDimension.balancing.rawValue] = nil }
        for (key, dimension) in spaceFile?.dimensions(for: choice.displayName, configuration: configuration) ?? [:] {
            space.dimensions[key] = dimension
        }
        self.choice = choice
        self.space = space
        var training = training
        if let balancing = choice.balancing { training.balancing = balancing }
        self.training = training
    }

    /// The label of the model in tables and logs.
    public var label: String { choice.displayName }

    /// The values of trial `index` (0-based) of a search seeded `seed`: trial 0 keeps every default the space contains
    /// (so the defaults always compete), later trials draw every key. A trial's values depend only on the seed, the
    /// label, the index and the space.
    public func values(ofTrial index: Int, seed: UInt64) throws -> [String: JSONValue] {
        var rng = SeededGenerator(seed: PortableRandom.mix64(PortableRandom.mix64(seed ^ fnv1a64(label)) &+ UInt64(index)))
        var values = space.sample(using: &rng)
        guard index == 0 else { return values }
        for key in space.keys {
            let current = try TrainingDimension(rawValue: key).map { try $0.value(in: training) } ?? configuration.value(at: key)
            if let current, space.dimensions[key]!.contains(current) { values[key] = current }
        }
        return values
    }

    /// The model choice and training settings of a trial with `values`: model keys merged into the choice's
    /// configuration, training keys into `training`.
    public func candidate(_ values: [String: JSONValue]) throws -> (choice: RunConfiguration.ModelChoice, training: TrainingConfiguration) {
        var choice = self.choice
        var training = self.training
        for key in values.keys.sorted() {
            let value = values[key]!
            if let dimension = TrainingDimension(rawValue: key) {
                try dimension.apply(value, to: &training)
                if dimension == .balancing { choice.balancing = training.balancing }
            } else {
                let change = JSONValue.nested(value, at: key)
                choice.configuration = choice.configuration.map { $0.overlaid(with: change) } ?? change
            }
        }
        return (choice, training)
    }
}
