import Foundation
import FunnelServe
import FunnelTrain
import XCTest

/// Reloading under concurrent load, a broken checkpoint refused while the old model serves, and `/metrics`
/// as Prometheus text counting what happened.
final class ReloadAndMetricsTests: XCTestCase {
    func testReloadUnderLoadLosesNoRequestAndABrokenCheckpointIsRefused() async throws {
        let first = try Fixtures.checkpoint("shared"), second = try Fixtures.checkpoint("shared-seed4", seed: 4)
        let broken = Fixtures.directory.appendingPathComponent("broken-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: first, to: broken)
        try Data("{\"formatVersion\": 1, \"model\": ".utf8).write(to: broken.appendingPathComponent("checkpoint.json"))
        let (header, rows) = try Fixtures.rows(20)
        let features = try TrainedModel(contentsOf: first).featureMap!.schema.features.map(\.name)
        let body = RequestBodies.predict(header: header, rows: rows, features: features)
        let harness = try await ServerHarness(checkpoint: first) { $0.adminToken = "secret" }
        addTeardownBlock { await harness.stop() }
        let port = harness.port, path = "/v1/models/shared-bottom:predict"
        let before = try HTTPClient.send(port: port, method: "POST", path: path, body: body)
        let oldVersion = try XCTUnwrap(try before.json()["version"] as? String)

        // Four clients send 30 requests each while the model is reloaded from another checkpoint.
        let load = Task.detached { () -> [(Int, String?)] in
            try await withThrowingTaskGroup(of: [(Int, String?)].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try (0..<30).map { _ in
                            let response = try HTTPClient.send(port: port, method: "POST", path: path, body: body)
                            return (response.status, (try? response.json())?["version"] as? String)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        try await Task.sleep(nanoseconds: 50_000_000)
        let unauthorized = try HTTPClient.post(port: port, path: "/v1/models/shared-bottom:reload", json: ["checkpoint": second.path])
        XCTAssertEqual(unauthorized.status, 401)
        let reload = try HTTPClient.post(port: port, path: "/v1/models/shared-bottom:reload", json: ["checkpoint": second.path],
                                         headers: ["Authorization": "Bearer secret"])
        XCTAssertEqual(reload.status, 200, reload.text)
        let results = try await load.value
        XCTAssertEqual(results.count, 120)
        XCTAssertEqual(results.filter { $0.0 != 200 }.count, 0, "every request answered 200 during the reload")
        let after = try HTTPClient.send(port: port, method: "POST", path: path, body: body)
        let newVersion = try XCTUnwrap(try after.json()["version"] as? String)
        XCTAssertNotEqual(newVersion, oldVersion)
        XCTAssertEqual(Set(results.compactMap(\.1)).subtracting([oldVersion, newVersion]), [], "each answer came from one of the two models")
        XCTAssertNotEqual(RequestBodies.scores(after.text, output: "ctr"), RequestBodies.scores(before.text, output: "ctr"))

        // A broken checkpoint is refused; the model loaded before keeps serving.
        let refused = try HTTPClient.post(port: port, path: "/v1/models/shared-bottom:reload", json: ["checkpoint": broken.path],
                                          headers: ["Authorization": "Bearer secret"])
        XCTAssertEqual(refused.status, 500, refused.text)
        XCTAssertTrue(refused.text.contains("checkpoint.json") && refused.text.contains("previous model keeps serving"), refused.text)
        let still = try HTTPClient.send(port: port, method: "POST", path: path, body: body)
        XCTAssertEqual(still.status, 200)
        XCTAssertEqual(try still.json()["version"] as? String, newVersion)
        XCTAssertEqual(try HTTPClient.send(port: port, path: "/readyz").status, 200)

        let metrics = try PrometheusText(try HTTPClient.send(port: port, path: "/metrics").text)
        XCTAssertEqual(metrics.value("funnel_reloads_total", ["result": "success"]), 2, "the initial load and one reload")
        XCTAssertEqual(metrics.value("funnel_reloads_total", ["result": "failure"]), 1)
        XCTAssertEqual(metrics.value("funnel_model_info", ["name": "shared-bottom", "version": newVersion, "model": "shared-bottom"]), 1)
        XCTAssertEqual(metrics.value("funnel_model_info", ["name": "shared-bottom", "version": oldVersion, "model": "shared-bottom"]), 0)
    }

    func testMetricsParseAsPrometheusTextAndCountWhatHappened() async throws {
        let checkpoint = try Fixtures.checkpoint("shared")
        let (header, rows) = try Fixtures.rows(10)
        let features = try TrainedModel(contentsOf: checkpoint).featureMap!.schema.features.map(\.name)
        let harness = try await ServerHarness(checkpoint: checkpoint)
        addTeardownBlock { await harness.stop() }
        let path = "/v1/models/shared-bottom:predict"
        for _ in 0..<3 {
            XCTAssertEqual(try HTTPClient.send(port: harness.port, method: "POST", path: path,
                                               body: RequestBodies.predict(header: header, rows: rows, features: features)).status, 200)
        }
        var unseen = rows
        unseen[0][header.firstIndex(of: "cat2")!] = "never-seen"
        XCTAssertEqual(try HTTPClient.send(port: harness.port, method: "POST", path: path,
                                           body: RequestBodies.predict(header: header, rows: unseen, features: features)).status, 200)
        XCTAssertEqual(try HTTPClient.post(port: harness.port, path: path, json: ["rows": [["cat0": true]]]).status, 400)
        let text = try HTTPClient.send(port: harness.port, path: "/metrics")
        XCTAssertTrue(text.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        let metrics = try PrometheusText(text.text)
        XCTAssertEqual(metrics.value("funnel_requests_total", ["endpoint": "predict", "status": "200"]), 4)
        XCTAssertEqual(metrics.value("funnel_requests_total", ["endpoint": "predict", "status": "400"]), 1)
        XCTAssertEqual(metrics.value("funnel_rows_scored_total", [:]), 40)
        XCTAssertEqual(metrics.value("funnel_out_of_vocabulary_total", ["feature": "cat2"]), 1)
        XCTAssertEqual(metrics.value("funnel_request_duration_ms_count", ["endpoint": "predict"]), 5)
        XCTAssertEqual(metrics.value("funnel_inference_duration_ms_count", [:]), 4)
        XCTAssertEqual(metrics.value("funnel_score_count", ["output": "ctr"]), 40)
        XCTAssertEqual(metrics.value("funnel_score_bucket", ["output": "ctr", "le": "1.0"]), 40)
        XCTAssertEqual(metrics.value("funnel_score_value_count", ["output": "amount"]), 40)
        XCTAssertEqual(metrics.types["funnel_request_duration_ms"], "histogram")
        XCTAssertEqual(metrics.types["funnel_requests_total"], "counter")
    }
}

/// A strict reader of the Prometheus text exposition format (0.0.4): `# TYPE`/`# HELP` comments and
/// `name{label="value",…} number` samples; anything else fails the test.
struct PrometheusText {
    private(set) var types: [String: String] = [:]
    private var samples: [String: [([String: String], Double)]] = [:]

    init(_ text: String) throws {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw HTTPClientError("bad TYPE line: \(line)")
                }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
            let name = String(line[..<nameEnd])
            guard name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else { throw HTTPClientError("bad name: \(line)") }
            var labels: [String: String] = [:], rest = line[nameEnd...]
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else { throw HTTPClientError("unclosed labels: \(line)") }
                for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, kv[1].hasPrefix("\""), kv[1].hasSuffix("\"") else { throw HTTPClientError("bad label: \(line)") }
                    labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
                }
                rest = rest[rest.index(after: close)...]
            }
            guard let value = Double(rest.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]
                .replacingOccurrences(of: "+Inf", with: "inf")) else { throw HTTPClientError("bad value: \(line)") }
            samples[name, default: []].append((labels, value))
        }
    }

    /// The sample of `name` with exactly `labels`, or nil.
    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples[name]?.first { $0.0 == labels }?.1
    }
}
