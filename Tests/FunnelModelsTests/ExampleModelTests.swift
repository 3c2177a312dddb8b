import Foundation
import XCTest
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// Adding a model is one file plus one registry line (docs/adding-a-model.md): this file is the whole model — a
/// configuration with its defaults written once, children declared once, the shared task towers — and the test
/// registers it with one line, then builds, configures and trains it only through the registry.
final class ExampleModelTests: XCTestCase {
    /// A shared-embedding model with one linear-then-tower branch per task.
    final class WideTowers: MultiTaskModel {
        struct Configuration: Codable, Sendable {
            var embeddingWidth = 4
            var towerWidths = [8]
            /// Off by default: an optional option, settable from JSON (`{"dropout": 0.1}`).
            var dropout: Float?
        }

        let embedding: FieldEmbedding
        let towers: [TaskTower]

        init(configuration c: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator) {
            let embedding = FieldEmbedding(layout: features, width: c.embeddingWidth, using: &rng)
            self.embedding = embedding
            towers = tasks.enumerated().map { t, task in
                TaskTower(inputWidth: embedding.outputWidth, hiddenWidths: c.towerWidths, batchNorm: false, dropout: c.dropout ?? 0,
                          task: task, name: "towers.\(t)", using: &rng)
            }
        }

        var children: [any Module] { embedding; towers }
        var sharedParameters: [Parameter] { embedding.parameters }

        func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput {
            let e = embedding(batch, context)
            return ModelOutput(heads: towers.map { $0(e, context) })
        }
    }

    func testAModelIsOneFilePlusOneRegistryLine() throws {
        var registry = ModelRegistry.standard
        registry.register(WideTowers.self, as: "wide-towers", defaults: .init(), summary: "an example")

        XCTAssertEqual(try registry.entry(named: "wide-towers").defaultConfiguration,
                       .object(["embeddingWidth": .number(4), "towerWidths": .array([.number(8)]), "dropout": .null]))
        XCTAssertThrowsError(try registry.configuration(named: "wide-towers", overrides: .object(["dropuot": .number(0.1)])),
                             "a misspelt key is rejected")
        let tasks = ModelTestInputs.tasks(continuous: .zeroInflatedLognormal)
        var rng = SeededGenerator(seed: 5)
        let model = try registry.makeModel(named: "wide-towers", configuration: .object(["dropout": .number(0.1)]),
                                           features: ModelTestInputs.layout, tasks: tasks, using: &rng)
        let wide = try XCTUnwrap(model.model as? WideTowers)
        XCTAssertEqual(wide.towers[0].hidden.dropouts, [0.1], "the optional option was set")
        XCTAssertEqual(model.parameters.map(\.name).filter { $0.hasPrefix("towers.2.") },
                       ["towers.2.linears.0.weight", "towers.2.linears.0.bias", "towers.2.output.weight", "towers.2.output.bias"])
        XCTAssertEqual(model.parameters.count, wide.embedding.parameters.count + wide.towers.map(\.parameters.count).reduce(0, +))

        let trainer = try Trainer(model: model, tasks: tasks, configuration: TrainingConfiguration())
        let batch = ModelTestInputs.batch(tasks: tasks)
        let first = try trainer.step(batch, epoch: 0)
        var last = first
        for _ in 0..<30 { last = try trainer.step(batch, epoch: 0) }
        XCTAssertLessThan(last.reduce(0, +), first.reduce(0, +), "it trains, a ZILN amount task included")
    }

    /// Traits are declared by the model types and handed out by the registry per name.
    func testTraitsComeFromTheModelTypes() {
        let registry = ModelRegistry.standard
        XCTAssertEqual(registry.entries.filter(\.traits.nestsLabels).map(\.name),
                       ["esmm", "escm2-ips", "escm2-dr", "aitm", "aitm-mtreclib"])
        XCTAssertEqual(registry.entries.filter { $0.traits.defaultBalancing != nil }.map(\.name), ["htlnet"])
    }
}
