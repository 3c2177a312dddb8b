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
        let (header, rows) = try Fixtures.rows(800)
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

        // Sixteen 800-row requests, each on a thread of its own; SIGTERM once all are written: each must complete.
        let sent = DispatchSemaphore(value: 0), done = DispatchGroup()
        let results = Results()
        for _ in 0..<16 {
            done.enter()
            Thread.detachNewThread {
                let outcome = Result { try HTTPClient.send(port: port, method: "POST", path: "/v1/models/shared-bottom:predict", body: body) { sent.signal() } }
                results.append(outcome, finished: Date().timeIntervalSince1970)
                done.leave()
            }
        }
        for _ in 0..<16 { sent.wait() }
        usleep(20_000)
        let terminated = Date().timeIntervalSince1970
        kill(process.processIdentifier, SIGTERM)
        done.wait()
        XCTAssertEqual(results.all.count, 16)
        for (outcome, _) in results.all {
            let response = try outcome.get()
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(RequestBodies.scores(response.text, output: "ctr")?.count, 800)
        }
        XCTAssertGreaterThan(results.all.filter { $0.1 > terminated }.count, 0, "some requests were in flight at SIGTERM and were answered")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertThrowsError(try HTTPClient.send(port: port, path: "/healthz"), "nothing listens after the drain")
    }
}

/// Outcomes collected from several threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [(Result<HTTPResponse, any Error>, Double)] = []
    var all: [(Result<HTTPResponse, any Error>, Double)] { lock.withLock { outcomes } }
    func append(_ outcome: Result<HTTPResponse, any Error>, finished: Double) { lock.withLock { outcomes.append((outcome, finished)) } }
}
