import Foundation

/// 1 vs N Open MPI ranks at the same global batch (issue #16): alternating fresh runs of `funnel-mpi train` (one
/// process at batch B·N, then `mpirun -np N … --distributed` at batch B) on the funnel with two hashed Zipf id
/// fields, each printing its JSON report; medians over rounds of samples/s and of the per-step communication time,
/// dense (fused allreduce) and sparse (allgatherv of table rows). The funnel executable cannot link MPI, so it
/// runs `funnel-mpi` as a child process, as it runs the PyTorch peer.
public struct DataParallelBenchmark {
    /// One configuration's medians.
    public struct Row: Sendable {
        public var ranks: Int
        public var batchPerRank: Int
        public var samplesPerSecond: [Double]
        public var denseMilliseconds: [Double]
        public var sparseMilliseconds: [Double]
    }

    public var funnelMPI: URL
    public var mpirun: URL
    public var ranks: Int
    public var globalBatch: Int
    public var rounds: Int
    /// `funnel-mpi train` arguments shared by every run (data, model, epochs).
    public var trainArguments: [String]

    public init(funnelMPI: URL, mpirun: URL, ranks: Int = 2, globalBatch: Int = 2048, rounds: Int = 2, tableRows: Int = 1_000_000) {
        self.funnelMPI = funnelMPI
        self.mpirun = mpirun
        self.ranks = ranks
        self.globalBatch = globalBatch
        self.rounds = rounds
        trainArguments = ["train", "--model", "mmoe", "--synthetic", "funnel", "--rows", "60000", "--ids", "10000000",
                          "--id-buckets", "\(max(tableRows / 2, 1))", "--epochs", "1"]
    }

    /// Runs the rounds; `finished` sees each run's report.
    public func run(finished: (Int, [String: Double]) -> Void = { _, _ in }) throws -> [Row] {
        var rows = [Row(ranks: 1, batchPerRank: globalBatch, samplesPerSecond: [], denseMilliseconds: [], sparseMilliseconds: []),
                    Row(ranks: ranks, batchPerRank: globalBatch / ranks, samplesPerSecond: [], denseMilliseconds: [], sparseMilliseconds: [])]
        for _ in 0..<rounds {
            for i in rows.indices {
                let report: [String: Double]
                if rows[i].ranks == 1 {
                    report = try Self.report(funnelMPI, trainArguments + ["--batch-size", "\(globalBatch)"])
                } else {
                    report = try Self.report(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", funnelMPI.path]
                                             + trainArguments + ["--batch-size", "\(rows[i].batchPerRank)", "--distributed"])
                }
                rows[i].samplesPerSecond.append(report["samplesPerSecond"] ?? .nan)
                rows[i].denseMilliseconds.append(report["denseMillisecondsPerStep"] ?? 0)
                rows[i].sparseMilliseconds.append(report["sparseMillisecondsPerStep"] ?? 0)
                finished(rows[i].ranks, report)
            }
        }
        return rows
    }

    /// The report `funnel-mpi train` prints (its last line, JSON).
    public static func report(_ executable: URL, _ arguments: [String]) throws -> [String: Double] {
        try ChildProcess.lastJSONLine(of: executable, arguments)
    }
}
