import ArgumentParser
import Foundation
import FunnelBench

extension Bench {
    /// `funnel bench serve`: in-process Scorer latency (with the ONNX Runtime / PyTorch peer) and HTTP load.
    struct ServeLatency: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Scoring latency: in-process Scorer p50/p90/p99 at 1, 16, 100, 1000 rows per call (MMoE, benchmark "
                + "configuration), with --peer ONNX Runtime and PyTorch eager on the same rows and weights; then HTTP load "
                + "on `funnel serve` with wrk.")

        @OptionGroup var options: BenchOptions

        @Option(help: "Alternate Funnel and the peer this many times; report each cell's median.")
        var rounds = 3

        @Option(help: "Seconds of calls per in-process cell.")
        var seconds = 1.5

        @Option(help: "Seconds of HTTP load (0 skips it).")
        var httpSeconds = 60

        @Option(help: "wrk connections.")
        var connections = 64

        @Option(help: "Rows per HTTP request.")
        var httpRows = 100

        func run() throws {
            let bench = try ScorerBenchmark()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-bench-serve-\(UUID().uuidString)")  // new, so removing it removes only this run's files
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try bench.writeWeights(to: directory.appendingPathComponent("weights"))
            let peer = PyTorchPeer(script: "\(ProcessInfo.processInfo.environment["FUNNEL_ROOT"] ?? FileManager.default.currentDirectoryPath)/bench/serve_peer.py")
            var samples: [String: [[Double]]] = [:]   // "impl rows threads" → rounds of [p50, p90, p99]
            for _ in 0..<rounds {
                for threads in options.threadCounts {
                    for rows in ScorerBenchmark.rowCounts {
                        let cell = try bench.measure(rows: rows, threads: threads, seconds: seconds)
                        samples["funnel \(rows) \(threads)", default: []].append([cell.p50, cell.p90, cell.p99])
                    }
                }
                guard options.peer else { continue }
                for line in try peer.run(["--weights", directory.appendingPathComponent("weights/model.safetensors").path,
                                          "--config", bench.benchCase.overridesJSON, "--threads", options.threads,
                                          "--seconds", "\(seconds)"]) {
                    guard let impl = line["impl"] as? String, let rows = line["rows"] as? Int, let threads = line["threads"] as? Int,
                          let p50 = line["p50"] as? Double, let p90 = line["p90"] as? Double, let p99 = line["p99"] as? Double else { continue }
                    samples["\(impl) \(rows) \(threads)", default: []].append([p50, p90, p99])
                }
            }
            func median(_ key: String, _ i: Int) -> Double? { samples[key].map { Statistics.median($0.map { $0[i] }) } }
            func us(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "–" }
            print("In-process scoring, MMoE (d = 16, 8 experts [256, 128], towers [64]), µs per call, medians of \(rounds) alternating rounds")
            print(options.peer
                  ? "| rows | threads | Funnel p50 | p90 | p99 | ORT p50 | p90 | p99 | PyTorch p50 | p90 | p99 | ORT/Funnel p50 | PyTorch/Funnel p50 |"
                  : "| rows | threads | Funnel p50 | p90 | p99 |")
            print(options.peer ? "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" : "|---:|---:|---:|---:|---:|")
            for threads in options.threadCounts {
                for rows in ScorerBenchmark.rowCounts {
                    let key = "\(rows) \(threads)"
                    var line = "| \(rows) | \(threads) | " + (0..<3).map { us(median("funnel \(key)", $0)) }.joined(separator: " | ") + " |"
                    if options.peer {
                        for impl in ["onnxruntime", "pytorch"] { line += " " + (0..<3).map { us(median("\(impl) \(key)", $0)) }.joined(separator: " | ") + " |" }
                        for impl in ["onnxruntime", "pytorch"] {
                            let ratio = median("\(impl) \(key)", 0).flatMap { peer in median("funnel \(key)", 0).map { peer / $0 } }
                            line += " " + (ratio.map { String(format: "%.2f", $0) } ?? "–") + " |"
                        }
                    }
                    print(line)
                }
            }
            guard httpSeconds > 0 else { return }
            let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            let load = try HTTPLoadBenchmark(executable: executable, seconds: httpSeconds, connections: connections, rows: httpRows)
                .run(in: directory)
            print("\nHTTP load: wrk -t2 -c\(connections) -d\(httpSeconds)s, \(httpRows) rows per request, `funnel serve` (MMoE, funnel features)")
            print("| requests/s | rows/s | " + load.latencyMilliseconds.map { "p\($0.percentile) ms" }.joined(separator: " | ")
                  + " | requests | errors | RSS start MiB | RSS end MiB |")
            print("|" + String(repeating: "---:|", count: 6 + load.latencyMilliseconds.count))
            print(String(format: "| %.0f | %.0f | ", load.requestsPerSecond, load.rowsPerSecond)
                  + load.latencyMilliseconds.map { String(format: "%.2f", $0.milliseconds) }.joined(separator: " | ")
                  + " | \(load.requests) | \(load.errors) | " + String(format: "%.1f | %.1f |", load.residentMiBStart, load.residentMiBEnd))
        }
    }
}
