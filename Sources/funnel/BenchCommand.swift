import ArgumentParser
import Foundation
import FunnelBench
import FunnelData

/// `funnel bench …`: performance tables, with the PyTorch peer side by side where one exists.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: GEMM kernels (OpenBLAS peer), training steps (PyTorch peer), scoring latency (ONNX Runtime peer), data ingest, table scale.",
        subcommands: [Kernels.self, Step.self, Ingest.self, Scale.self, ServeLatency.self])
}

/// Options shared by the benchmarks.
struct BenchOptions: ParsableArguments {
    @Option(help: "Thread counts to measure, comma-separated.")
    var threads: String = "1,2"

    @Flag(help: "Also run the peer in the same run, alternating, and print the ratio (kernels: OpenBLAS via numpy; step: PyTorch, bench/pytorch_reference.py).")
    var peer = false

    var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0) } }
}

extension Bench {
    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GEMM GFLOP/s for the shapes Funnel's models use; --peer runs OpenBLAS (numpy) alternately.")

        @OptionGroup var options: BenchOptions

        @Option(help: "Only these shapes (m×k×n, written with x), comma-separated; default all.")
        var shapes: String?

        @Option(help: "Repeat the whole measurement this many times (both sides) and report each cell's median.")
        var rounds = 1

        func run() throws {
            print(KernelBenchmark.kernelsLine)
            let wanted = shapes.map { Set($0.split(separator: ",").map { $0.replacingOccurrences(of: "x", with: "×") }) }
            let selected = KernelBenchmark.modelShapes.filter { wanted?.contains($0.label) ?? true }
            let shapeList = selected.map { "\($0.m)x\($0.k)x\($0.n)" }.joined(separator: ",")
            let peer = PyTorchPeer.openBLAS
            var peerSamples: [String: [Double]] = [:], funnelSamples: [String: [Double]] = [:]
            var peerKernel = ""
            let bench = KernelBenchmark()
            // Rounds alternate the sides: the peer (all cells of one thread count), then Funnel's same cells.
            for _ in 0..<rounds {
                for t in options.threadCounts {
                    if options.peer {
                        for line in try peer.run(["--threads", "\(t)", "--shapes", shapeList]) {
                            guard let m = line["m"] as? Int, let k = line["k"] as? Int, let n = line["n"] as? Int,
                                  let variant = line["variant"] as? String, let gflops = line["gflops"] as? Double else { continue }
                            peerKernel = line["kernel"] as? String ?? peerKernel
                            peerSamples["\(m)×\(k)×\(n) \(variant) \(t)", default: []].append(gflops)
                        }
                    }
                    for shape in selected {
                        for variant in KernelBenchmark.Variant.allCases {
                            funnelSamples["\(shape.label) \(variant.rawValue) \(t)", default: []]
                                .append(bench.measure(shape, variant, threads: t).gflops)
                        }
                    }
                }
            }
            if options.peer { print("peer: \(peerKernel) (numpy; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for it)") }
            print("median of \(rounds) alternating round(s)\n")
            print(options.peer ? "| shape (m×k×n) | variant | threads | Funnel GFLOP/s | OpenBLAS GFLOP/s | ratio |"
                               : "| shape (m×k×n) | variant | threads | GFLOP/s |")
            print(options.peer ? "|---|---|---:|---:|---:|---:|" : "|---|---|---:|---:|")
            for shape in selected {
                for variant in KernelBenchmark.Variant.allCases {
                    for t in options.threadCounts {
                        let key = "\(shape.label) \(variant.rawValue) \(t)"
                        let gflops = Statistics.median(funnelSamples[key] ?? [])
                        var row = "| \(shape.label) | \(variant.rawValue) | \(t) | \(format(gflops)) |"
                        if let samples = peerSamples[key] {
                            let other = Statistics.median(samples)
                            row += " \(format(other)) | \(String(format: "%.2f", gflops / other)) |"
                        }
                        print(row)
                    }
                }
            }
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Training-step throughput of registry models on the census-like parity data, with the PyTorch twins.",
            discussion: """
                Parity configuration (baselines.md §1.8): d = 16, dropout 0.2 where the model has one, batch 1024, Adam \
                lr 1e-3, two binary tasks. Each Funnel run is a fresh process, as each PyTorch run. Specs: a registry \
                name; name/fixed or name/htlnet for that loss balancing (htlnet adds a continuous core task); \
                mmoe~name for an MMoE whose expert count matches name's parameter count.
                """)

        @OptionGroup var options: BenchOptions

        @Option(help: "Benchmark cases, comma-separated (default: the multi-task baselines and the CTR models).")
        var models = BenchmarkCase.defaultSpecs.joined(separator: ",")

        @Option(help: "Timed steps per run.")
        var steps = 30

        @Option(help: "Untimed warm-up steps per run.")
        var warmup = 5

        @Option(help: "Alternate Funnel and PyTorch runs this many times; report medians and the median ratio.")
        var rounds = 1

        @Flag(help: .hidden)
        var emitJSON = false

        func run() throws {
            let cases = try models.split(separator: ",").map { try BenchmarkCase.parse(String($0)) }
            if emitJSON {
                for benchCase in cases {
                    for t in options.threadCounts {
                        let result = try TrainingBenchmark(threads: t, steps: steps, warmup: warmup).run(benchCase)
                        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                    }
                }
                return
            }
            print(KernelBenchmark.kernelsLine)
            let comparison = StepComparison(cases: cases, threadCounts: options.threadCounts, rounds: rounds, steps: steps,
                                            warmup: warmup, peer: options.peer ? PyTorchPeer() : nil)
            print(StepComparison.header)
            let rows = try comparison.run(funnel: runIsolated) { row in
                print(StepComparison.markdown(row))
                fflush(stdout)
            }
            print("")
            StepComparison.notes(rows).forEach { print($0) }
        }

        /// One Funnel measurement in a child process of this executable (so each run's peak RSS is its own).
        private func runIsolated(_ benchCase: BenchmarkCase, threads: Int) throws -> TrainingBenchmark.Result {
            let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            return try ChildProcess.lastJSONLine(
                of: executable, ["bench", "step", "--emit-json", "--models", benchCase.label, "--threads", "\(threads)",
                                 "--steps", "\(steps)", "--warmup", "\(warmup)"])
        }
    }
}

extension Bench {
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Data ingest on one core: tokenize, read into columns, fit the feature map, encode (Census-Income train by default).")

        @Option(help: "Directory holding the data sets (default: $FUNNEL_DATA_DIR, else ../shared/data).")
        var dataDir: String?

        @Option(help: "The file to read (default: <data-dir>/census-income-kdd/census-income.data.gz).")
        var file: String?

        @Option(help: "The schema to read it with (default: recipes/census-income-mmoe.yaml).")
        var schema = "recipes/census-income-mmoe.yaml"

        @Option(help: "Repeat the measurement this many times and report each phase's median.")
        var rounds = 3

        func run() throws {
            print(KernelBenchmark.kernelsLine)
            let directory = dataDir ?? ProcessInfo.processInfo.environment["FUNNEL_DATA_DIR"] ?? "../shared/data"
            let path = file ?? "\(directory)/census-income-kdd/census-income.data.gz"
            let schemaValue = try DatasetSchema.load(from: URL(fileURLWithPath: schema))
            let r = try IngestBenchmark(file: URL(fileURLWithPath: path), schema: schemaValue, rounds: rounds).run()
            print("file: \(path) (\(format(Double(r.bytes) / 1e6)) MB of text, \(r.rows) rows); schema: \(schema) "
                  + "(\(r.features) features, \(r.fields) fields); median of \(rounds) rounds, 1 thread")
            print("| tokenize s | read s | fit s | encode s | read+fit s | MB/s (read+fit) | rows/s (read+fit) | peak RSS MiB |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|")
            print("| \(format(r.tokenize, 3)) | \(format(r.read, 3)) | \(format(r.fit, 3)) | \(format(r.encode, 3)) | "
                  + "\(format(r.readAndFit, 3)) | \(format(r.megabytesPerSecond)) | \(format(r.rowsPerSecond, 0)) | \(format(r.peakResidentMiB, 0)) |")
        }
    }
}

/// A number with `digits` decimals.
func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
