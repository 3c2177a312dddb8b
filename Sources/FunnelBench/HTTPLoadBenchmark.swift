import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain

/// HTTP load on `funnel serve` (`funnel bench serve`): wrk keeps `connections` connections busy for `seconds`
/// with the same `rows`-row predict request (a Lua script sets the POST body). The served checkpoint is MMoE in
/// the benchmark configuration (d = 16, 8 experts [256, 128], towers [64], seed 0, untrained) over the built-in
/// funnel generator's features, so `funnel serve` can read raw rows for it; the body holds that generator's
/// first `rows` raw rows. The server runs as its own process (`executable serve`); its RSS is read from
/// /proc at the start (after a warm-up) and at the end.
public struct HTTPLoadBenchmark {
    public struct Result: Sendable {
        public var requestsPerSecond: Double
        public var rowsPerSecond: Double
        /// Latency percentiles from wrk's distribution, milliseconds (50, 75, 90, 99).
        public var latencyMilliseconds: [(percentile: Int, milliseconds: Double)]
        public var requests: Int
        /// Non-2xx responses plus socket errors.
        public var errors: Int
        public var residentMiBStart: Double
        public var residentMiBEnd: Double
    }

    public var executable: URL
    public var seconds = 60
    public var connections = 64
    public var rows = 100

    public init(executable: URL, seconds: Int = 60, connections: Int = 64, rows: Int = 100) {
        self.executable = executable
        self.seconds = seconds
        self.connections = connections
        self.rows = rows
    }

    public enum Failure: Error, CustomStringConvertible {
        case tool(String)
        public var description: String {
            switch self { case .tool(let detail): return "bench serve (HTTP): \(detail)" }
        }
    }

    public func run(in directory: URL) throws -> Result {
        let (checkpoint, body) = try prepare(in: directory)
        let script = directory.appendingPathComponent("predict.lua")
        try """
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.body = io.open("\(body.path)"):read("*a")
        """.write(to: script, atomically: true, encoding: .utf8)

        let server = Process()
        server.executableURL = executable
        server.arguments = ["serve", "--checkpoint", checkpoint.path, "--port", "0", "--log-level", "warning"]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        var banner = ""
        while !banner.contains("listening on") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        guard let port = banner.split(separator: "\n").first(where: { $0.contains("listening on") })
            .flatMap({ Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }) else {
            throw Failure.tool("funnel serve did not report its port: \(banner)")
        }
        let url = "http://127.0.0.1:\(port)/v1/models/mmoe:predict"
        // Ready and warm: a few seconds of the same load, unrecorded.
        try waitUntilReady(port: port)
        _ = try wrk(["-t2", "-c\(connections)", "-d3s", "-s", script.path, url])
        let startRSS = try residentMiB(of: server.processIdentifier)
        let report = try wrk(["-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script.path, url])
        let endRSS = try residentMiB(of: server.processIdentifier)
        return try parse(report, startRSS: startRSS, endRSS: endRSS)
    }

    /// The checkpoint directory and the request body file.
    private func prepare(in directory: URL) throws -> (URL, URL) {
        let recipe = SyntheticRecipe(generator: .funnel, rows: max(rows, 1000), seed: 0, preset: "smoke")
        let data = try recipe.makeData()
        var rng = SeededGenerator(seed: 0)
        let configuration = try JSONValue(data: Data(#"{"embeddingWidth": 16}"#.utf8))
        let model = try ModelRegistry.standard.makeModel(named: "mmoe", configuration: configuration, features: data.layout,
                                                         tasks: data.tasks, using: &rng)
        let checkpoint = directory.appendingPathComponent("mmoe")
        try TrainedModel(model: model, data: data, targetScalings: Array(repeating: .identity, count: data.tasks.count),
                         balancing: .fixedWeights, metrics: [:], epoch: 0, step: 0).write(to: checkpoint)
        let csv = directory.appendingPathComponent("rows.csv")
        try recipe.writeCSV(to: csv)
        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let inputs = try TrainedModel(contentsOf: checkpoint).rowEncoder().inputs.map(\.name)
        let rowTexts = lines[1...rows].map { line -> String in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            return "{" + inputs.map { name in
                let text = fields[header.firstIndex(of: name)!]
                return name.hasPrefix("dense") ? "\"\(name)\":\(text)" : "\"\(name)\":\"\(text)\""
            }.joined(separator: ",") + "}"
        }
        let body = directory.appendingPathComponent("body.json")
        try Data(#"{"request_id":"bench","rows":[\#(rowTexts.joined(separator: ","))]}"#.utf8).write(to: body)
        return (checkpoint, body)
    }

    private func waitUntilReady(port: Int) throws {
        for _ in 0..<300 {
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            curl.arguments = ["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:\(port)/readyz"]
            try curl.run()
            curl.waitUntilExit()
            if curl.terminationStatus == 0 { return }
            usleep(100_000)
        }
        throw Failure.tool("funnel serve was not ready within 30 s")
    }

    private func wrk(_ arguments: [String]) throws -> String {
        do {
            return String(decoding: try ChildProcess.output(of: URL(fileURLWithPath: "/usr/bin/env"), ["wrk"] + arguments), as: UTF8.self)
        } catch let failure as ChildProcess.Failure where failure.status == 127 {
            throw Failure.tool("wrk is not installed (apt-get install wrk)")
        }
    }

    private func residentMiB(of pid: Int32) throws -> Double {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ")[1]) else { throw Failure.tool("no VmRSS for process \(pid)") }
        return kilobytes / 1024
    }

    /// Reads wrk's report: `Requests/sec:`, the `--latency` distribution, `N requests in`, error lines.
    func parse(_ report: String, startRSS: Double, endRSS: Double) throws -> Result {
        let lines = report.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        func milliseconds(_ text: Substring) -> Double? {
            for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(unit) {
                return Double(text.dropLast(unit.count)).map { $0 * scale }
            }
            return nil
        }
        guard let rate = lines.first(where: { $0.hasPrefix("Requests/sec:") }).flatMap({ Double($0.split(separator: " ").last!) }),
              let total = lines.first(where: { $0.contains(" requests in ") }).flatMap({ Int($0.split(separator: " ")[0]) }) else {
            throw Failure.tool("unreadable wrk report: \(report)")
        }
        var latency: [(Int, Double)] = []
        for line in lines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].hasSuffix("%"), let p = Int(parts[0].dropLast()), let ms = milliseconds(parts[1]) { latency.append((p, ms)) }
        }
        var errors = 0
        for line in lines where line.hasPrefix("Non-2xx or 3xx responses:") { errors += Int(line.split(separator: " ").last!) ?? 0 }
        for line in lines where line.hasPrefix("Socket errors:") {
            // "Socket errors: connect 0, read 0, write 0, timeout 0"
            errors += line.split(separator: ",").compactMap { Int($0.split(separator: " ").last!) }.reduce(0, +)
        }
        return Result(requestsPerSecond: rate, rowsPerSecond: rate * Double(rows), latencyMilliseconds: latency, requests: total,
                      errors: errors, residentMiBStart: startRSS, residentMiBEnd: endRSS)
    }
}
