import Foundation
import FunnelModels
import Yams

/// A search-space file for `funnel tune --space`: dimensions for every model (`all`) and for single models
/// (`models`, by label), each replacing or adding to the model's default space (`ModelSearch.space`).
///
/// ```yaml
/// all:
///   learningRate: {logUniform: [0.0003, 0.003]}
///   batchNorm: false                       # a plain value pins the key
/// models:
///   mmoe:
///     experts: {choice: [4, 8]}
///     expertSettings.crossLayers: {int: [1, 3]}
/// ```
/// A key is a training setting (`TrainingDimension`) or a key of the model's configuration (dotted for nested ones);
/// a key under `all` must exist in at least one tuned model and applies to those that have it.
public struct SpaceFile: Equatable, Sendable {
    public var all: [String: SearchDimension]
    public var models: [String: [String: SearchDimension]]

    public init(all: [String: SearchDimension] = [:], models: [String: [String: SearchDimension]] = [:]) {
        self.all = all
        self.models = models
    }

    /// Reads a YAML (or JSON) space file.
    public static func load(from url: URL) throws -> SpaceFile {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw SearchSpaceError(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try SpaceFile(json: try YAMLDecoder().decode(JSONValue.self, from: text)) } catch let error as SearchSpaceError {
            throw SearchSpaceError(message: "\(url.lastPathComponent): \(error.message)")
        } catch {
            throw SearchSpaceError(message: "\(url.lastPathComponent): \(error)".replacingOccurrences(of: "\n", with: " "))
        }
    }

    /// A space file from its JSON form.
    public init(json: JSONValue) throws {
        guard case .object(let object) = json else { throw SearchSpaceError(message: "a space file is a mapping with `all` and/or `models`") }
        if let unknown = object.keys.sorted().first(where: { !["all", "models"].contains($0) }) {
            throw SearchSpaceError.invalid(unknown, "unknown key (known: all, models)")
        }
        all = try Self.dimensions(object["all"], path: "all")
        models = [:]
        if let section = object["models"] {
            guard case .object(let byModel) = section else { throw SearchSpaceError.invalid("models", "expects a mapping of model labels") }
            for (label, value) in byModel { models[label] = try Self.dimensions(value, path: "models.\(label)") }
        }
    }

    private static func dimensions(_ json: JSONValue?, path: String) throws -> [String: SearchDimension] {
        guard let json else { return [:] }
        guard case .object(let object) = json else { throw SearchSpaceError.invalid(path, "expects a mapping of keys to dimensions") }
        return try object.reduce(into: [:]) { result, item in
            result[item.key] = try SearchDimension(json: item.value, key: "\(path).\(item.key)")
        }
    }

    /// Checks every key against the tuned models: labels under `models` must be tuned, keys must be training settings or
    /// configuration keys of their model (of some model, under `all`). `configurations`: each label's full configuration.
    func validate(configurations: [String: JSONValue]) throws {
        for label in models.keys.sorted() {
            guard let configuration = configurations[label] else {
                throw SearchSpaceError.invalid("models.\(label)", "not one of the tuned models (\(configurations.keys.sorted().joined(separator: ", ")))")
            }
            for key in models[label]!.keys.sorted() where !Self.names(key, in: configuration) {
                throw SearchSpaceError.invalid("models.\(label).\(key)", "not a training setting (\(Self.trainingNames)) or a configuration key of this model")
            }
        }
        for key in all.keys.sorted() where !configurations.values.contains(where: { Self.names(key, in: $0) }) {
            throw SearchSpaceError.invalid("all.\(key)", "not a training setting (\(Self.trainingNames)) or a configuration key of any tuned model")
        }
    }

    /// The dimensions this file sets for model `label` with `configuration`: `all` (where the model has the key), then its own.
    func dimensions(for label: String, configuration: JSONValue) -> [String: SearchDimension] {
        var result = all.filter { Self.names($0.key, in: configuration) }
        for (key, dimension) in models[label] ?? [:] { result[key] = dimension }
        return result
    }

    /// Whether `key` is a training setting or a (dotted) key of `configuration`.
    static func names(_ key: String, in configuration: JSONValue) -> Bool {
        TrainingDimension(rawValue: key) != nil || configuration.value(at: key) != nil
    }

    private static var trainingNames: String { TrainingDimension.allCases.map(\.rawValue).joined(separator: ", ") }
}

extension JSONValue {
    /// The value at a dotted key path of nested objects, or nil.
    public func value(at path: String) -> JSONValue? {
        path.split(separator: ".").reduce(Optional(self)) { value, key in
            guard case .object(let object)? = value else { return nil }
            return object[String(key)]
        }
    }

    /// A nested object holding `value` at the dotted key path.
    static func nested(_ value: JSONValue, at path: String) -> JSONValue {
        path.split(separator: ".").reversed().reduce(value) { inner, key in .object([String(key): inner]) }
    }
}
