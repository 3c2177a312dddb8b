import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// Bit-for-bit reproducibility of MMoE training: same seeds → identical parameters, running statistics and
/// losses; and the same result with 1 or 2 active threads.
///
/// The model is sized so that the multi-threaded paths are actually taken with 2 threads: the embedding table
/// (9,429 × 16 = 150,864 floats) is above the element-wise parallel threshold (2¹⁷, so Adam's update is split),
/// and the first expert layer's GEMMs (64 × 64 × 656 ≈ 2.7M multiply-adds) are above the GEMM threshold (2¹⁸).
final class ReproducibilityTests: XCTestCase {
    private let configuration = configured(MMoE.Configuration()) {
        $0.embeddingWidth = 16
        $0.experts = 2
        $0.expertWidths = [64, 32]
        $0.towerWidths = [16]
        $0.batchNorm = true
        $0.dropout = 0.2
    }
    private let steps = 3, rows = 64

    private struct Run {
        var tensors: [String: Tensor]
        var losses: [[Float]]
    }

    private func train(modelSeed: UInt64 = 7, dropoutSeed: UInt64 = 8) throws -> Run {
        let generator = ParityBenchmarkGenerator()
        var rng = SeededGenerator(seed: modelSeed)
        let model = MMoE(configuration: configuration, features: generator.layout, tasks: generator.tasks, using: &rng)
        let step = TrainingStep(model: model, tasks: generator.tasks, optimizer: Adam(learningRate: 0.01))
        var dropoutRng = SeededGenerator(seed: dropoutSeed)
        var losses: [[Float]] = []
        for s in 0..<steps {
            losses.append(try step(generator.batch(rows: (s * rows)..<((s + 1) * rows)), rng: &dropoutRng).losses)
        }
        return Run(tensors: model.namedTensors.mapValues { $0.value.copy() }, losses: losses)
    }

    private func differences(_ a: Run, _ b: Run) -> [String] {
        var names: [String] = []
        for (name, x) in a.tensors.sorted(by: { $0.key < $1.key }) {
            guard let y = b.tensors[name] else { names.append(name + " (missing)"); continue }
            if !bitIdentical(x, y) {
                let count = zip(x.scalars, y.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                names.append("\(name) (\(count)/\(x.count) elements, max |Δ| \(x.maxRelativeDifference(to: y, floor: 1)))")
            }
        }
        if a.losses.map({ $0.map(\.bitPattern) }) != b.losses.map({ $0.map(\.bitPattern) }) { names.append("losses") }
        return names
    }

    func testSameSeedsGiveBitIdenticalTraining() throws {
        let first = try train(), second = try train()
        XCTAssertEqual(first.tensors.count, second.tensors.count)
        let different = differences(first, second)
        XCTAssertTrue(different.isEmpty, "same seeds, different results: \(different)")
        XCTAssertTrue(first.losses.allSatisfy { $0.allSatisfy(\.isFinite) })

        // Not vacuous: the dropout stream and the initialisation seed both change the result.
        XCTAssertFalse(differences(first, try train(dropoutSeed: 9)).isEmpty, "dropout must draw from the step's generator")
        XCTAssertFalse(differences(first, try train(modelSeed: 70)).isEmpty, "initialisation must depend on the seed")
    }

    func testOneAndTwoThreadsGiveBitIdenticalTraining() throws {
        let pool = ThreadPool.shared
        guard pool.threadCount >= 2 else {
            throw XCTSkip("ThreadPool.shared has \(pool.threadCount) thread(s) (FUNNEL_THREADS?): nothing to compare")
        }
        let saved = pool.activeThreads
        defer { pool.activeThreads = saved }
        pool.activeThreads = 2
        let start = Date()
        let two = try train()
        print("[reproducibility] \(steps) steps at 2 threads: \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        pool.activeThreads = 1
        XCTAssertEqual(pool.activeThreads, 1)
        let one = try train()
        let different = differences(two, one)
        XCTAssertTrue(different.isEmpty, "1 vs 2 threads differ in: \(different)")
    }
}
