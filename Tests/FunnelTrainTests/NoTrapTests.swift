import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// Rule 2 of RELIABILITY.md: a value out of range is an error naming the option and its range, never a trap.
final class NoTrapTests: XCTestCase {
    private let layout = FeatureLayout(vocabularySizes: [5, 7], numericCount: 1)
    private let tasks = [TaskSpec(name: "ctr", kind: .binary, label: "click"),
                         TaskSpec(name: "cvr", kind: .binary, label: "conv", parent: "ctr"),
                         TaskSpec(name: "amount", kind: .continuous, label: "amount", parent: "cvr", loss: .zeroInflatedLognormal)]

    private func build(_ name: String, _ json: String) throws {
        var rng = SeededGenerator(seed: 0)
        _ = try ModelRegistry.standard.makeModel(named: name, configuration: Data(json.utf8), features: layout, tasks: tasks, using: &rng)
    }

    /// Every numeric key of every registered model's defaults has a range rule, so no field escapes the check.
    func testEveryNumericConfigurationKeyHasARule() throws {
        func numericKeys(_ value: JSONValue, key: String?) -> [String] {
            switch value {
            case .object(let object): return object.flatMap { numericKeys($0.value, key: $0.key) }
            case .array(let items): return items.flatMap { numericKeys($0, key: key) }
            case .number: return key.map { [$0] } ?? []
            default: return []
            }
        }
        for entry in ModelRegistry.standard.entries {
            for key in numericKeys(entry.defaultConfiguration, key: nil) {
                XCTAssertNotNil(ConfigurationRules.rules[key], "\(entry.name): numeric key '\(key)' has no range rule")
            }
            XCTAssertNoThrow(try ConfigurationRules.validate(entry.defaultConfiguration, model: entry.name), entry.name)
        }
    }

    func testOutOfRangeModelSettingsAreNamedErrors() throws {
        XCTAssertThrowsError(try build("mmoe", #"{"dropout": 1.0}"#)) {
            XCTAssertEqual("\($0)", "mmoe: dropout must be in [0, 1), got 1.0")
        }
        XCTAssertThrowsError(try build("shared-bottom", #"{"bottomWidths": [16, -4]}"#)) {
            XCTAssertEqual("\($0)", "shared-bottom: bottomWidths[1] must be an integer ≥ 1, got -4.0")
        }
        // Every registered model with a zero or negative embedding width, and with dropout 1, is refused by name.
        for entry in ModelRegistry.standard.entries {
            guard case .object(let defaults) = entry.defaultConfiguration else { continue }
            if defaults["embeddingWidth"] != nil {
                XCTAssertThrowsError(try build(entry.name, #"{"embeddingWidth": -3}"#)) {
                    XCTAssertTrue("\($0)".hasPrefix("\(entry.name): embeddingWidth must be"), "\($0)")
                }
            }
            if defaults["dropout"] != nil {
                XCTAssertThrowsError(try build(entry.name, #"{"dropout": 1}"#)) { XCTAssertTrue("\($0)".contains("dropout"), "\($0)") }
            }
        }
        XCTAssertThrowsError(try build("htlnet", #"{"temperature": {"initial": 0}}"#)) {
            XCTAssertTrue("\($0)".contains("htlnet: temperature.initial must be > 0"), "\($0)")
        }
    }

    func testOutOfRangeTrainingSettingsAreNamedErrors() throws {
        let cases: [(WritableKeyPath<TrainingConfiguration, Int>, Int, String)] = [
            (\.epochs, 0, "training.epochs (--epochs) must be ≥ 1, got 0"),
            (\.batchSize, 0, "training.batchSize (--batch-size) must be ≥ 1, got 0"),
            (\.batchSize, -5, "training.batchSize (--batch-size) must be ≥ 1, got -5"),
            (\.earlyStopping.patience, 0, "training.earlyStopping.patience (--patience) must be ≥ 1, got 0"),
        ]
        for (path, value, message) in cases {
            var configuration = TrainingConfiguration()
            configuration[keyPath: path] = value
            XCTAssertThrowsError(try configuration.validate()) { XCTAssertEqual("\($0)", message) }
        }
        var configuration = TrainingConfiguration()
        configuration.optimizer.learningRate = -0.1
        XCTAssertThrowsError(try configuration.validate()) {
            XCTAssertEqual("\($0)", "training.optimizer.learningRate (--lr) must be > 0 and finite, got \(Double(Float(-0.1)))")
        }
        // Flags go through the same check before any data is read.
        var overrides = RunOverrides()
        overrides.batchSize = 0
        XCTAssertThrowsError(try RunConfiguration().applying(overrides)) { XCTAssertTrue("\($0)".contains("--batch-size"), "\($0)") }
    }

    func testANegativeAmountUnderZILNIsALocatedDataError() throws {
        let schema = try DatasetSchema.decode(Data("""
            name: amounts
            files: [rows.csv]
            features: [{name: f, kind: categorical}]
            tasks: [{name: amount, kind: continuous, label: amount, loss: ziln}]
            """.utf8), name: "amounts.yaml")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-ziln-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("f,amount\na,1.5\nb,-2\n".utf8).write(to: directory.appendingPathComponent("rows.csv"))
        XCTAssertThrowsError(try RawTable.read(schema: schema, files: ["rows.csv"], directory: directory)) { error in
            let error = error as? DataError
            XCTAssertEqual(error?.kind, .label)
            XCTAssertEqual(error?.line, 3)
            XCTAssertEqual(error?.columnName, "amount")
            XCTAssertTrue(error?.description.hasPrefix("rows.csv:3: column 1 (amount): label of task 'amount' must be ≥ 0") == true,
                          error?.description ?? "")
        }
    }
}
