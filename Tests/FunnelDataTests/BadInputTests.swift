import XCTest
@testable import FunnelData

/// Every kind of bad row gives one exact, located message; `badRows: skip` skips and counts instead.
final class BadInputTests: XCTestCase {
    private let header = "user,age,click,buy,w\n"

    private func schema(badRows: BadRowPolicy = .fail, weight: Bool = false) -> DatasetSchema {
        DatasetSchema(
            name: "shop", files: ["shop.csv"],
            features: [FeatureSchema(name: "user", kind: .categorical), FeatureSchema(name: "age", kind: .numeric)],
            tasks: [TaskSchema(name: "ctr", kind: .binary, label: LabelRule(column: "click")),
                    TaskSchema(name: "cvr", kind: .binary, label: LabelRule(column: "buy"), parent: "ctr")],
            sampleWeight: weight ? "w" : nil, badRows: badRows)
    }

    private func prepareError(_ body: String, weight: Bool = false) -> DataError? {
        TestData.error {
            let directory = try TestData.directory(with: ["shop.csv": header + body])
            _ = try PreparedDataset.prepare(schema(weight: weight), options: .init(dataDirectory: directory))
        }
    }

    func testUnparsableNumber() {
        let error = prepareError("u1,31,0,0,1\nu2,abc,1,0,1\n")
        XCTAssertEqual(error?.kind, .number)
        XCTAssertEqual(error?.description, "shop.csv:3: column 1 (age): cannot parse \"abc\" as a number")
        XCTAssertEqual(error?.errorDescription, error?.description)
    }

    func testMissingNumberWithoutFill() {
        let error = prepareError("u1,,0,0,1\n")
        XCTAssertEqual(error?.kind, .missingValue)
        XCTAssertEqual(error?.description, "shop.csv:2: column 1 (age): missing value and no fillNA")
    }

    func testWrongFieldCount() {
        XCTAssertEqual(prepareError("u1,31,0,0,1\nu2,40,1\n")?.description, "shop.csv:3: expected 5 fields, found 3")
    }

    func testBrokenQuoting() {
        XCTAssertEqual(prepareError("u1,31,0,0,1\n\"u2\"x,40,1,0,1\n")?.description,
                       "shop.csv:3: column 0: unexpected text after a closing quote")
    }

    func testBinaryLabelOutsideZeroOne() {
        let error = prepareError("u1,31,2,0,1\n")
        XCTAssertEqual(error?.kind, .label)
        XCTAssertEqual(error?.description, "shop.csv:2: column 2 (click): label of binary task 'ctr' must be 0 or 1, found 2")
    }

    func testFunnelViolation() {
        let error = prepareError("u1,31,1,1,1\nu2,40,0,1,1\n")
        XCTAssertEqual(error?.kind, .funnel)
        XCTAssertEqual(error?.description, "shop.csv:3: column 3 (buy): task 'cvr' is 1.0 where its parent 'ctr' is 0")
    }

    func testNegativeWeight() {
        let error = prepareError("u1,31,1,1,-2\n", weight: true)
        XCTAssertEqual(error?.kind, .weight)
        XCTAssertEqual(error?.description, "shop.csv:2: column 4 (w): negative sample weight -2.0")
    }

    func testLabelOutsideDeclaredValues() throws {
        var schema = schema()
        schema.tasks[0].label = LabelRule(column: "click", positive: ["yes"], negative: ["no"])
        schema.tasks.removeLast()
        let error = TestData.error {
            let directory = try TestData.directory(with: ["shop.csv": header + "u1,31,yes,0,1\nu2,5,maybe,0,1\n"])
            _ = try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory))
        }
        XCTAssertEqual(error?.description, "shop.csv:3: column 2 (click): \"maybe\" is neither a positive nor a negative value of task 'ctr'")
    }

    func testSkipPolicySkipsAndCountsEveryKind() throws {
        let body = "u1,31,0,0,1\nu2,abc,1,0,1\nu3,,0,0,1\nu4,40,1\nu5,20,0,1,1\nu6,22,1,1,-1\nu7,50,1,1,2\n"
        let directory = try TestData.directory(with: ["shop.csv": header + body])
        let data = try PreparedDataset.prepare(schema(badRows: .skip, weight: true), options: .init(dataDirectory: directory))
        XCTAssertEqual(data.train.rowCount, 2)
        XCTAssertEqual(data.train.labels, [0, 0, 1, 1])
        XCTAssertEqual(data.train.weights, [1, 1, 2, 2])
        XCTAssertEqual(data.skipped.count, 5)
        XCTAssertEqual(data.skipped.countsByKind, [.number: 1, .missingValue: 1, .fieldCount: 1, .funnel: 1, .weight: 1])
        XCTAssertEqual(data.skipped.examples.map(\.line), [3, 4, 5, 6, 7])
    }

    func testSchemaErrors() {
        var unknownColumn = schema()
        unknownColumn.features.append(FeatureSchema(name: "city", kind: .categorical))
        let error = TestData.error {
            let directory = try TestData.directory(with: ["shop.csv": header + "u1,31,0,0,1\n"])
            _ = try PreparedDataset.prepare(unknownColumn, options: .init(dataDirectory: directory))
        }
        XCTAssertEqual(error?.description, "shop: feature 'city': unknown column 'city' (columns: user, age, click, buy, w)")

        let typo = "name: x\nfiles: [a.csv]\nfeatures: [{name: a, kind: categorical, minCont: 2}]\ntasks: [{name: t, kind: binary, label: y}]\n"
        let typoError = TestData.error { _ = try DatasetSchema.decode(Data(typo.utf8), name: "x.yaml") }
        XCTAssertEqual(typoError?.kind, .schema)
        XCTAssertTrue(typoError?.description.hasPrefix("x.yaml: at features[0]: unknown key 'minCont'; known keys: name, column, kind") ?? false,
                      typoError?.description ?? "")

        var badParent = schema()
        badParent.tasks[1].parent = "later"
        XCTAssertEqual(TestData.error { try badParent.validate() }?.description,
                       "shop: task 'cvr': parent 'later' must be a task listed before it")
    }
}
