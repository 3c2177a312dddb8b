import FunnelCore
import FunnelTestSupport
import FunnelData
import FunnelModels
import Foundation
import FunnelTrain
import XCTest

/// The trainer end to end on a small correlated two-task binary dataset (synthetic-data.md §2, §4).
final class TrainerTests: XCTestCase {
    private func data(rows: Int = 3000) throws -> (train: EncodedTable, validation: EncodedTable) {
        let generator = try CorrelatedTasksDataset(
            configuration: .twoTasks(cosine: 0.9, rows: rows, labels: .binary(BinaryThresholding(rates: [0.3, 0.3]))), seed: 3)
        let table = generator.table, splits = generator.splits
        return (table.subset(splits.train), table.subset(splits.validation))
    }

    private func model(_ tasks: [TaskSpec], _ layout: FeatureLayout, batchNorm: Bool = true, seed: UInt64 = 0) -> MMoE {
        var rng = SeededGenerator(seed: seed)
        return MMoE(configuration: configured(MMoE.Configuration()) {
            $0.embeddingWidth = 16
            $0.experts = 3
            $0.expertWidths = [16]
            $0.towerWidths = [8]
            $0.batchNorm = batchNorm
        },
                    features: layout, tasks: tasks, using: &rng)
    }

    private func configuration(epochs: Int = 4) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = epochs
        c.batchSize = 128
        c.optimizer.learningRate = 3e-3
        c.earlyStopping.patience = 10
        return c
    }

    func testLearnsAndReportsValidationMetricsOfTheBestEpoch() throws {
        let (train, validation) = try data()
        let m = model(train.tasks, train.layout)
        let trainer = try Trainer(model: m, tasks: train.tasks, configuration: configuration())
        let summary = try trainer.fit(train: train, validation: validation)
        XCTAssertEqual(summary.history.count, 4)
        XCTAssertEqual(summary.steps, 4 * Int((Double(train.rowCount) / 128).rounded(.up)))
        let auc = try XCTUnwrap(summary.validation["task0"]?["auc"])
        XCTAssertGreaterThan(auc, 0.8, "a linear-ish task should be learnt well above chance")
        // The restored weights are the best epoch's: re-evaluating gives exactly its recorded metrics.
        let again = try Evaluator().evaluate(m, on: validation, tasks: train.tasks)
        XCTAssertEqual(again.metrics["task0"]?["auc"], auc)
        XCTAssertEqual(summary.bestValue, summary.history.map(\.monitor).max())
    }

    func testSameSeedGivesBitIdenticalWeights() throws {
        let (train, validation) = try data(rows: 1200)
        let weights = try (0..<2).map { _ -> [[Float]] in
            let m = model(train.tasks, train.layout)
            _ = try Trainer(model: m, tasks: train.tasks, configuration: configuration(epochs: 2)).fit(train: train, validation: validation)
            return m.parameters.map(\.value.scalars)
        }
        XCTAssertEqual(weights[0], weights[1])
    }

    func testEarlyStoppingStopsAfterPatienceWithoutImprovement() throws {
        let (train, validation) = try data(rows: 1200)
        var c = configuration(epochs: 30)
        c.optimizer.learningRate = 1e-30  // (0 is refused) no weight moves by a representable step: epoch 1 is never improved upon
        c.earlyStopping.patience = 2
        let summary = try Trainer(model: model(train.tasks, train.layout, batchNorm: false), tasks: train.tasks, configuration: c)
            .fit(train: train, validation: validation)
        XCTAssertEqual(summary.history.count, 3)
        XCTAssertEqual(summary.bestEpoch, 1)
    }

    func testNonFiniteLossNamesTheTaskAndStep() throws {
        var (train, validation) = try data(rows: 600)
        train.labels[1] = .nan  // row 0, task1
        var c = configuration(epochs: 1)
        c.batchSize = train.rowCount
        let trainer = try Trainer(model: model(train.tasks, train.layout), tasks: train.tasks, configuration: c)
        XCTAssertThrowsError(try trainer.fit(train: train, validation: validation)) { error in
            XCTAssertEqual("\(error)".contains("task 'task1'"), true, "\(error)")
            XCTAssertEqual("\(error)".contains("step 0"), true, "\(error)")
        }
    }

    /// A run stopped after 2 of 4 epochs and resumed from its `last/` checkpoint ends bit-identical to an
    /// uninterrupted run (weights, optimizer moments, balancer state and the early-stopping loop are restored).
    func testResumedRunIsBitIdenticalToAnUninterruptedOne() throws {
        let (train, validation) = try data(rows: 1200)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-resume-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: root) }
        // The resumed run starts from different initial weights: only a real restore can make it match.
        func run(epochs: Int, directory: String, resume: Bool) throws -> (weights: [[Float]], summary: TrainingSummary) {
            let m = model(train.tasks, train.layout, seed: resume ? 99 : 0)
            var c = configuration(epochs: epochs)
            c.balancing = .uncertaintyWeighting
            let trainer = try Trainer(model: m, tasks: train.tasks, configuration: c)
            trainer.checkpointing = TrainingCheckpoints(
                directory: root.appendingPathComponent(directory),
                metadata: CheckpointMetadata(model: "mmoe", configuration: try JSONValue(encoding: m.configuration),
                                             features: train.layout, tasks: train.tasks))
            let summary = try trainer.fit(train: train, validation: validation, resume: resume)
            return ((m.parameters + m.buffers).map(\.value.scalars), summary)
        }
        let straight = try run(epochs: 4, directory: "straight", resume: false)
        _ = try run(epochs: 2, directory: "interrupted", resume: false)
        let resumed = try run(epochs: 4, directory: "interrupted", resume: true)
        XCTAssertEqual(resumed.summary.history.count, 4)
        XCTAssertEqual(resumed.summary.steps, straight.summary.steps)
        XCTAssertEqual(resumed.summary.bestEpoch, straight.summary.bestEpoch)
        XCTAssertEqual(resumed.weights, straight.weights)
        let best = try Checkpoint.read(from: root.appendingPathComponent("straight/best"))
        XCTAssertEqual(best.metadata.epoch, straight.summary.bestEpoch)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("straight").path)
            .allSatisfy { !$0.contains(".tmp-") }, "no staging directory is left behind")
    }

    func testMonitorParsesWeightedExpressionsAndRejectsMixedDirections() throws {
        let monitor = try Monitor("0.5*ctr.auc + 0.5*mean(gauc)")
        XCTAssertTrue(monitor.higherIsBetter)
        let value = try monitor.value(of: ["ctr": ["auc": 0.7, "gauc": 0.6], "cvr": ["gauc": 0.8]])
        XCTAssertEqual(value, 0.5 * 0.7 + 0.5 * 0.7, accuracy: 1e-12)
        XCTAssertFalse(try Monitor("amount.loss").higherIsBetter)
        XCTAssertThrowsError(try Monitor("ctr.auc + ctr.logloss"))
        XCTAssertThrowsError(try monitor.value(of: ["cvr": ["auc": 0.5]])) { error in
            XCTAssertTrue("\(error)".contains("ctr.auc"))
        }
    }
}
