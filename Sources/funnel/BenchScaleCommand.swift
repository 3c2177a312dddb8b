import ArgumentParser
import Foundation
import FunnelBench

extension Bench {
    struct Scale: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Training-step cost against embedding-table size: MMoE on the funnel with two hashed Zipf id fields.",
            discussion: """
                Each (table size, round) is a fresh process, so peak RSS is its own; sizes alternate within a round, \
                and the table gives medians over the rounds. Step time relative to the smallest table is the target \
                of issue #16 (≤ 1.2× from 10k to 10M rows).
                """)

        @Option(help: "Table sizes in rows, comma-separated.")
        var tables = "10000,1000000,10000000"

        @Option(help: "Worker threads.")
        var threads = 1

        @Option(help: "Rows per step.")
        var batchSize = 2048

        @Option(help: "Timed steps per run.")
        var steps = 30

        @Option(help: "Untimed warm-up steps per run.")
        var warmup = 5

        @Option(help: "Runs per size (alternating sizes); medians are reported.")
        var rounds = 3

        @Flag(help: "Dense Adam for the table (every row every step) instead of lazy rows.")
        var dense = false

        @Option(help: "Instead: 1 vs this many Open MPI ranks at the same global batch (runs funnel-mpi, built next to funnel).")
        var mpiRanks: Int?

        @Option(help: .hidden)
        var emitJSON: Int?

        func run() throws {
            if let rows = emitJSON {
                let result = try ScaleBenchmark(tableRows: rows, threads: threads, batchSize: batchSize, steps: steps,
                                                warmup: warmup, lazy: !dense).run()
                print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                return
            }
            if let mpiRanks { return try runDataParallel(ranks: mpiRanks) }
            let sizes = tables.split(separator: ",").compactMap { Int($0) }
            var results: [Int: [ScaleBenchmark.Result]] = [:]
            for round in 1...rounds {
                for size in sizes {
                    let r = try runIsolated(size)
                    results[size, default: []].append(r)
                    printError("round \(round): \(size) rows: \(format(r.samplesPerSecond, 0)) samples/s, "
                               + "\(format(r.millisecondsPerStepMedian)) ms/step, peak RSS \(format(r.peakResidentMiB, 0)) MiB")
                }
            }
            print("MMoE, batch \(batchSize), \(threads) thread(s), \(dense ? "dense" : "lazy") Adam; median of \(rounds) "
                  + "fresh-process runs per size (sizes alternating), \(steps) timed steps after \(warmup) warm-up")
            print("| table rows | table MiB | rows read/step | samples/s | ms/step p50 | ms/step p90 | step time vs first | peak RSS MiB | loss first → last |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            let base = results[sizes[0]].map { Statistics.median($0.map(\.millisecondsPerStepMedian)) } ?? 1
            for size in sizes {
                guard let runs = results[size], let last = runs.last else { continue }
                let p50 = Statistics.median(runs.map(\.millisecondsPerStepMedian))
                print("| \(last.tableRows) | \(format(last.tableMiB, 0)) | \(format(last.rowsReadPerStep, 0)) | "
                      + "\(format(Statistics.median(runs.map(\.samplesPerSecond)), 0)) | \(format(p50)) | "
                      + "\(format(Statistics.median(runs.map(\.millisecondsPerStepP90)))) | \(format(p50 / base, 2))× | "
                      + "\(format(Statistics.median(runs.map(\.peakResidentMiB)), 0)) | \(format(last.firstLoss, 3)) → \(format(last.lastLoss, 3)) |")
            }
        }

        /// 1 vs `ranks` MPI ranks (the first table size; the global batch is `--batch-size`).
        private func runDataParallel(ranks: Int) throws {
            let own = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            let funnelMPI = own.deletingLastPathComponent().appendingPathComponent("funnel-mpi")
            guard FileManager.default.isExecutableFile(atPath: funnelMPI.path) else {
                throw ValidationError("\(funnelMPI.path) not built (install libopenmpi-dev and build again)")
            }
            let tableRows = tables.split(separator: ",").compactMap { Int($0) }.first ?? 1_000_000
            let benchmark = DataParallelBenchmark(funnelMPI: funnelMPI, mpirun: URL(fileURLWithPath: "/usr/bin/mpirun"), ranks: ranks,
                                                  globalBatch: batchSize, rounds: rounds, tableRows: tableRows)
            let rows = try benchmark.run { ranks, report in
                printError("\(ranks) rank(s): \(format(report["samplesPerSecond"] ?? 0, 0)) samples/s")
            }
            print("MMoE, funnel with two hashed Zipf id fields (table ≈ \(tableRows) rows), global batch \(batchSize), "
                  + "funnel-mpi train (whole run: build, 1 epoch, evaluation); median of \(rounds) alternating rounds")
            print("| ranks × batch | samples/s | dense allreduce ms/step | sparse allgatherv ms/step |")
            print("|---|---:|---:|---:|")
            for row in rows {
                print("| \(row.ranks) × \(row.batchPerRank) | \(format(Statistics.median(row.samplesPerSecond), 0)) | "
                      + (row.ranks == 1 ? "– | – |" : "\(format(Statistics.median(row.denseMilliseconds), 2)) | \(format(Statistics.median(row.sparseMilliseconds), 2)) |"))
            }
        }

        /// One measurement in a child process of this executable.
        private func runIsolated(_ size: Int) throws -> ScaleBenchmark.Result {
            let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            return try ChildProcess.lastJSONLine(
                of: executable, ["bench", "scale", "--emit-json", "\(size)", "--threads", "\(threads)", "--batch-size", "\(batchSize)",
                                 "--steps", "\(steps)", "--warmup", "\(warmup)"] + (dense ? ["--dense"] : []))
        }
    }
}
