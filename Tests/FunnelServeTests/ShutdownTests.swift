import Foundation
import FunnelTrain
import XCTest

/// The built `funnel serve` process: SIGTERM while requests are in flight lets them finish, then exits 0.
final class ShutdownTests: XCTestCase {
    /// `funnel` next to this test bundle (what `swift build` / `swift test` put there).
    private var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("funnel")
    }

    func testSIGTERMDrainsRequestsInFlightAndExitsZero() async throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("no funnel executable at \(executable.path)") }
            throw XCTSkip("no funnel executable at \(executable.path): run `swift build` first")
        }
        let checkpoint = try Fixtures.checkpoint("shared")
        let (header, rows) = try Fixtures.rows(500)
        let features = try TrainedModel(contentsOf: checkpoint).featureMap!.schema.features.map(\.name)
        let body = RequestBodies.predict(header: header, rows: rows, features: features)

        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--checkpoint", checkpoint.path, "--port", "0", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var banner = ""
        while !banner.contains("listening on") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let line = try XCTUnwrap(banner.split(separator: "\n").first { $0.contains("listening on") }, banner)
        let port = try XCTUnwrap(Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)), String(line))
        for _ in 0..<600 {
            if (try? HTTPClient.send(port: port, path: "/readyz").status) == 200 { break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertEqual(try HTTPClient.send(port: port, path: "/readyz").status, 200)

        // Eight 500-row requests in flight, then SIGTERM: each must complete with its scores.
        let requests = (0..<8).map { _ in
            Task.detached { try HTTPClient.send(port: port, method: "POST", path: "/v1/models/shared-bottom:predict", body: body) }
        }
        try await Task.sleep(nanoseconds: 20_000_000)
        kill(process.processIdentifier, SIGTERM)
        for request in requests {
            let response = try await request.value
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(RequestBodies.scores(response.text, output: "ctr")?.count, 500)
        }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertThrowsError(try HTTPClient.send(port: port, path: "/healthz"), "nothing listens after the drain")
    }
}
