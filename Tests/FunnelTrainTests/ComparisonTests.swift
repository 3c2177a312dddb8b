import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// `funnel compare`'s library side: the aggregated table, the JSON document, the SVG chart, per-entry balancing,
/// and the check that rejects a model whose heads cannot train the tasks before any training.
final class ComparisonTests: XCTestCase {
    private static func smallComparison() throws -> (Comparison, ExperimentData) {
        let data = try SyntheticRecipe(generator: .correlated, rows: 400, seed: 2, binaryRate: 0.3).makeData()
        var training = TrainingConfiguration()
        training.epochs = 1
        training.batchSize = 64
        let small = try JSONValue(data: Data(#"{"bottomWidths": [8], "towerWidths": [4]}"#.utf8))
        let mmoe = try JSONValue(data: Data(#"{"experts": 2, "expertWidths": [8], "towerWidths": [4]}"#.utf8))
        let entries = [
            try Comparison.Entry.registry(name: "sb", model: "shared-bottom", configuration: small, features: data.layout, tasks: data.tasks),
            try Comparison.Entry.registry(name: "mmoe-pcgrad", model: "mmoe", configuration: mmoe, balancing: .pcGradDefault,
                                          features: data.layout, tasks: data.tasks),
        ]
        return (Comparison(entries: entries, seeds: [0, 1], training: training, tasks: data.tasks), data)
    }

    func testTableCellsAreMeanAndSampleStdOfTheRuns() throws {
        let (comparison, data) = try Self.smallComparison()
        let result = try comparison.run(train: data.train, validation: data.validation, test: data.test)
        XCTAssertEqual(result.runs.map(\.model), ["sb", "sb", "mmoe-pcgrad", "mmoe-pcgrad"])
        XCTAssertEqual(result.runs.map(\.seed), [0, 1, 0, 1])
        XCTAssertEqual(result.entries?.map(\.balancing), [.fixedWeights, .pcGradDefault])
        XCTAssertEqual(result.entries?.first?.specification?.model, "shared-bottom")
        let table = result.markdown()
        var checked = 0
        for model in ["sb", "mmoe-pcgrad"] {
            for task in ["task0", "task1"] {
                let values = result.runs.filter { $0.model == model }.map { $0.test[task]!["auc"]! }
                XCTAssertEqual(values.count, 2)
                // A coarse test AUC of a tiny model can coincide for two seeds; the runs must differ somewhere.
                let runs = result.runs.filter { $0.model == model }
                XCTAssertNotEqual(runs[0].test, runs[1].test, "two seeds give two different models")
                let mean = (values[0] + values[1]) / 2
                let std = (((values[0] - mean) * (values[0] - mean) + (values[1] - mean) * (values[1] - mean)) / 1).squareRoot()
                let cell = try XCTUnwrap(result.cells.first { $0.model == model && $0.task == task && $0.metric == "auc" })
                XCTAssertEqual(cell.mean, mean, accuracy: 1e-15)
                XCTAssertEqual(cell.std, std, accuracy: 1e-15)
                XCTAssertEqual(cell.values, values)
                let row = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("| \(model) |") })
                XCTAssertTrue(row.contains(String(format: "%.4f ± %.4f", mean, std)), "\(row) lacks \(mean) ± \(std)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 4)
        let document = try JSONDecoder().decode(ComparisonOutcome.Document.self, from: result.jsonData())
        XCTAssertEqual(document.summary, result.cells)
        XCTAssertEqual(document.comparison.runs.count, 4)
    }

    func testWriteProducesTheFilesAndAWellFormedChart() throws {
        let result = Self.handMadeResult()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-compare-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try result.write(to: directory)
        XCTAssertEqual(files.map(\.lastPathComponent), ["comparison.md", "comparison.json", "comparison.svg", "inspections.md", "report.html"])
        let svg = try Data(contentsOf: directory.appendingPathComponent("comparison.svg"))
        let collector = BarCollector()
        let parser = XMLParser(data: svg)
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG is not well-formed XML: \(String(describing: parser.parserError))")
        XCTAssertEqual(collector.root, "svg")
        // One bar per model × task: AUC for the binary task, Gini for the continuous one.
        XCTAssertEqual(collector.bars.count, 3 * 2)
        XCTAssertEqual(Set(collector.bars.map { "\($0["data-model"]!)/\($0["data-task"]!)/\($0["data-metric"]!)" }),
                       Set(["a<&>", "b", "c"].flatMap { ["\($0)/ctr/auc", "\($0)/amount/gini"] }))
        for bar in collector.bars {
            let a = try XCTUnwrap(result.aggregate(model: bar["data-model"]!, task: bar["data-task"]!, metric: bar["data-metric"]!))
            XCTAssertEqual(Double(bar["data-mean"]!), a.mean)
            XCTAssertEqual(Double(bar["data-std"]!), a.std)
            XCTAssertGreaterThan(Double(bar["height"]!)!, 0)
        }
        // Error bars for every bar with a spread (model c has one seed: no error bar).
        XCTAssertEqual(collector.errorBars, 4)
        // A chosen metric keeps only the tasks that report it.
        let aucOnly = ComparisonChart(result, metric: "auc")
        XCTAssertEqual(aucOnly.groups.map(\.task), ["ctr"])
        let inspections = try String(contentsOf: directory.appendingPathComponent("inspections.md"), encoding: .utf8)
        XCTAssertTrue(inspections.contains("## b, seed 0"))
    }

    func testModelsThatCannotTrainATaskAreRejectedBeforeTraining() throws {
        let data = try SyntheticRecipe(generator: .funnel, rows: 300, seed: 1, preset: "smoke").makeData()
        let entries = try ["mmoe", "dcn"].map { try Comparison.Entry.registry(name: $0, model: $0, features: data.layout, tasks: data.tasks) }
        let comparison = Comparison(entries: entries, seeds: [0], training: TrainingConfiguration(), tasks: data.tasks)
        XCTAssertThrowsError(try comparison.checkEntries(on: data.train)) { error in
            XCTAssertTrue("\(error)".contains("'dcn'") && "\(error)".contains("amount"), "\(error)")
        }
        // MMoE trains a ZILN task with a 3-wide head.
        XCTAssertNoThrow(try Comparison(entries: [entries[0]], seeds: [0], training: TrainingConfiguration(), tasks: data.tasks)
            .checkEntries(on: data.train))
        // With an MSE amount loss DCN's value heads are fine.
        let mse = try SyntheticRecipe(generator: .funnel, rows: 300, seed: 1, preset: "smoke", amountLoss: "mse").makeData()
        let dcn = try Comparison.Entry.registry(name: "dcn", model: "dcn", features: mse.layout, tasks: mse.tasks)
        XCTAssertNoThrow(try Comparison(entries: [dcn], seeds: [0], training: TrainingConfiguration(), tasks: mse.tasks).checkEntries(on: mse.train))
    }

    /// Three models (one named with XML specials), two tasks, seeds 0 and 1 (model c: seed 0 only).
    private static func handMadeResult() -> ComparisonOutcome {
        var runs: [ComparisonRun] = []
        for (m, model) in ["a<&>", "b", "c"].enumerated() {
            for seed in UInt64(0)...(model == "c" ? 0 : 1) {
                let auc = 0.70 + 0.01 * Double(m) + 0.004 * Double(seed), gini = 0.30 - 0.02 * Double(m) + 0.01 * Double(seed)
                var run = try! JSONDecoder().decode(ComparisonRun.self, from: Data("""
                    {"model": "\(model.replacingOccurrences(of: "\"", with: ""))", "seed": \(seed), "bestEpoch": 1, "epochs": 1, "steps": 1,
                     "trainingSeconds": 1, "parameters": 10, "validation": {},
                     "test": {"ctr": {"auc": \(auc), "logloss": 0.5}, "amount": {"gini": \(gini), "nrmse": 1.2}}}
                    """.utf8))
                if model == "b" && seed == 0 { run.inspection = "gates" }
                runs.append(run)
            }
        }
        return ComparisonOutcome(models: ["a<&>", "b", "c"], tasks: ["ctr", "amount"], seeds: [0, 1], runs: runs)
    }
}

/// Collects the bars and error bars of a chart while parsing it.
private final class BarCollector: NSObject, XMLParserDelegate {
    var root: String?
    var bars: [[String: String]] = []
    var errorBars = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "rect", attributes["class"] == "bar" { bars.append(attributes) }
        if name == "g", attributes["class"] == "error" { errorBars += 1 }
    }
}
