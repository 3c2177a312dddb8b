import XCTest
import FunnelCore
import FunnelTestSupport
import FunnelData
import FunnelModels
import FunnelNN
@testable import FunnelTrain

/// Balancers on a real (tiny) MMoE: the gradients they assemble from one forward pass and T backward passes equal
/// what separate forward/backward passes per task give, combined by hand.
final class BalancerModelTests: XCTestCase {
    private let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "other", kind: .binary, weight: 0.5)]

    private func makeModel(seed: UInt64 = 17) -> MMoE {
        var rng = SeededGenerator(seed: seed)
        let configuration = configured(MMoE.Configuration()) {
            $0.embeddingWidth = 4
            $0.experts = 2
            $0.expertWidths = [6]
            $0.towerWidths = [4]
        }
        return MMoE(configuration: configuration, features: FeatureLayout(vocabularySizes: [5, 7], numericCount: 2),
                    tasks: tasks, using: &rng)
    }

    /// 8 rows; ids avoid some rows of the table (row-sparse gradients); task 2's label is the opposite of task 1's,
    /// so the two tasks' shared gradients conflict.
    private let batch: Batch = {
        let ids: [Int32] = [0, 1, 2, 3, 0, 5, 1, 1, 2, 6, 0, 3, 1, 5, 2, 1]
        var rng = SeededGenerator(seed: 5)
        let numeric = Tensor.uniform([8, 2], in: -1...1, using: &rng)
        let click: [Float] = [1, 0, 0, 1, 1, 0, 1, 0]
        let labels = Tensor(shape: [8, 2], values: click.flatMap { [$0, 1 - $0] })
        return Batch(count: 8, ids: ids, numeric: numeric, labels: labels)
    }()

    /// One forward pass on a new tape: (tape, per-task losses).
    private func forward(_ model: MMoE) -> (Tape, [Variable]) {
        let tape = Tape()
        let output = model(batch, ForwardContext(tape: tape, mode: .training))
        return (tape, taskLosses(output, batch: batch, tasks: tasks))
    }

    private func flatten(_ tensors: [Tensor]) -> [Double] { tensors.flatMap { $0.scalars.map(Double.init) } }

    func testPCGradMatchesHandProjectionOfSeparateBackwardPasses() throws {
        let model = makeModel(seed: 11)  // an initialisation whose two tasks' shared gradients conflict
        let shared = model.sharedParameters
        let specific = model.parameters.filter { p in !shared.contains { $0 === p } }
        let weights: [Float] = [1, 0.5]
        // Reference: a fresh forward and backward per task.
        var sharedGradients: [[Double]] = [], specificSum = [Double](repeating: 0, count: specific.reduce(0) { $0 + $1.count })
        for t in 0..<2 {
            let (tape, losses) = forward(model)
            sharedGradients.append(flatten(tape.gradients(of: losses[t] * weights[t], wrt: shared)))
            let g = flatten(tape.gradients(of: losses[t] * weights[t], wrt: specific))
            for i in g.indices { specificSum[i] += g[i] }
        }
        let (g1, g2) = (sharedGradients[0], sharedGradients[1])
        let dot = zip(g1, g2).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertLessThan(dot, 0, "the case must contain a conflict, or PCGrad changes nothing")
        let n1 = g1.reduce(0) { $0 + $1 * $1 }, n2 = g2.reduce(0) { $0 + $1 * $1 }
        let expected = g1.indices.map { i in (g1[i] - dot / n2 * g2[i]) + (g2[i] - dot / n1 * g1[i]) }

        let (tape, losses) = forward(model)
        let input = BalancingInput(tape: tape, losses: losses, parameters: model.parameters, sharedParameters: shared)
        let record = PCGrad(weights: weights, order: .fixed).backward(input)
        XCTAssertEqual(record.details["projections"], [1, 1])
        let assembled = flatten(shared.map { $0.grad! })
        let scale = expected.map(abs).max()!
        for i in expected.indices { XCTAssertEqual(assembled[i], expected[i], accuracy: 1e-5 * scale, "shared element \(i)") }
        let plainSum = g1.indices.map { g1[$0] + g2[$0] }
        XCTAssertGreaterThan(zip(assembled, plainSum).map { abs($0 - $1) }.max()!, 1e-3, "not just the unprojected sum")
        let taskSpecific = flatten(specific.map { $0.grad! })
        for i in specificSum.indices { XCTAssertEqual(taskSpecific[i], specificSum[i], accuracy: 1e-6, "specific element \(i)") }
        // The embedding table's gradient stays marked row-sparse: field 0 reads ids 0, 1, 2; field 1 reads 1, 3, 5, 6,
        // offset by V₀ = 5.
        let table = model.embedding.parameters[0]
        XCTAssertEqual(table.gradientRows, [0, 1, 2, 6, 8, 10, 11])
    }

    func testFixedWeightsEqualOneBackwardOfTheWeightedSum() {
        let model = makeModel()
        let balancer = FixedWeights(tasks: tasks, normalizeWeights: true, decay: [0.5, 1])
        let lambda = balancer.weights(atEpoch: 1)
        XCTAssertEqual(lambda[0], 0.5 / 1.5, accuracy: 1e-7)
        XCTAssertEqual(lambda[1], 0.5 / 1.5, accuracy: 1e-7)
        let (referenceTape, referenceLosses) = forward(model)
        for p in model.parameters { p.zeroGradient() }
        referenceTape.backward(referenceLosses[0] * lambda[0] + referenceLosses[1] * lambda[1])
        let reference = model.parameters.map { $0.grad!.scalars }

        let (tape, losses) = forward(model)
        let record = balancer.backward(BalancingInput(tape: tape, losses: losses, parameters: model.parameters,
                                                      sharedParameters: model.sharedParameters, epoch: 1))
        XCTAssertEqual(record.weights, lambda)
        XCTAssertEqual(model.parameters.map { $0.grad!.scalars }, reference, "bit-identical to one backward of Σ λ_t L_t")
    }

    func testMetaBalanceOnTheModelRescalesOnlySharedTensors() {
        let model = makeModel()
        let shared = model.sharedParameters
        let (tape, losses) = forward(model)
        let perTask = (0..<2).map { GradientSet(of: losses[$0], on: tape, wrt: shared) }
        let specific = model.parameters.filter { p in !shared.contains { $0 === p } }
        let specificReference = (0..<2).map { tape.gradients(of: losses[$0], wrt: specific) }
        let balancer = MetaBalance(weights: [1, 1])  // target: the last task
        _ = balancer.backward(BalancingInput(tape: tape, losses: losses, parameters: model.parameters, sharedParameters: shared))
        for (i, p) in shared.enumerated() {
            let (aux, target) = (perTask[0].norm(tensor: i), perTask[1].norm(tensor: i))
            let factor = aux > 0 ? Float(0.7 * target / aux + 0.3) : 1
            let expected = zip(perTask[0].tensors[i].scalars, perTask[1].tensors[i].scalars).map { $0 * factor + $1 }
            for (a, b) in zip(p.grad!.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), p.name) }
        }
        for (j, p) in specific.enumerated() {
            XCTAssertEqual(p.grad!.scalars, (specificReference[0][j] + specificReference[1][j]).scalars, p.name)
        }
    }
}
