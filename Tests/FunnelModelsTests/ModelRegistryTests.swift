import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// The registry: names, defaults (the same as the PyTorch twins'), partial configurations, errors, the type-erased
/// model, and a training step of every model built only through the registry.
final class ModelRegistryTests: XCTestCase {
    let registry = ModelRegistry.standard
    let tiny = JSONValue.object(["embeddingWidth": .number(4)])

    func testStandardNames() {
        XCTAssertEqual(registry.names, ["single-task", "shared-bottom", "omoe", "mmoe", "cgc", "ple", "esmm", "escm2-ips",
                                        "escm2-dr", "aitm", "aitm-mtreclib", "dcn", "dcn-v2", "nfm", "autoint", "fint", "xdeepfm",
                                        "htlnet", "dephn", "mt-phn", "apem-reconstruction"])
        XCTAssertTrue(registry.entries.allSatisfy { !$0.summary.isEmpty })
    }

    /// `bench/model-defaults.json`, the defaults the PyTorch twins read (`bench/torch_models` DEFAULTS), is exactly
    /// what `funnel compare --list-models --json` prints: every registry model's full default configuration.
    /// Regenerate it with `swift run funnel compare --list-models --json > bench/model-defaults.json`.
    func testTwinDefaultsFileIsTheRegistrysDefaults() throws {
        let url = ParityFixture.directory(area: "models").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/model-defaults.json")
        let file = try JSONValue(data: Data(contentsOf: url))
        XCTAssertEqual(file, registry.defaultConfigurations, "bench/model-defaults.json is stale")
        guard case .object(let models) = file else { return XCTFail("not an object") }
        XCTAssertEqual(Set(models.keys), Set(registry.names))
    }

    /// `defaults.json`'s `parameterCounts`: every twin, built at the registry defaults on the parity benchmark layout
    /// (HTLNet with a third, continuous task), has exactly as many parameters as the Swift model — the architecture
    /// check behind `funnel bench step --peer`'s throughput ratios.
    func testParameterCountsMatchThePyTorchTwins() throws {
        let url = ParityFixture.directory(area: "models").appendingPathComponent("defaults.json")
        guard case .object(let file) = try JSONValue(data: Data(contentsOf: url)), case .object(let counts)? = file["parameterCounts"] else {
            return XCTFail("defaults.json has no parameterCounts object")
        }
        XCTAssertEqual(Set(counts.keys), Set(registry.names))
        let generator = ParityBenchmarkGenerator()
        for name in registry.names {
            guard case .number(let expected)? = counts[name] else { continue }
            var tasks = generator.tasks
            if name == "htlnet" { tasks.append(TaskSpec(name: "amount", kind: .continuous)) }
            var rng = SeededGenerator(seed: 1)
            let model = try registry.makeModel(named: name, configuration: nil as JSONValue?, features: generator.layout, tasks: tasks,
                                               using: &rng)
            XCTAssertEqual(model.parameterCount, Int(expected), name)
        }
    }

    /// The type-erased wrapper passes training progress on: a Trainer anneals the Gumbel temperature of an HTLNet
    /// built through the registry, as of one built directly.
    func testTrainerAnnealsARegistryBuiltHTLNet() throws {
        let schedule = JSONValue.object(["initial": .number(4), "decay": .number(0.5), "interval": .number(2), "minimum": .number(0.5)])
        let tasks = ModelTestInputs.tasks(continuous: .squaredError)
        var rng = SeededGenerator(seed: 4)
        let model = try registry.makeModel(named: "htlnet", configuration: .object(["embeddingWidth": .number(4), "temperature": schedule]),
                                           features: ModelTestInputs.layout, tasks: tasks, using: &rng)
        let htlnet = try XCTUnwrap(model.model as? HTLNet)
        XCTAssertEqual(htlnet.temperature, 4)
        let trainer = try Trainer(model: model, tasks: tasks, configuration: TrainingConfiguration())
        for _ in 0..<5 { _ = try trainer.step(ModelTestInputs.batch(tasks: tasks), epoch: 0) }
        XCTAssertEqual(htlnet.temperature, 1, "the fifth step ran at step index 4: 4 · 0.5^2")
    }

    func testPartialConfigurationIsMergedOverTheDefaults() throws {
        var rng = SeededGenerator(seed: 3)
        let overrides = try JSONValue(data: Data(#"{"embeddingWidth": 4, "taskExperts": 1, "expertDimsPerLevel": [[8], [6, 5]]}"#.utf8))
        let model = try registry.makeModel(named: "ple", configuration: overrides, features: ModelTestInputs.layout,
                                           tasks: ModelTestInputs.tasks(), using: &rng)
        let ple = try XCTUnwrap(model.model as? PLE)
        XCTAssertEqual(ple.configuration.taskExperts, 1)
        XCTAssertEqual(ple.configuration.sharedExperts, 2, "an option not given keeps its default")
        XCTAssertEqual(ple.configuration.expertDimsPerLevel, [[8], [6, 5]], "arrays are replaced, not merged")
        guard case .object(let full) = model.configuration else { return XCTFail("configuration is not an object") }
        XCTAssertEqual(full["towerWidths"], .array([.number(64)]))
        XCTAssertEqual(full["taskExperts"], .number(1))
        let decoded = try JSONValue(data: model.configurationData())
        XCTAssertEqual(decoded, model.configuration)
    }

    func testDataOverloadAndDefaults() throws {
        var rng = SeededGenerator(seed: 3)
        let model = try registry.makeModel(named: "omoe", configuration: nil as Data?, features: ModelTestInputs.layout,
                                           tasks: ModelTestInputs.tasks(), using: &rng)
        XCTAssertEqual(model.configuration, try registry.entry(named: "omoe").defaultConfiguration)
        XCTAssertEqual((model.model as? OMoE)?.experts.count, 8)
        let fromText = try registry.makeModel(named: "omoe", configuration: Data(#"{"experts": 2}"#.utf8),
                                              features: ModelTestInputs.layout, tasks: ModelTestInputs.tasks(), using: &rng)
        XCTAssertEqual((fromText.model as? OMoE)?.experts.count, 2)
    }

    func testErrorsNameTheProblem() {
        var rng = SeededGenerator(seed: 3)
        func attempt(_ name: String, _ text: String?) -> String {
            do {
                _ = try registry.makeModel(named: name, configuration: text.map { Data($0.utf8) }, features: ModelTestInputs.layout,
                                           tasks: ModelTestInputs.tasks(), using: &rng)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(attempt("mmoee", nil).contains("unknown model 'mmoee'"), attempt("mmoee", nil))
        XCTAssertTrue(attempt("mmoe", #"{"expert": 3}"#).contains("unknown configuration key 'expert'"))
        XCTAssertTrue(attempt("escm2-dr", #"{"estimator": "dr", "minimumPropensty": 0.1}"#).contains("minimumPropensty"))
        XCTAssertTrue(attempt("mmoe", #"{"experts": "many"}"#).contains("invalid configuration for 'mmoe'"))
        XCTAssertTrue(attempt("aitm", #"{"variant": "tf"}"#).contains("invalid configuration for 'aitm'"))
        XCTAssertTrue(attempt("ple", "{not json").contains("not JSON"))
    }

    func testMergeIsRecursiveAndStrict() throws {
        let base = JSONValue.object(["a": .object(["x": .number(1), "y": .bool(true)]), "b": .array([.string("s")])])
        let merged = try base.merging(.object(["a": .object(["y": .bool(false)]), "b": .array([])]))
        XCTAssertEqual(merged, .object(["a": .object(["x": .number(1), "y": .bool(false)]), "b": .array([])]))
        XCTAssertThrowsError(try base.merging(.object(["a": .object(["z": .null])]))) { error in
            XCTAssertEqual(error as? JSONMergeError, .unknownKey("a.z", known: ["x", "y"]))
        }
    }

    /// The specification of a built model rebuilds the same model (`AnyMultiTaskModel` is itself a
    /// `MultiTaskModel` whose configuration is `{model, configuration}`), parameter for parameter from one seed.
    func testSpecificationRebuildsTheModel() throws {
        var rng = SeededGenerator(seed: 11)
        let original = try registry.makeModel(named: "escm2-dr", configuration: tiny, features: ModelTestInputs.layout,
                                              tasks: ModelTestInputs.tasks(), using: &rng)
        let encoded = try JSONEncoder().encode(original.specification)
        let specification = try JSONDecoder().decode(AnyMultiTaskModel.Configuration.self, from: encoded)
        var again = SeededGenerator(seed: 11)
        let rebuilt = AnyMultiTaskModel(configuration: specification, features: ModelTestInputs.layout,
                                        tasks: ModelTestInputs.tasks(), using: &again)
        XCTAssertEqual(rebuilt.name, "escm2-dr")
        XCTAssertEqual(rebuilt.parameters.map(\.name), original.parameters.map(\.name))
        for (a, b) in zip(rebuilt.parameters, original.parameters) { XCTAssertTrue(bitIdentical(a.value, b.value), a.name) }
    }

    /// Every registered model, built only through the registry, on two binary steps and a regression task: one
    /// training forward, the task losses (chained BCE for chains) plus R, backward, Adam. Every parameter gets a
    /// finite gradient (except HTLNet's fusion key/value layers of a task with one earlier task, which a one-input
    /// attention does not use), and a second forward on the same batch has a lower loss. Per-task models (the
    /// single-task DNN and the CTR models) share nothing; every other model declares shared parameters.
    func testEveryModelTrainsThroughTheRegistry() throws {
        let perTaskModels: Set = ["single-task", "dcn", "dcn-v2", "nfm", "autoint", "fint", "xdeepfm"]
        for name in registry.names {
            let tasks = ModelTestInputs.tasks(continuous: .squaredError)
            let batch = ModelTestInputs.batch(tasks: tasks)
            var rng = SeededGenerator(seed: 5)
            let model = try registry.makeModel(named: name, configuration: try ModelTestInputs.small(name), features: ModelTestInputs.layout,
                                               tasks: tasks, using: &rng)
            let optimizer = Adam(learningRate: 0.01)
            func step() -> Float {
                let tape = Tape()
                let output = model(batch, ForwardContext(tape: tape, mode: .training))
                var total = sum(parityTaskLosses(output, batch: batch, tasks: tasks))
                if let auxiliary = output.auxiliaryLoss { total = total + auxiliary }
                for parameter in model.parameters { parameter.zeroGradient() }
                tape.backward(total)
                optimizer.step(model.parameters)
                return total.value.scalar
            }
            let first = step()
            for parameter in model.parameters {
                if name == "htlnet", parameter.name.hasPrefix("representation_fusions.1.h") || parameter.name.hasPrefix("label_fusions.1.h"),
                   !parameter.name.contains(".h1.") { continue }
                let grad = try XCTUnwrap(parameter.grad, "\(name): \(parameter.name) has no gradient")
                XCTAssertTrue(grad.scalars.allSatisfy(\.isFinite), "\(name): \(parameter.name)")
            }
            let second = step()
            XCTAssertTrue(first.isFinite && second < first, "\(name): loss \(first) → \(second)")
            let shared = Set(model.sharedParameters.map(\.name))
            XCTAssertEqual(shared.isEmpty, perTaskModels.contains(name), "\(name): shared parameters \(shared.count)")
            XCTAssertTrue(shared.isSubset(of: Set(model.parameters.map(\.name))), name)
        }
    }

    /// `TrainingStep` is generic over `MultiTaskModel`; the type-erased model runs through it unchanged.
    func testTrainingStepRunsTheTypeErasedModel() throws {
        let tasks = ModelTestInputs.tasks(continuous: .squaredError)
        var rng = SeededGenerator(seed: 5)
        let model = try registry.makeModel(named: "shared-bottom", configuration: tiny, features: ModelTestInputs.layout, tasks: tasks, using: &rng)
        let step = TrainingStep(model: model, tasks: tasks, optimizer: Adam(learningRate: 0.01))
        let batch = ModelTestInputs.batch(tasks: tasks)
        let first = try step(batch, rng: &rng).losses, second = try step(batch, rng: &rng).losses
        XCTAssertEqual(first.count, 3)
        XCTAssertLessThan(second.reduce(0, +), first.reduce(0, +))
    }
}
