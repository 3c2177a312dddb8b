import XCTest
import FunnelCore
import FunnelData
import FunnelModels
@testable import FunnelBench

/// Benchmark specs resolve to the parity configuration, the MMoE sizing picks the closest expert count, the
/// benchmark's batches carry the labels each case trains on, and the comparison runs and reports every row.
final class BenchmarkCaseTests: XCTestCase {
    func testParityCaseOfABaseline() throws {
        let esmm = try BenchmarkCase.parse("esmm")
        XCTAssertEqual(esmm.overrides, ["embeddingWidth": .number(16), "dropout": .number(0.2)])
        XCTAssertEqual(esmm.tasks, .twoBinary)
        XCTAssertEqual(esmm.balancing, .fixed)
        XCTAssertTrue(esmm.nestsLabels)
        XCTAssertEqual(esmm.overridesJSON, #"{"dropout":0.2,"embeddingWidth":16}"#)
        let dephn = try BenchmarkCase.parse("dephn")
        XCTAssertEqual(dephn.overrides, ["embeddingWidth": .number(16)], "no dropout option, none added")
        XCTAssertFalse(try BenchmarkCase.parse("mmoe").nestsLabels)
    }

    func testHTLNetAndBalancingSuffixes() throws {
        let htlnet = try BenchmarkCase.parse("htlnet")
        XCTAssertEqual(htlnet.tasks, .withAmount)
        XCTAssertEqual(htlnet.balancing, .htlnet)
        XCTAssertEqual(htlnet.overrides["dropout"], .number(0))
        XCTAssertEqual(htlnet.taskSpecs.map(\.kind), [.binary, .binary, .continuous])
        let fixed = try BenchmarkCase.parse("htlnet/fixed")
        XCTAssertEqual(fixed.balancing, .fixed)
        XCTAssertEqual(fixed.tasks, .withAmount)
        XCTAssertEqual(fixed.label, "htlnet/fixed")
        let mmoe = try BenchmarkCase.parse("mmoe/htlnet")
        XCTAssertEqual(mmoe.tasks, .withAmount, "HTLNet's adjustment needs the continuous core task")
        XCTAssertThrowsError(try BenchmarkCase.parse("mmoe/pcgrad"))
        XCTAssertThrowsError(try BenchmarkCase.parse("no-such-model"))
        XCTAssertThrowsError(try BenchmarkCase.parse("esmm~htlnet"), "ESMM has no experts to size")
    }

    func testSizedMMoEHasTheClosestParameterCount() throws {
        let sized = try BenchmarkCase.parse("mmoe~htlnet")
        XCTAssertEqual(sized.model, "mmoe")
        XCTAssertEqual(sized.tasks, .withAmount)
        guard case .number(let chosen)? = sized.overrides["experts"] else { return XCTFail("experts not set") }
        let goal = try BenchmarkCase.parse("htlnet").makeModel().parameterCount
        let gap = { (experts: Double) -> Int in
            var candidate = sized
            candidate.overrides["experts"] = .number(experts)
            return abs(try! candidate.makeModel().parameterCount - goal)
        }
        for neighbour in [chosen - 1, chosen + 1] where neighbour >= 1 { XCTAssertLessThanOrEqual(gap(chosen), gap(neighbour)) }
    }

    func testBatchesNestLabelsAndAddAStandardisedAmount() throws {
        let (nested, _) = TrainingBenchmark.batches(for: try BenchmarkCase.parse("esmm"), count: 2, size: 256)
        let (plain, _) = TrainingBenchmark.batches(for: try BenchmarkCase.parse("mmoe"), count: 2, size: 256)
        var changed = 0
        for (a, b) in zip(nested, plain) {
            for i in 0..<a.count {
                XCTAssertEqual(a.labels.pointer[2 * i + 1], b.labels.pointer[2 * i + 1] * b.labels.pointer[2 * i])
                if a.labels.pointer[2 * i + 1] != b.labels.pointer[2 * i + 1] { changed += 1 }
            }
        }
        XCTAssertGreaterThan(changed, 0, "the parity data has conversions without clicks, which nesting removes")
        let (withAmount, scalings) = TrainingBenchmark.batches(for: try BenchmarkCase.parse("htlnet"), count: 3, size: 256)
        var transformed: [Double] = []
        for batch in withAmount {
            XCTAssertEqual(batch.labels.shape, [256, 3])
            for i in 0..<batch.count {
                let converted = batch.labels.pointer[3 * i + 1], amount = batch.labels.pointer[3 * i + 2]
                XCTAssertTrue(converted == 1 ? (amount >= 1 && amount < 2) : amount == 0)
                transformed.append(Double(scalings[2].transformed(amount)))
            }
        }
        let mean = transformed.reduce(0, +) / Double(transformed.count)
        let variance = transformed.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(transformed.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        XCTAssertTrue(scalings[0].isIdentity && scalings[1].isIdentity)
    }

    func testTrainingRunReportsTheModel() throws {
        let result = try TrainingBenchmark(threads: 1, batchSize: 64, steps: 2, warmup: 1).run(try BenchmarkCase.parse("htlnet"))
        XCTAssertEqual(result.model, "htlnet")
        XCTAssertEqual(result.parameters, try BenchmarkCase.parse("htlnet").makeModel().parameterCount)
        XCTAssertTrue(result.firstLoss.isFinite && result.lastLoss.isFinite)
        XCTAssertGreaterThan(result.samplesPerSecond, 0)
    }

    func testComparisonWithoutPeerReportsEveryRowAndAlternates() throws {
        let cases = [try BenchmarkCase.parse("mmoe"), try BenchmarkCase.parse("nfm")]
        let comparison = StepComparison(cases: cases, threadCounts: [1, 2], rounds: 3, steps: 4, warmup: 1, peer: nil)
        var calls: [String] = []
        let rows = try comparison.run(funnel: { c, t in
            calls.append("\(c.label)@\(t)")
            return TrainingBenchmark.Result(model: c.label, threads: t, batch: 8, samplesPerSecond: 100, millisecondsPerStepMedian: 1,
                                            millisecondsPerStepP90: 2, gflops: 0, flopsPerStep: 0, peakResidentMiB: 10,
                                            firstLoss: 1, lastLoss: 0.5, parameters: 7)
        }, rowFinished: { _ in })
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(calls.count, 12)
        XCTAssertTrue(rows.allSatisfy { $0.funnel.count == 3 && $0.twin.isEmpty })
        let line = StepComparison.markdown(rows[0])
        XCTAssertTrue(line.hasPrefix("| mmoe | 1 | 7 | – | 100 |"), line)
        XCTAssertEqual(comparison.twinArguments(cases[0], threads: 2),
                       ["mmoe", "--threads", "2", "--steps", "4", "--warmup", "1", "--config", #"{"dropout":0.2,"embeddingWidth":16}"#,
                        "--tasks", "two", "--balancing", "fixed"])
    }

    /// A stand-in peer script: a twin that is missing, and one whose parameter count differs, are both reported.
    func testMissingTwinAndParameterMismatchAreReported() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("fake_peer_\(getpid()).py")
        try """
            import json, sys
            if sys.argv[1] == "nfm":
                sys.exit("pytorch_reference.py: error: argument cmd: invalid choice: 'nfm'")
            print(json.dumps({"samples_per_s": 50.0, "ms_per_step_median": 3.0, "ms_per_step_p90": 4.0,
                              "peak_rss_mib": 300.0, "parameters": 8, "chained": False}))
            """.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let cases = [try BenchmarkCase.parse("mmoe"), try BenchmarkCase.parse("nfm")]
        let comparison = StepComparison(cases: cases, threadCounts: [1], rounds: 2, steps: 4, warmup: 1,
                                        peer: PyTorchPeer(script: script.path))
        let rows = try comparison.run(funnel: { c, t in
            TrainingBenchmark.Result(model: c.label, threads: t, batch: 8, samplesPerSecond: 100, millisecondsPerStepMedian: 1,
                                     millisecondsPerStepP90: 2, gflops: 0, flopsPerStep: 0, peakResidentMiB: 10,
                                     firstLoss: 1, lastLoss: 0.5, parameters: 7)
        }, rowFinished: { _ in })
        XCTAssertEqual(rows[0].ratios, [2, 2])
        XCTAssertTrue(StepComparison.markdown(rows[0]).contains("**8** ≠"))
        XCTAssertEqual(rows[1].twinProblem, "no PyTorch twin")
        XCTAssertTrue(StepComparison.markdown(rows[1]).contains("no PyTorch twin"))
        let notes = StepComparison.notes(rows)
        XCTAssertTrue(notes.contains("  mmoe: PARAMETER COUNT DIFFERS: Funnel 7, PyTorch 8"), "\(notes)")
        XCTAssertTrue(notes.contains("  nfm: no PyTorch twin"), "\(notes)")
    }
}
