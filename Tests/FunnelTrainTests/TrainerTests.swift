import FunnelCore
import FunnelData
import FunnelModels
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

    private func model(_ tasks: [TaskSpec], _ layout: FeatureLayout, batchNorm: Bool = true) -> MMoE {
        var rng = SeededGenerator(seed: 0)
        return MMoE(configuration: MMoE.Configuration(embeddingWidth: 16, experts: 3, expertWidths: [16], towerWidths: [8],
                                                      batchNorm: batchNorm),
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
        c.optimizer.learningRate = 0  // no weights (and no batch-norm statistics) change: epoch 1 is never improved upon
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
