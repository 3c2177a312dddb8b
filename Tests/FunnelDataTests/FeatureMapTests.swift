import XCTest
@testable import FunnelData

final class FeatureMapTests: XCTestCase {
    private let train = """
        user,city,price,tags,day,click
        u1,paris,1,a|b|zz,1,1
        u2,paris,2,b,2,0
        u3,rome,3,,3,0
        u4,oslo,4,c|c|d|e,4,1
        u1,paris,5,a,5,0

        """
    private let test = """
        user,city,price,tags,day,click
        u9,berlin,9,q|a,6,0
        u2,paris,,c,7,1
        u1,rome,0.5,b|b|b,8,1

        """

    private var schema: DatasetSchema {
        DatasetSchema(
            name: "shop", files: ["train.csv", "test.csv"],
            features: [
                FeatureSchema(name: "user", kind: .categorical, hashBuckets: 8),
                FeatureSchema(name: "city", kind: .categorical, minCount: 2, embeddingSize: 4),
                FeatureSchema(name: "price", kind: .numeric, fillNA: .mean, transform: .standardize),
                FeatureSchema(name: "price_bucket", column: "price", kind: .numeric, buckets: 4),
                FeatureSchema(name: "tags", kind: .multiValued, maxLength: 2, pooling: .sum),
                FeatureSchema(name: "price_log", column: 2, kind: .numeric, fillNA: .value(0), transform: .log1p),
            ],
            tasks: [TaskSchema(name: "ctr", kind: .binary, label: LabelRule(column: "click"))],
            split: SplitSchema(train: ["train.csv"], test: ["test.csv"]))
    }

    private func prepare() throws -> (PreparedDataset, URL) {
        let directory = try TestData.directory(with: ["train.csv": train, "test.csv": test])
        return (try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory)), directory)
    }

    func testFittedVocabulariesStatisticsAndEdges() throws {
        let (data, _) = try prepare()
        let map = data.featureMap
        // minCount 2: only paris (3 times); rome and oslo are out of vocabulary.
        XCTAssertEqual(map.features[1].vocabulary, ["paris"])
        // maxLength 2 keeps a,b | b | (none) | c,c | a: a 2, b 2, c 2 (ties in byte order); zz, d, e never counted.
        XCTAssertEqual(map.features[4].vocabulary, ["a", "b", "c"])
        XCTAssertEqual(map.features[2].fill, 3)
        XCTAssertEqual(map.features[2].shift, 3)
        XCTAssertEqual(map.features[2].scale!, 2.0.squareRoot(), accuracy: 1e-12)
        // Quantile edges of 1…5 in 4 buckets: order statistics at ranks 5q/4 → 2, 3, 4.
        XCTAssertEqual(map.features[3].edges, [2, 3, 4])
        XCTAssertEqual(map.layout.vocabularySizes, [9, 2, 5])
        XCTAssertEqual(map.layout.multiValued, [MultiValuedField(vocabularySize: 4, pooling: .sum)])
        XCTAssertEqual(map.layout.numericCount, 2)
        XCTAssertEqual(map.layout.fieldNames, ["user", "city", "price_bucket", "tags"])
        XCTAssertEqual(map.layout.embeddingWidths, [0, 4, 0, 0])
        XCTAssertNil(map.layout.embeddingOwners)
    }

    func testEncodingOfTrainAndUnseenValues() throws {
        let (data, _) = try prepare()
        // Hash buckets: 1 + FNV-1a-64(text) mod 8 (u1 → 4, u2 → 7, u9 → 4, values computed in Python).
        XCTAssertEqual(data.train.ids, [4, 1, 1,  7, 1, 2,  Self.hash("u3"), 0, 3,  Self.hash("u4"), 0, 4,  4, 1, 4])
        XCTAssertEqual(data.train.multiValued[0].offsets, [0, 2, 3, 3, 5, 6])
        XCTAssertEqual(data.train.multiValued[0].ids, [1, 2, 2, 3, 3, 1])
        // Unseen cities berlin and rome → 0; 9 → top bucket; a missing price → bucket 0 (no fillNA on the bucket
        // feature); 0.5 → bucket 1.
        XCTAssertEqual(data.test.ids, [4, 0, 4,  7, 1, 0,  4, 0, 1])
        // Unseen tag q → 0 (padding, excluded from the pool); maxLength 2 keeps the first two b's.
        XCTAssertEqual(data.test.multiValued[0].ids, [0, 1, 3, 2, 2])
        let s = 2.0.squareRoot()
        let expected: [Float] = [Float((9 - 3) / s), Float(log1p(9.0)), 0, 0, Float((0.5 - 3) / s), Float(log1p(0.5))]
        for (a, b) in zip(data.test.numeric, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(data.test.labels, [0, 1, 1])
        XCTAssertEqual(data.validation.rowCount, 0)
    }

    private static func hash(_ text: String) -> Int32 { Int32(1 + fnv1a64(text) % 8) }

    func testFNVHashMatchesPython() {
        XCTAssertEqual(fnv1a64("u1"), 631765120777144307)
        XCTAssertEqual(fnv1a64("u9"), 631773916870169995)
        XCTAssertEqual(fnv1a64(""), 0xCBF2_9CE4_8422_2325)
    }

    func testJSONRoundTripGivesIdenticalEncodingsAndStableBytes() throws {
        let (data, directory) = try prepare()
        let url = directory.appendingPathComponent("features.json")
        try data.featureMap.save(to: url)
        let first = try Data(contentsOf: url)
        let loaded = try FeatureMap.load(from: url)
        try loaded.save(to: url)
        XCTAssertEqual(try Data(contentsOf: url), first, "save → load → save must give the same bytes")
        XCTAssertTrue(String(decoding: first, as: UTF8.self).contains("\"vocabulary\" : [\n        \"paris\"\n      ]"))

        let files = ["train.csv", "test.csv"].map { directory.appendingPathComponent($0) }
        let original = try data.featureMap.encode(files: files).table, reloaded = try loaded.encode(files: files).table
        XCTAssertEqual(reloaded.ids, original.ids)
        XCTAssertEqual(reloaded.numeric, original.numeric)
        XCTAssertEqual(reloaded.multiValued.map(\.ids), original.multiValued.map(\.ids))
        XCTAssertEqual(reloaded.multiValued.map(\.offsets), original.multiValued.map(\.offsets))
        XCTAssertEqual(reloaded.labels, original.labels)
        XCTAssertEqual(reloaded.layout, original.layout)
        XCTAssertEqual(reloaded.tasks, original.tasks)
        XCTAssertEqual(Array(original.ids.suffix(9)), data.test.ids)
        // Fitting on the training file alone gives the same features as fitting on the train split.
        let direct = try FeatureMap.fit(schema: schema, files: [files[0]])
        XCTAssertEqual(direct.features, data.featureMap.features)
        XCTAssertEqual(direct.layout, data.featureMap.layout)
    }

    func testEncodeRowMatchesBatchEncoding() throws {
        let (data, _) = try prepare()
        let map = data.featureMap
        let rows = test.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        for (r, fields) in rows.enumerated() {
            let row = try map.encodeRow(fields)
            XCTAssertEqual(row.ids, Array(data.test.ids[(r * 3)..<(r * 3 + 3)]))
            XCTAssertEqual(row.numeric, Array(data.test.numeric[(r * 2)..<(r * 2 + 2)]))
            let bag = data.test.multiValued[0]
            XCTAssertEqual(row.multiValued, [Array(bag.ids[Int(bag.offsets[r])..<Int(bag.offsets[r + 1])])])
        }
        let named = try map.encodeRow(named: ["user": "u9", "city": "berlin", "price": "9", "tags": "q|a"])
        XCTAssertEqual(named.ids, Array(data.test.ids[0..<3]))
        let batch = map.batch([named, named])
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch.ids, named.ids + named.ids)
        XCTAssertEqual(batch.multiValued[0].offsets, [0, 2, 4])

        let error = TestData.error { _ = try map.encodeRow(["u1", "paris", "cheap", "", "1", "0"]) }
        XCTAssertEqual(error?.description, "request:1: column 2 (price): cannot parse \"cheap\" as a number")
    }

    func testMissingCategoryModes() throws {
        var schema = self.schema
        schema.format.missingValues = ["", "NA"]
        schema.features = [FeatureSchema(name: "city", kind: .categorical),
                           FeatureSchema(name: "city_or_unknown", column: "city", kind: .categorical, missing: .outOfVocabulary)]
        let directory = try TestData.directory(with: ["train.csv": "city,click\nNA,0\nNA,1\nrome,0\n", "test.csv": "city,click\nNA,1\n"])
        let data = try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory))
        XCTAssertEqual(data.featureMap.features[0].vocabulary, ["NA", "rome"])
        XCTAssertEqual(data.featureMap.features[1].vocabulary, ["rome"])
        XCTAssertEqual(data.test.ids, [1, 0])
    }

    func testSharedVocabularyAndMinMax() throws {
        let schema = DatasetSchema(
            name: "seq", files: ["d.csv"],
            features: [FeatureSchema(name: "item", kind: .categorical),
                       FeatureSchema(name: "history", kind: .multiValued, separator: ";", keep: .last, shareEmbedding: "item"),
                       FeatureSchema(name: "score", kind: .numeric, transform: .minMax)],
            tasks: [TaskSchema(name: "ctr", kind: .binary, label: LabelRule(column: "click"))])
        let directory = try TestData.directory(with: ["d.csv": "item,history,score,click\nx,y;y;z,10,1\ny,x,20,0\n"])
        let data = try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory))
        let map = data.featureMap
        // One vocabulary over both columns: y 3, x 2, z 1.
        XCTAssertEqual(map.features[0].vocabulary, ["y", "x", "z"])
        XCTAssertEqual(map.features[1].sharesVocabularyOf, "item")
        XCTAssertEqual(map.layout.vocabularySizes, [4])
        XCTAssertEqual(map.layout.multiValued, [MultiValuedField(vocabularySize: 4, pooling: .mean)])
        XCTAssertEqual(map.layout.embeddingOwners, [0, 0])
        XCTAssertEqual(data.train.ids, [2, 1])
        XCTAssertEqual(data.train.multiValued[0].ids, [1, 1, 3, 2])
        XCTAssertEqual(data.train.numeric, [0, 1])
    }

    func testMaxVocabularyMedianFillAndLog1pStandardize() throws {
        let schema = DatasetSchema(
            name: "m", files: ["d.csv"],
            features: [FeatureSchema(name: "c", kind: .categorical, maxVocabulary: 2),
                       FeatureSchema(name: "x", kind: .numeric, fillNA: .median, transform: .log1pStandardize)],
            tasks: [TaskSchema(name: "y", kind: .continuous, label: LabelRule(column: "y"))])
        let directory = try TestData.directory(with: ["d.csv": "c,x,y\nb,1,0.5\na,,1\nb,3,2\nc,10,0\na,-2,1\nb,0,4\n"])
        let data = try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory))
        // b 3, a 2, c 1: the two most frequent.
        XCTAssertEqual(data.featureMap.features[0].vocabulary, ["b", "a"])
        XCTAssertEqual(data.train.ids, [1, 2, 1, 0, 2, 1])
        // Median of 1, 3, 10, −2, 0 is 1; signed log1p, then standardized over the six filled values.
        XCTAssertEqual(data.featureMap.features[1].fill, 1)
        let g = [1.0, 1, 3, 10, -2, 0].map { $0 < 0 ? -log1p(-$0) : log1p($0) }
        let mean = g.reduce(0, +) / 6, std = (g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
        for (a, b) in zip(data.train.numeric, g.map { Float(($0 - mean) / std) }) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(data.train.labels, [0.5, 1, 2, 0, 1, 4])
        XCTAssertTrue(data.summary.contains("| train | 6 | 1.417; 0.8333 |"), data.summary)
    }

    func testHeaderlessFileByPosition() throws {
        let schema = DatasetSchema(
            name: "p", files: ["d.tsv"], format: CSVDialect(delimiter: "\t", header: false),
            features: [FeatureSchema(name: "word", column: 1, kind: .categorical)],
            tasks: [TaskSchema(name: "y", kind: .binary, label: LabelRule(column: 0, greaterThan: 0.5))])
        let directory = try TestData.directory(with: ["d.tsv": "0.9\tcat\n0.1\tdog\n0.7\tcat\n"])
        let data = try PreparedDataset.prepare(schema, options: .init(dataDirectory: directory))
        XCTAssertEqual(data.train.labels, [1, 0, 1])
        XCTAssertEqual(data.train.ids, [1, 2, 1])
        XCTAssertEqual(data.featureMap.tasks[0].label, "#0")
        XCTAssertEqual(try data.featureMap.encodeRow(["0", "cat"]).ids, [1])
        XCTAssertEqual(try data.featureMap.encodeRow(["0", "bird"]).ids, [0])
    }
}
