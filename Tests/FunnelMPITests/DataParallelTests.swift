import Foundation
import XCTest
import FunnelBench

/// Data-parallel training on Open MPI, end to end: `funnel-mpi train` under `mpirun --oversubscribe -np 2` against
/// one process. MMoE without batch norm or dropout on the correlated generator's two binary tasks (both losses are
/// means over every row, so a global batch of 2 × B/2 rows has the gradient of the single-process batch of B rows).
/// Skipped with a reason when mpirun is absent, failed instead when `CI=true`.
final class DataParallelTests: XCTestCase {
    private let model = #"{"batchNorm":false,"dropout":0,"experts":2,"expertWidths":[32],"towerWidths":[16]}"#

    /// 50 steps: 4,000 rows → 3,200 training rows = 50 global batches of 64.
    private func arguments(batch: Int, distributed: Bool, dump: String) -> [String] {
        ["train", "--model", "mmoe", "--model-config", model, "--synthetic", "correlated", "--binary", "0.3", "--rows", "4000",
         "--batch-size", "\(batch)", "--epochs", "1", "--dump-parameters", dump] + (distributed ? ["--distributed"] : [])
    }

    func testTwoRanksAtHalfBatchEqualOneProcessAtFullBatch() throws {
        let mpirun = try locateMPIRun()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let single = directory.appendingPathComponent("single").path, parallel = directory.appendingPathComponent("parallel").path
        let alone = try run(executable(), arguments(batch: 64, distributed: false, dump: single))
        for transport in [[], ["--mca", "btl", "self,tcp"]] {
            let report = try run(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "2"] + transport
                                 + [executable()] + arguments(batch: 32, distributed: true, dump: parallel))
            XCTAssertEqual(report["ranks"], 2)
            XCTAssertEqual(report["steps"], 50, "50 global steps of 2 × 32 rows")
            XCTAssertEqual(alone["steps"], 50)
            let rank0 = try parameters("\(parallel).rank0.bin"), rank1 = try parameters("\(parallel).rank1.bin")
            XCTAssertEqual(rank0, rank1, "parameters bit-identical across ranks (\(transport))")
            let reference = try parameters("\(single).rank0.bin")
            XCTAssertEqual(rank0.count, reference.count)
            let scale = reference.map(abs).max() ?? 1
            let worst = zip(rank0, reference).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst / scale, 1e-5, "2 ranks × 32 vs 1 × 64 after 50 steps: max |Δ| / max |θ|")
            for task in ["task0", "task1"] {
                let gathered = try XCTUnwrap(report["final.validation.\(task).auc"]), local = try XCTUnwrap(report["final.single.\(task).auc"])
                XCTAssertEqual(gathered, local, "\(task): validation AUC over the ranks = one process's on the same weights")
            }
        }
    }

    /// Batch norm under data parallelism: per-rank batch statistics in training, running statistics averaged over
    /// the ranks after each epoch, so parameters and buffers end bit-identical on every rank.
    func testBatchNormRanksEndIdentical() throws {
        let mpirun = try locateMPIRun()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-mpi-bn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.appendingPathComponent("bn").path
        let report = try run(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "2", try executable(), "train", "--model", "mmoe",
                                      "--model-config", #"{"batchNorm":true,"dropout":0.1,"experts":2,"expertWidths":[32],"towerWidths":[16]}"#,
                                      "--synthetic", "funnel", "--preset", "smoke", "--rows", "3000", "--ids", "100000",
                                      "--batch-size", "32", "--epochs", "2", "--dump-parameters", prefix, "--distributed"])
        XCTAssertEqual(report["ranks"], 2)
        XCTAssertEqual(try parameters("\(prefix).rank0.bin"), try parameters("\(prefix).rank1.bin"))
        XCTAssertEqual(report["final.validation.ctr.auc"], report["final.single.ctr.auc"])
    }

    // MARK: Helpers

    private func locateMPIRun() throws -> String {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/mpirun" }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        let reason = "mpirun not found (install openmpi-bin and libopenmpi-dev)"
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(reason); throw XCTSkip(reason) }
        print("DataParallelTests skipped: \(reason)")
        throw XCTSkip(reason)
    }

    /// `funnel-mpi`, built next to the test bundle.
    private func executable() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("funnel-mpi").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw XCTSkip("funnel-mpi is not built next to the tests")
    }

    /// Runs a command and decodes the JSON report it prints last.
    private func run(_ executable: String, _ arguments: [String]) throws -> [String: Double] {
        try DataParallelBenchmark.report(URL(fileURLWithPath: executable), arguments)
    }

    private func parameters(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
