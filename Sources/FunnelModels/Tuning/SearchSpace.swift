import FunnelCore

/// The hyperparameters a search varies for one model, by key: a key of the model's configuration (a dotted path
/// such as `expertSettings.crossLayers` for a nested one) or a training setting (`learningRate`, `weightDecay`,
/// `balancing`). Keys are visited in sorted order, so a seeded draw depends only on the space.
public struct SearchSpace: Equatable, Sendable {
    public var dimensions: [String: SearchDimension]

    public init(_ dimensions: [String: SearchDimension] = [:]) {
        self.dimensions = dimensions
    }

    /// The keys in the order draws visit them.
    public var keys: [String] { dimensions.keys.sorted() }

    /// One value per key, drawn in key order with `rng`.
    public func sample(using rng: inout SeededGenerator) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for key in keys { values[key] = dimensions[key]!.sample(using: &rng) }
        return values
    }

    /// The model dimensions derived from a default configuration: `embeddingWidth` (½×, 1×, 2×), every non-empty
    /// integer array whose key ends in `Widths` (each width ½×, 1×, 2×), `dropout` (0, 0.1, 0.2, 0.3) and
    /// `batchNorm` (off, on). Top-level keys only; a model adds others through `MultiTaskModel.searchSpace(adjusting:)`.
    public static func derived(fromDefaults defaults: JSONValue) -> SearchSpace {
        guard case .object(let object) = defaults else { return SearchSpace() }
        var space = SearchSpace()
        for (key, value) in object {
            switch (key, value) {
            case ("embeddingWidth", .number(let width)) where width >= 2:
                space.dimensions[key] = .choice([width / 2, width, width * 2].map { .number(($0).rounded(.down)) })
            case ("dropout", .number):
                space.dimensions[key] = .choice([0, 0.1, 0.2, 0.3].map(JSONValue.number))
            case ("batchNorm", .bool):
                space.dimensions[key] = .choice([.bool(false), .bool(true)])
            case (_, .array(let items)) where key.hasSuffix("Widths") && !items.isEmpty:
                let widths = items.compactMap { item -> Double? in if case .number(let x) = item, x.rounded() == x, x >= 1 { x } else { nil } }
                guard widths.count == items.count else { continue }
                space.dimensions[key] = .choice([0.5, 1, 2].map { factor in
                    .array(widths.map { .number(max(1, ($0 * factor).rounded(.down))) })
                })
            default:
                continue
            }
        }
        return space
    }
}

extension ModelRegistry.Entry {
    /// The model's search space: `derived` adjusted by the model when it declares its own.
    public func searchSpace(adjusting derived: SearchSpace) -> SearchSpace {
        adjustSearchSpace(derived)
    }
}
