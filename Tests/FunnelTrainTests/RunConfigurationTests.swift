import Foundation
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// Run files (YAML) for `funnel compare` / `funnel train`, and command-line flags overriding them.
final class RunConfigurationTests: XCTestCase {
    private static let yaml = """
        data:
          synthetic: {generator: funnel, rows: 3000, seed: 7, preset: smoke}
        models:
          - mmoe
          - ple-small=ple
          - name: htlnet
            label: htlnet-noLE
            configuration: {transferLabels: false}
            balancing: pcgrad
        training:
          epochs: 4
          batchSize: 256
          optimizer: {kind: adamW, learningRate: 0.002, weightDecay: 0.01}
          earlyStopping: {monitor: "ctr.auc", patience: 3}
          balancing: uncertainty
          gradientClip: 5
        seeds: [0, 1, 2]
        output: runs/x
        """

    func testYAMLRunFileParses() throws {
        let run = try RunConfiguration.decode(Data(Self.yaml.utf8))
        XCTAssertEqual(run.data?.synthetic, SyntheticRecipe(generator: .funnel, rows: 3000, seed: 7, preset: "smoke"))
        XCTAssertEqual(run.models.map(\.displayName), ["mmoe", "ple-small", "htlnet-noLE"])
        XCTAssertEqual(run.models.map(\.name), ["mmoe", "ple", "htlnet"])
        XCTAssertEqual(run.models[2].configuration, .object(["transferLabels": .bool(false)]))
        XCTAssertEqual(run.models[2].balancing, .pcGradDefault)
        XCTAssertEqual(run.training.epochs, 4)
        XCTAssertEqual(run.training.batchSize, 256)
        XCTAssertEqual(run.training.optimizer, OptimizerConfiguration(kind: .adamW, learningRate: 0.002, weightDecay: 0.01))
        XCTAssertEqual(run.training.earlyStopping, EarlyStopping(monitor: "ctr.auc", patience: 3))
        XCTAssertEqual(run.training.balancing, .uncertaintyWeighting)
        XCTAssertEqual(run.training.gradientClip, 5)
        XCTAssertEqual(run.seeds, [0, 1, 2])
        XCTAssertEqual(run.output, "runs/x")
    }

    func testFlagsOverrideTheRunFile() throws {
        let file = try RunConfiguration.decode(Data(Self.yaml.utf8))
        var flags = RunOverrides()
        flags.models = [try .init(parsing: "htlnet-noLE=htlnet"), try .init(parsing: "esmm")]
        flags.modelConfigurations = ["htlnet-noLE": .object(["labelEmbeddingWidth": .number(4)])]
        flags.balancing = ["esmm": .metaBalanceDefault, "*": .fixedWeights]
        flags.seeds = [5]
        flags.epochs = 2
        flags.learningRate = 0.01
        flags.monitor = "mean(auc)"
        flags.threads = 1
        flags.output = "elsewhere"
        let run = try file.applying(flags)
        XCTAssertEqual(run.models.map(\.displayName), ["htlnet-noLE", "esmm"])
        // The run file's configuration and balancing of htlnet-noLE survive; the flag's keys are laid over it.
        XCTAssertEqual(run.models[0].configuration, .object(["transferLabels": .bool(false), "labelEmbeddingWidth": .number(4)]))
        XCTAssertEqual(run.models[0].balancing, .pcGradDefault)
        XCTAssertEqual(run.models[1].balancing, .metaBalanceDefault)
        XCTAssertEqual(run.training.balancing, .fixedWeights)
        XCTAssertEqual(run.seeds, [5])
        XCTAssertEqual(run.training.epochs, 2)
        XCTAssertEqual(run.training.batchSize, 256, "not overridden")
        XCTAssertEqual(run.training.optimizer.learningRate, 0.01)
        XCTAssertEqual(run.training.optimizer.kind, .adamW, "not overridden")
        XCTAssertEqual(run.training.earlyStopping, EarlyStopping(monitor: "mean(auc)", patience: 3))
        XCTAssertEqual(run.training.threads, 1)
        XCTAssertEqual(run.output, "elsewhere")
        XCTAssertEqual(run.data, file.data)
    }

    func testMistakesAreErrors() throws {
        XCTAssertThrowsError(try RunConfiguration.decode(Data("modles: [mmoe]\n".utf8))) { error in
            XCTAssertTrue("\(error)".contains("modles"), "\(error)")
        }
        XCTAssertThrowsError(try RunConfiguration.decode(Data("models: [{name: mmoe, confg: {}}]\n".utf8)))
        XCTAssertThrowsError(try RunConfiguration.decode(Data("models: [mmoe]\ntraining: {balancing: pcgard}\n".utf8)))
        XCTAssertThrowsError(try RunConfiguration.decode(Data("data: {synthetic: {generator: funnel, rowz: 3}}\n".utf8)))
        var flags = RunOverrides()
        flags.modelConfigurations = ["absent": .object([:])]
        XCTAssertThrowsError(try RunConfiguration(models: [.init(name: "mmoe")]).applying(flags))
        XCTAssertThrowsError(try RunConfiguration.ModelChoice(parsing: "label="))
        // A configuration key the model does not have fails when the comparison is built, before any training.
        let data = try SyntheticRecipe(generator: .correlated, rows: 100).makeData()
        let run = RunConfiguration(models: [.init(name: "mmoe", configuration: .object(["expertz": .number(2)]))])
        XCTAssertThrowsError(try run.comparison(for: data)) { XCTAssertTrue("\($0)".contains("expertz"), "\($0)") }
    }

    func testBalancingNames() throws {
        for name in BalancingMethod.names { XCTAssertNoThrow(try BalancingMethod(named: name)) }
        XCTAssertEqual(try BalancingMethod(named: "PCGrad"), .pcGradDefault)
        XCTAssertEqual(try BalancingMethod(json: try JSONValue(encoding: BalancingMethod.gradNorm(alpha: 0.5, learningRate: 0.1))),
                       .gradNorm(alpha: 0.5, learningRate: 0.1))
    }
}

extension RunConfigurationTests {
    func testNestedTrainingSettingsArePartialAndChecked() throws {
        let run = try RunConfiguration.decode(Data("training: {optimizer: {learningRate: 0.01}, earlyStopping: {patience: 5}}\n".utf8))
        XCTAssertEqual(run.training.optimizer, OptimizerConfiguration(learningRate: 0.01))
        XCTAssertEqual(run.training.earlyStopping, EarlyStopping(patience: 5))
        XCTAssertThrowsError(try RunConfiguration.decode(Data("training: {optimizer: {learningrate: 0.01}}\n".utf8))) { error in
            XCTAssertTrue("\(error)".contains("training.optimizer.learningrate"), "\(error)")
        }
    }
}
