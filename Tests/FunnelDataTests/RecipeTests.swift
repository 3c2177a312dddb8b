import XCTest
@testable import FunnelData

/// The recipes in `recipes/` on the data in shared/data (skipped when it is absent).
final class RecipeTests: XCTestCase {
    private func load(_ recipe: String) throws -> PreparedDataset {
        _ = try TestData.sharedFile("")
        return try PreparedDataset.load(schemaURL: TestData.recipes.appendingPathComponent(recipe),
                                        options: .init(dataDirectory: TestData.shared))
    }

    private func positiveRate(_ table: EncodedTable, task: Int) -> Double {
        let t = table.tasks.count
        return Double((0..<table.rowCount).filter { table.labels[$0 * t + task] == 1 }.count) / Double(table.rowCount)
    }

    func testCensusMMoEGroup1EndToEnd() throws {
        _ = try TestData.sharedFile("census-income-kdd/census-income.data.gz")
        let data = try load("census-income-mmoe.yaml")
        XCTAssertEqual(data.train.rowCount, 199_523)
        XCTAssertEqual(data.validation.rowCount, 49_881)
        XCTAssertEqual(data.test.rowCount, 49_881)
        XCTAssertEqual(data.train.tasks.map(\.name), ["income", "marital"])
        XCTAssertEqual(positiveRate(data.train, task: 0), 0.0621, accuracy: 0.0005)
        XCTAssertEqual(positiveRate(data.train, task: 1), 0.4335, accuracy: 0.0005)
        let layout = data.featureMap.layout
        XCTAssertEqual(data.featureMap.features.count, 39)
        XCTAssertEqual(layout.vocabularySizes.count, 32)
        XCTAssertEqual(layout.numericCount, 7)
        XCTAssertEqual(layout.fieldCount, 33)
        for excluded in ["income_50k", "marital_stat", "instance_weight"] { XCTAssertFalse(layout.fieldNames.contains(excluded)) }
        // 17 education levels + the out-of-vocabulary id; "?" is a category of its own in migration columns.
        XCTAssertEqual(layout.vocabularySizes[layout.fieldNames.firstIndex(of: "education")!], 18)
        XCTAssertTrue(data.featureMap.features.first { $0.name == "mig_chg_msa" }!.vocabulary!.contains("?"))
        // Standardized on train: mean 0, variance 1.
        let width = layout.numericCount, n = Double(data.train.rowCount)
        let age = (0..<data.train.rowCount).map { Double(data.train.numeric[$0 * width]) }
        XCTAssertEqual(age.reduce(0, +) / n, 0, accuracy: 1e-4)
        XCTAssertEqual(age.reduce(0) { $0 + $1 * $1 } / n, 1, accuracy: 1e-3)
        // Validation and test are disjoint halves of the test file: their rows together are the whole file.
        XCTAssertEqual(positiveRate(data.validation, task: 0) + positiveRate(data.test, task: 0), 2 * 0.062, accuracy: 0.01)
    }

    func testCensusGroup2AndHybridChainLabels() throws {
        let file = try TestData.sharedFile("census-income-kdd/census-income.data.gz")
        for (recipe, rates) in [("census-income-mmoe-education.yaml", [0.1964, 0.4335]),
                                ("census-income-hybrid.yaml", [0.0621, -1, -1])] {
            let schema = try DatasetSchema.load(from: TestData.recipes.appendingPathComponent(recipe))
            let raw = try RawTable.read(schema: schema, files: [file.path], directory: TestData.shared)
            let table = try FeatureMap.fit(raw).encode(raw)
            for (t, rate) in rates.enumerated() where rate >= 0 {
                XCTAssertEqual(positiveRate(table, task: t), rate, accuracy: 0.0005, "\(recipe) task \(t)")
            }
            if recipe.contains("hybrid") {
                // Entire-space chain: has_gains ≤ high_income, gains > 0 exactly where has_gains.
                let y = table.labels
                let violations = (0..<table.rowCount).filter { (r: Int) -> Bool in
                    let income = y[r * 3], gains = y[r * 3 + 1], amount = y[r * 3 + 2]
                    return gains > income || (amount > 0) != (gains == 1)
                }
                XCTAssertEqual(violations.count, 0)
                XCTAssertGreaterThan(y.enumerated().filter { $0.offset % 3 == 1 && $0.element == 1 }.count, 1000)
                XCTAssertEqual(table.tasks[1].lossSpace, .whereLabel("high_income"))
                XCTAssertEqual(table.tasks[2].loss, .zeroInflatedLognormal)
            } else {
                XCTAssertEqual(table.layout.fieldCount, 32)
            }
        }
    }

    func testAliCCPSample() throws {
        _ = try TestData.sharedFile("ali-ccp-sample/ali_ccp_train_sample.csv")
        let data = try load("ali-ccp.yaml")
        XCTAssertEqual([data.train.rowCount, data.validation.rowCount, data.test.rowCount], [100, 50, 50])
        XCTAssertEqual(data.train.labels.enumerated().filter { $0.offset % 2 == 0 && $0.element == 1 }.count, 7)
        XCTAssertEqual(data.train.labels.enumerated().filter { $0.offset % 2 == 1 && $0.element == 1 }.count, 1)
        XCTAssertEqual(data.featureMap.layout.vocabularySizes.count, 23)
        XCTAssertEqual(data.featureMap.layout.numericCount, 8)
        XCTAssertEqual(data.train.tasks[1].lossSpace, .whereLabel("ctr"))
    }

    func testAliExpressSample() throws {
        _ = try TestData.sharedFile("aliexpress-sample/aliexpress_train_sample.csv")
        let data = try load("aliexpress.yaml")
        XCTAssertEqual([data.train.rowCount, data.validation.rowCount, data.test.rowCount], [90, 10, 20])
        XCTAssertEqual(data.featureMap.layout.vocabularySizes.count, 16)
        XCTAssertEqual(data.featureMap.layout.numericCount, 63)
        XCTAssertEqual(data.train.groups?.count, 90)
        let clicks = [data.train, data.validation].map { t in (0..<t.rowCount).filter { t.labels[$0 * 2] == 1 }.count }
        XCTAssertEqual(clicks.reduce(0, +), 60)
    }

    func testCriteoSample() throws {
        _ = try TestData.sharedFile("criteo-sample/criteo_sample.csv")
        let data = try load("criteo.yaml")
        XCTAssertEqual(data.train.rowCount + data.validation.rowCount + data.test.rowCount, 115)
        XCTAssertEqual([data.train, data.validation, data.test].map { $0.labels.filter { $0 == 1 }.count }.reduce(0, +), 26)
        XCTAssertEqual(data.featureMap.layout.vocabularySizes.count, 26)
        XCTAssertEqual(data.featureMap.layout.numericCount, 13)
        XCTAssertFalse(data.train.numeric.contains { $0.isNaN })
    }

    func testTaobaoSampleWithSharedSequenceVocabularies() throws {
        _ = try TestData.sharedFile("taobao-ad-clk-buy-sample/taobao_test_data.csv.gz")
        let data = try load("taobao-ad.yaml")
        let tables = [data.train, data.validation, data.test]
        XCTAssertEqual(tables.map(\.rowCount), [8000, 1000, 1000])
        XCTAssertEqual(tables.map { t in (0..<t.rowCount).filter { t.labels[$0 * 2] == 1 }.count }.reduce(0, +), 533)
        XCTAssertEqual(tables.map { t in (0..<t.rowCount).filter { t.labels[$0 * 2 + 1] == 1 }.count }.reduce(0, +), 4)
        let layout = data.featureMap.layout
        XCTAssertEqual(layout.multiValued.count, 2)
        let cate = layout.fieldNames.firstIndex(of: "cate_id")!, brand = layout.fieldNames.firstIndex(of: "brand")!
        XCTAssertEqual(layout.embeddingOwners?[16], cate)
        XCTAssertEqual(layout.embeddingOwners?[17], brand)
        XCTAssertEqual(layout.multiValued[0].vocabularySize, layout.vocabularySizes[cate])
        // A category id means the same in the single field and in the sequence.
        let map = data.featureMap
        let row = try map.encodeRow(["0", "0", "430548_1007", "1", "6519", "1", "1", "NULL", "1", "0", "1", "1", "1", "", "1",
                                     "0", "", "6519|4281", "", "1"])
        XCTAssertEqual(row.multiValued[0][0], row.ids[cate])
        XCTAssertNotEqual(row.ids[cate], 0)
    }

    func testGenericRecipeRunsOnItsExampleLayout() throws {
        let schema = try DatasetSchema.load(from: TestData.recipes.appendingPathComponent("generic.yaml"))
        let rows = (0..<20).map { i in
            "u\(i % 4),i\(i % 5),\(["shoes", "hats", ""][i % 3]),\(Double(i) + 0.5),i\(i % 3)|i\(i % 5),\(20240501 + i),1,\(i % 2),\(i % 2 == 1 ? "\(i).5" : "0"),1.0"
        }
        let text = "user_id,item_id,category,price,history,day,click,buy,amount,weight\n" + rows.joined(separator: "\n") + "\n"
        let directory = try TestData.directory(with: [:])
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("my-shop"), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: directory.appendingPathComponent("my-shop/impressions.csv"))
        let data = try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory))
        XCTAssertEqual([data.train.rowCount, data.validation.rowCount, data.test.rowCount], [16, 2, 2])
        XCTAssertEqual(data.train.tasks.map(\.name), ["ctr", "cvr", "amount"])
        XCTAssertEqual(data.featureMap.layout.fieldNames, ["item_id", "category", "user_id", "price_bucket", "history"])
        XCTAssertEqual(data.featureMap.layout.embeddingOwners, [0, 1, 2, 3, 0])
        XCTAssertEqual(data.train.groups?.count, 16)
        // Same schema through JSON: identical after a round trip, for every recipe.
        for recipe in try FileManager.default.contentsOfDirectory(atPath: TestData.recipes.path) where recipe.hasSuffix(".yaml") {
            let yaml = try DatasetSchema.load(from: TestData.recipes.appendingPathComponent(recipe))
            XCTAssertEqual(try DatasetSchema.decode(yaml.jsonData(), name: recipe + ".json"), yaml, recipe)
        }
    }
}
