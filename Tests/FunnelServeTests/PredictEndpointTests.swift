import Foundation
import FunnelServe
import FunnelTrain
import XCTest

/// `POST /v1/models/{name}:predict` over a real loopback socket: scores equal `funnel predict` on the same CSV
/// rows bit for bit, and every refusal has its status and names the row and feature.
final class PredictEndpointTests: XCTestCase {
    func testPredictionsEqualFunnelPredictBitForBit() async throws {
        let checkpoint = try Fixtures.checkpoint("shared")
        let (header, rows) = try Fixtures.rows(64)
        let subset = Fixtures.directory.appendingPathComponent("subset-\(UUID().uuidString).csv")
        let output = Fixtures.directory.appendingPathComponent("scores-\(UUID().uuidString).csv")
        try ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n").appending("\n").write(to: subset, atomically: true, encoding: .utf8)
        let trained = try TrainedModel(contentsOf: checkpoint)
        XCTAssertEqual(try trained.score(csv: subset, to: output), 64)   // what `funnel predict` runs
        let predicted = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").map { Float(String($0))! } }

        let harness = try await ServerHarness(checkpoint: checkpoint)
        addTeardownBlock { await harness.stop() }
        let features = trained.featureMap!.schema.features.map(\.name)
        let response = try HTTPClient.send(port: harness.port, method: "POST", path: "/v1/models/shared-bottom:predict",
                                           body: RequestBodies.predict(header: header, rows: rows, features: features))
        XCTAssertEqual(response.status, 200, response.text)
        let json = try response.json()
        XCTAssertEqual(json["model"] as? String, "shared-bottom")
        XCTAssertEqual(json["request_id"] as? String, "test")
        XCTAssertEqual((json["version"] as? String)?.count, 12)
        for (t, task) in trained.tasks.map(\.name).enumerated() {
            let served = try XCTUnwrap(RequestBodies.scores(response.text, output: task), task)
            XCTAssertEqual(served.map(\.bitPattern), predicted.map { $0[t].bitPattern }, "task \(task)")
        }

        // A `common` block merged into every row scores the same as the value repeated in each row.
        let shared = rows.map { row -> [String] in var row = row; row[header.firstIndex(of: "cat0")!] = rows[0][header.firstIndex(of: "cat0")!]; return row }
        let repeated = try HTTPClient.send(port: harness.port, method: "POST", path: "/v1/models/shared-bottom:predict",
                                           body: RequestBodies.predict(header: header, rows: shared, features: features))
        let merged = try HTTPClient.send(port: harness.port, method: "POST", path: "/v1/models/shared-bottom:predict",
                                         body: RequestBodies.predict(header: header, rows: shared, features: features,
                                                                     common: ["cat0": rows[0][header.firstIndex(of: "cat0")!]]))
        XCTAssertEqual(merged.status, 200, merged.text)
        XCTAssertEqual(RequestBodies.scores(merged.text, output: "ctr"), RequestBodies.scores(repeated.text, output: "ctr"))

        // `tasks` selects outputs.
        let selected = try HTTPClient.post(port: harness.port, path: "/v1/models/shared-bottom:predict",
                                           json: ["rows": [["dense0": 0.5]], "tasks": ["cvr"]] as [String: Any])
        XCTAssertEqual(selected.status, 400, "dense1 missing: \(selected.text)")
        let models = try HTTPClient.send(port: harness.port, path: "/v1/models")
        XCTAssertEqual(models.text, #"[{"name":"shared-bottom","version":"\#(json["version"] as! String)"}]"#)
    }

    func testEveryRefusalHasItsStatusAndNamesRowAndFeature() async throws {
        let checkpoint = try Fixtures.checkpoint("shared")
        let (header, rows) = try Fixtures.rows(3)
        let features = try TrainedModel(contentsOf: checkpoint).featureMap!.schema.features.map(\.name)
        let harness = try await ServerHarness(checkpoint: checkpoint) { $0.maxBodyBytes = 16_384; $0.maxRows = 20 }
        addTeardownBlock { await harness.stop() }
        let path = "/v1/models/shared-bottom:predict"
        let good = String(decoding: RequestBodies.predict(header: header, rows: rows, features: features), as: UTF8.self)
        let open = good.range(of: "[{")!.upperBound
        let row = String(good[open..<good.range(of: "},", range: open..<good.endIndex)!.lowerBound])   // row 0's fields
        func body(_ row2: String) -> Data { Data(#"{"rows":[{\#(row)},{\#(row)},{\#(row2)}]}"#.utf8) }
        func replacing(_ feature: String, with value: String) -> String {
            row.split(separator: ",").map { $0.hasPrefix("\"\(feature)\":") ? "\"\(feature)\":\(value)" : String($0) }.joined(separator: ",")
        }
        let cases: [(String, Data, Int, String, String?)] = [
            ("wrong type", body(replacing("cat1", with: "true")), 400, "wrongType", "cat1"),
            ("unparsable number", body(replacing("dense0", with: "\"abc\"")), 400, "invalidNumber", "dense0"),
            ("non-finite number", body(replacing("dense1", with: "1e999")), 400, "invalidNumber", "dense1"),
            ("non-finite text", body(replacing("dense1", with: "\"inf\"")), 400, "invalidNumber", "dense1"),
            ("unknown feature", body(row + #","colour":"red""#), 400, "unknownFeature", "colour"),
            ("missing required feature", body(row.split(separator: ",").filter { !$0.hasPrefix("\"dense2\"") }.joined(separator: ",")),
             400, "missingFeature", "dense2"),
            ("null for a required feature", body(replacing("dense2", with: "null")), 400, "missingFeature", "dense2"),
        ]
        for (name, data, status, kind, feature) in cases {
            let response = try HTTPClient.send(port: harness.port, method: "POST", path: path, body: data)
            XCTAssertEqual(response.status, status, "\(name): \(response.text)")
            let error = try XCTUnwrap(try response.json()["error"] as? [String: Any], name)
            XCTAssertEqual(error["kind"] as? String, kind, name)
            XCTAssertEqual(error["row"] as? Int, 2, name)
            XCTAssertEqual(error["feature"] as? String, feature, name)
            let message = try XCTUnwrap(error["message"] as? String)
            XCTAssertTrue(message.contains("row 2") && message.contains(feature!), "\(name): \(message)")
        }
        // 413: more rows than the cap, and a body over the size limit.
        let many = Data(#"{"rows":[\#(Array(repeating: "{\(row)}", count: 21).joined(separator: ","))]}"#.utf8)
        let tooMany = try HTTPClient.send(port: harness.port, method: "POST", path: path, body: many)
        XCTAssertEqual(tooMany.status, 413, tooMany.text)
        XCTAssertTrue(tooMany.text.contains("more than 20 rows"), tooMany.text)
        let large = try HTTPClient.send(port: harness.port, method: "POST", path: path, body: Data(repeating: 0x20, count: 20_000))
        XCTAssertEqual(large.status, 413, large.text)
        // 415: not JSON.
        let text = try HTTPClient.send(port: harness.port, method: "POST", path: path, body: body(row), contentType: "text/plain")
        XCTAssertEqual(text.status, 415, text.text)
        // Malformed JSON is a 400 and the server keeps answering.
        for garbage in ["{", #"{"rows":[{"cat1":"1",}]}"#, "\u{0}\u{1}", #"{"rows":"x"}"#, String(repeating: "[", count: 10_000)] {
            let response = try HTTPClient.send(port: harness.port, method: "POST", path: path, body: Data(garbage.utf8))
            XCTAssertEqual(response.status, 400, "\(garbage.prefix(20)): \(response.text)")
        }
        // An unseen category is not an error: it takes the out-of-vocabulary id.
        let unseen = try HTTPClient.send(port: harness.port, method: "POST", path: path, body: body(replacing("cat1", with: #""never-seen""#)))
        XCTAssertEqual(unseen.status, 200, unseen.text)
        XCTAssertEqual(RequestBodies.scores(unseen.text, output: "ctr")?.count, 3)
        XCTAssertEqual(try HTTPClient.send(port: harness.port, path: "/healthz").status, 200)
    }

    func testNoModelReadyAnswers503() async throws {
        let empty = Fixtures.directory.appendingPathComponent("empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let harness = try await ServerHarness(checkpoint: empty, waitUntilReady: false)
        addTeardownBlock { await harness.stop() }
        try await Task.sleep(nanoseconds: 200_000_000)
        let response = try HTTPClient.post(port: harness.port, path: "/v1/models/mmoe:predict", json: ["rows": [[String: Any]]()])
        XCTAssertEqual(response.status, 503, response.text)
        XCTAssertTrue(response.text.contains("no model ready"))
        XCTAssertEqual(try HTTPClient.send(port: harness.port, path: "/readyz").status, 503)
        XCTAssertEqual(try HTTPClient.send(port: harness.port, path: "/healthz").status, 200)
    }
}
