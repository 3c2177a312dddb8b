import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// `funnel tune`'s library side: the successive-halving budget, selection on validation only, resume after a kill,
/// the run files of the winners, and the paired t-test of the tuned table.
final class TuningTests: XCTestCase {
    private static let recipe = SyntheticRecipe(generator: .funnel, rows: 2000, seed: 3, preset: "smoke")
    private static let data = try! recipe.makeData()

    /// Two tiny models, 3 trials, η = 3, 1 then 2 epochs, seeds 0 and 1.
    private static func tuner(trials: Int = 3, seed: UInt64 = 0) throws -> Tuner {
        var training = TrainingConfiguration()
        training.epochs = 2
        training.batchSize = 256
        let models = [
            RunConfiguration.ModelChoice(name: "esmm", configuration: try JSONValue(data: Data(#"{"embeddingWidth": 4, "towerWidths": [8]}"#.utf8))),
            RunConfiguration.ModelChoice(name: "shared-bottom", label: "sb",
                                         configuration: try JSONValue(data: Data(#"{"embeddingWidth": 4, "bottomWidths": [8], "towerWidths": [4]}"#.utf8))),
        ]
        let space = try SpaceFile(json: try JSONValue(data: Data(#"{"all": {"balancing": {"choice": ["fixed", "uncertainty"]}}}"#.utf8)))
        return try Tuner(run: RunConfiguration(data: DataSpecification(synthetic: recipe), models: models, training: training, seeds: [0, 1]),
                         settings: TuningSettings(trials: trials, eta: 3, minEpochs: 1, searchSeed: seed), spaceFile: space, tasks: data.tasks)
    }

    private func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-tune-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Counts the trials it trains and their epoch budgets; the monitor is a fixed function of the learning rate.
    private final class CountingRunner: TrialRunner {
        var budgets: [String: [Int]] = [:]
        func measure(_ choice: RunConfiguration.ModelChoice, training: TrainingConfiguration) throws -> TrialMeasurement {
            budgets[choice.displayName, default: []].append(training.epochs)
            return TrialMeasurement(monitor: Double(training.optimizer.learningRate), validation: [:], bestEpoch: training.epochs,
                                    epochsRun: training.epochs)
        }
    }

    func testSuccessiveHalvingSchedulesAndAccountsTheBudget() throws {
        let nine = try SuccessiveHalving(trials: 9, eta: 3, minEpochs: 1, maxEpochs: 9)
        XCTAssertEqual(nine.rungs.map(\.trials), [9, 3, 1])
        XCTAssertEqual(nine.rungs.map(\.epochs), [1, 3, 9])
        XCTAssertEqual(nine.budgetedEpochs, 27)
        XCTAssertEqual(nine.evaluations, 13)
        let six = try SuccessiveHalving(trials: 6, eta: 3, minEpochs: 1, maxEpochs: 4)
        XCTAssertEqual(six.rungs.map(\.trials), [6, 2, 1])
        XCTAssertEqual(six.rungs.map(\.epochs), [1, 3, 4])
        XCTAssertEqual(six.budgetedEpochs, 6 + 6 + 4)
        XCTAssertThrowsError(try SuccessiveHalving(trials: 6, eta: 1, minEpochs: 1, maxEpochs: 4))

        let tuner = try Self.tuner(trials: 9)
        let runner = CountingRunner()
        let outcome = try tuner.tune(Self.data, output: try directory(), runner: runner)
        XCTAssertEqual(tuner.schedule.rungs.map(\.trials), [9, 3])
        for label in ["esmm", "sb"] {
            XCTAssertEqual(runner.budgets[label], Array(repeating: 1, count: 9) + Array(repeating: 2, count: 3), "same trials and epochs for \(label)")
            let budget = try XCTUnwrap(outcome.budgets.first { $0.model == label })
            XCTAssertEqual(budget.searchBudgetedEpochs, 15)
            XCTAssertEqual(budget.searchEpochsRun, 15)
            XCTAssertEqual(budget.finalBudgetedEpochs, 4)
            let search = try XCTUnwrap(outcome.searches.first { $0.label == label })
            let first = search.records.filter { $0.rung == 0 }.sorted { $0.monitor! > $1.monitor! }
            let promoted = search.records.filter { $0.rung == 1 }.map(\.trial)
            XCTAssertEqual(Set(promoted), Set(first.prefix(3).map(\.trial)), "the best third goes on")
            XCTAssertEqual(search.best.monitor, search.records.filter { $0.rung == 1 }.compactMap(\.monitor).max())
        }
        XCTAssertTrue(outcome.markdown().contains("9 trials × 1 epoch, 3 × 2 epochs = 15 epochs per model"))
    }

    func testSelectionNeverReadsTheTestSplit() throws {
        XCTAssertEqual(Mirror(reflecting: SearchData(Self.data)).children.compactMap(\.label), ["train", "validation"],
                       "a search sees train and validation only")
        var shuffled = Self.data
        shuffled.test = Self.data.train.subset(Array(0..<Self.data.test.rowCount))
        let a = try Self.tuner().tune(Self.data, output: try directory())
        let b = try Self.tuner().tune(shuffled, output: try directory())
        for (x, y) in zip(a.searches, b.searches) {
            XCTAssertEqual(x.records.map(\.withoutTimings), y.records.map(\.withoutTimings), "the search does not depend on the test split")
            XCTAssertEqual(x.best.values, y.best.values)
        }
        XCTAssertEqual(a.finals.map(\.run.validation), b.finals.map(\.run.validation))
        XCTAssertNotEqual(a.finals.map(\.run.test), b.finals.map(\.run.test), "only the final scores read test")
    }

    func testAKilledTuneResumesToTheSameResult() throws {
        let output = try directory()
        let full = try Self.tuner().tune(Self.data, output: output)
        let log = output.appendingPathComponent("trials.jsonl")
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 2 * (3 + 1) + 2 * 2, "header, 4 trial trainings and 2 final runs per model")
        XCTAssertThrowsError(try Self.tuner().tune(Self.data, output: output)) { XCTAssertTrue("\($0)".contains("--resume")) }

        // Killed after 5 trials, in the middle of writing the 6th.
        try Data((lines.prefix(6).joined(separator: "\n") + "\n" + lines[6].prefix(40)).utf8).write(to: log)
        final class Counting: TrialRunner {
            let inner: ValidationTrialRunner
            var trained = 0
            init(_ inner: ValidationTrialRunner) { self.inner = inner }
            func measure(_ choice: RunConfiguration.ModelChoice, training: TrainingConfiguration) throws -> TrialMeasurement {
                trained += 1
                return try inner.measure(choice, training: training)
            }
        }
        let runner = Counting(ValidationTrialRunner(data: SearchData(Self.data)))
        let resumed = try Self.tuner().tune(Self.data, output: output, resume: true, runner: runner)
        XCTAssertEqual(runner.trained, 8 - 5, "the 5 logged trials are not trained again")
        for (x, y) in zip(full.searches, resumed.searches) {
            XCTAssertEqual(x.records.map(\.withoutTimings), y.records.map(\.withoutTimings))
            XCTAssertEqual(x.choice, y.choice)
        }
        XCTAssertEqual(full.comparison.runs.map(\.test), resumed.comparison.runs.map(\.test))
        XCTAssertThrowsError(try Self.tuner(seed: 1).tune(Self.data, output: output, resume: true)) {
            XCTAssertTrue("\($0)".contains("settings differs"), "\($0)")
        }
    }

    func testTheRunFileReproducesTheTunedRuns() throws {
        let output = try directory()
        let outcome = try Self.tuner().tune(Self.data, output: output)
        try outcome.write(to: output)
        for label in ["esmm", "sb"] {
            let run = try RunConfiguration.load(from: output.appendingPathComponent("best/\(label).yaml"))
            XCTAssertEqual(run, outcome.runFiles[label])
            let again = try run.comparison(for: Self.data).run(train: Self.data.train, validation: Self.data.validation, test: Self.data.test)
            XCTAssertEqual(again.runs.map(\.test), outcome.comparison.runs.filter { $0.model == label }.map(\.test))
        }
        for name in ["tune.md", "search.md", "comparison.json", "trials.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }
    }

    func testRunFilesNameTheDataRelativeToWhereTheyAreWritten() {
        let data = DataSpecification(schema: "recipes/census.yaml", dataDirectory: "../shared/data")
        let moved = data.relocated(from: URL(fileURLWithPath: "/work/repo"), to: URL(fileURLWithPath: "/work/repo/runs/t/best"))
        XCTAssertEqual(moved.schema, "../../../recipes/census.yaml")
        XCTAssertEqual(moved.dataDirectory, "../../../../shared/data")
        XCTAssertEqual(DataSpecification(schema: "/abs/s.yaml").relocated(from: nil, to: URL(fileURLWithPath: "/x")).schema, "/abs/s.yaml")
    }

    func testPairedTTest() throws {
        XCTAssertEqual(PairedDifference.twoSidedP(t: 3.182446, degreesOfFreedom: 3), 0.05, accuracy: 1e-5)
        XCTAssertEqual(PairedDifference.twoSidedP(t: -2.776445, degreesOfFreedom: 4), 0.05, accuracy: 1e-5)
        XCTAssertEqual(PairedDifference.twoSidedP(t: 0, degreesOfFreedom: 4), 1, accuracy: 1e-12)
        func run(_ model: String, _ seed: UInt64, _ auc: Double) -> ComparisonRun {
            let json = #"{"model": "\#(model)", "seed": \#(seed), "bestEpoch": 1, "epochs": 1, "steps": 1, "trainingSeconds": 0, "parameters": 0, "#
                + #""validation": {}, "test": {"ctr": {"auc": \#(auc)}}}"#
            return try! JSONDecoder().decode(ComparisonRun.self, from: Data(json.utf8))
        }
        let outcome = ComparisonOutcome(models: ["base", "new"], tasks: ["ctr"], seeds: [0, 1, 2, 3],
                                        runs: [0.70, 0.71, 0.72, 0.73].enumerated().map { run("base", UInt64($0), $1) }
                                            + [0.71, 0.73, 0.75, 0.77].enumerated().map { run("new", UInt64($0), $1) })
        let d = try XCTUnwrap(PairedDifference(model: "new", baseline: "base", task: "ctr", metric: "auc", in: outcome))
        XCTAssertEqual(d.differences, [0.01, 0.02, 0.03, 0.04].map { $0 }, accuracy: 1e-12)
        XCTAssertEqual(d.mean, 0.025, accuracy: 1e-12)
        XCTAssertEqual(d.t!, 0.025 / (0.0129099 / 2), accuracy: 1e-3)
        XCTAssertEqual(d.p!, PairedDifference.twoSidedP(t: d.t!, degreesOfFreedom: 3), accuracy: 1e-15)
        XCTAssertLessThan(d.p!, 0.05)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
