import Foundation
import XCTest
import FunnelCore
import FunnelData
@testable import FunnelTrain

/// Loss balancers on constructed cases with known answers: the worked examples of losses-and-balancing.md §9.1
/// (PCGrad), §9.2 (uncertainty) and §9.4 (MetaBalance), and GradNorm's weight update on a two-task case with a
/// known gradient-norm imbalance.
final class BalancerTests: XCTestCase {
    /// Shared θ ∈ R² and task-specific v ∈ R¹; each task's loss is linear: L_t = ⟨a_t, θ⟩ + b_t·v0 + c_t, so
    /// ∇_θ L_t = a_t exactly and L_t has the value ⟨a_t, θ⟩ + b_t·v0 + c_t at θ = (1, 1), v = (1).
    private struct LinearCase {
        let theta = Parameter(name: "shared.weight", value: Tensor(shape: [2], values: [1, 1]))
        let v = Parameter(name: "tower.weight", value: Tensor(shape: [1], values: [1]))
        let tape = Tape()

        func input(_ a: [[Float]], b: [Float]? = nil, c: [Float]? = nil, auxiliary: [Float]? = nil,
                   empty: [Bool]? = nil, extraShared: Parameter? = nil, extraA: [[Float]]? = nil) -> BalancingInput {
            let th = tape.watch(theta), vv = tape.watch(v)
            let losses = a.indices.map { t -> Variable in
                var loss = (th * Variable(Tensor(shape: [2], values: a[t]))).sum()
                if let b { loss = loss + (vv * b[t]).sum() }
                if let extraShared, let extraA {
                    loss = loss + (tape.watch(extraShared) * Variable(Tensor(shape: [2], values: extraA[t]))).sum()
                }
                return c.map { loss + $0[t] } ?? loss
            }
            let r = auxiliary.map { (th * Variable(Tensor(shape: [2], values: $0))).sum() }
            return BalancingInput(tape: tape, losses: losses, emptyTasks: empty, auxiliaryLoss: r,
                                  parameters: [theta, v] + (extraShared.map { [$0] } ?? []),
                                  sharedParameters: [theta] + (extraShared.map { [$0] } ?? []))
        }
    }

    // MARK: PCGrad (§9.1)

    func testPCGradWorkedExample() {
        let c = LinearCase()
        let record = PCGrad(weights: [1, 1], order: .fixed).backward(c.input([[1, 0], [-1, 1]], b: [2, 3], auxiliary: [4, 0]))
        // ĝ₁ = (0.5, 0.5), ĝ₂ = (0, 1), Σ = (0.5, 1.5); R adds (4, 0) unprojected; v gets 2 + 3.
        XCTAssertEqual(c.theta.grad!.scalars, [4.5, 1.5])
        XCTAssertEqual(c.v.grad!.scalars, [5])
        XCTAssertEqual(record.details["projections"], [1, 1])

        let m = LinearCase()
        _ = PCGrad(weights: [1, 1], reduction: .mean, order: .random, seed: 9).backward(m.input([[1, 0], [-1, 1]]))
        XCTAssertEqual(m.theta.grad!.scalars, [0.25, 0.75], "two tasks: order irrelevant; mean halves the sum")
    }

    func testPCGradUsesWeightsAndLeavesAgreeingGradientsAlone() {
        let c = LinearCase()
        _ = PCGrad(weights: [2, 0.5], order: .fixed).backward(c.input([[1, 0], [1, 1]], b: [1, 1]))
        XCTAssertEqual(c.theta.grad!.scalars, [2.5, 0.5], "⟨g₁, g₂⟩ > 0: plain Σ λ_t g_t")
        XCTAssertEqual(c.v.grad!.scalars, [2.5], "task-specific: Σ λ_t ∂L_t/∂v")
        // An empty task takes no part: only task 1's gradient remains.
        let e = LinearCase()
        let record = PCGrad(weights: [1, 1], order: .fixed).backward(e.input([[1, 0], [-1, 1]], empty: [false, true]))
        XCTAssertEqual(e.theta.grad!.scalars, [1, 0])
        XCTAssertEqual(record.weights, [1, 0])
    }

    func testPCGradThreeTasksFollowsTheOrder() {
        // g₁ = (1, 0), g₂ = (−1, 1), g₃ = (0, −1). Fixed order, task 1: vs g₂ → (0.5, 0.5); vs g₃: ⟨(0.5, 0.5), (0, −1)⟩ < 0
        // → (0.5, 0). Task 2: vs g₁ → (0, 1); vs g₃: ⟨(0, 1), (0, −1)⟩ = −1 → (0, 0). Task 3: vs g₁: 0 (no change);
        // vs g₂: ⟨(0, −1), (−1, 1)⟩ = −1 → (0, −1) + ½(−1, 1) = (−0.5, −0.5). Σ = (0, −0.5).
        let c = LinearCase()
        let a: [[Float]] = [[1, 0], [-1, 1], [0, -1]]
        _ = PCGrad(weights: [1, 1, 1], order: .fixed).backward(c.input(a))
        XCTAssertEqual(c.theta.grad!.scalars, [0, -0.5])
        // A seeded random order is reproducible.
        let results = (0..<2).map { _ -> [Float] in
            let r = LinearCase()
            _ = PCGrad(weights: [1, 1, 1], seed: 3).backward(r.input(a))
            return r.theta.grad!.scalars
        }
        XCTAssertEqual(results[0], results[1])
    }

    // MARK: Uncertainty weighting (§9.2)

    func testUncertaintyWorkedExampleAndOptimum() {
        let u = UncertaintyWeighting(isRegression: [true, false])
        XCTAssertEqual(u.term(task: 0, loss: 0.1), 0.05, accuracy: 1e-7)
        u.logVariances[0].value = Tensor(scalar: logf(0.1))
        XCTAssertEqual(Double(u.term(task: 0, loss: 0.1)), -0.651293, accuracy: 1e-6)
        // Training s_t with plain SGD on fixed losses reaches s* = log L (regression) and log 2L (classification).
        let trainer = SGD(learningRate: 0.5)
        let fresh = UncertaintyWeighting(isRegression: [true, false])
        var last: BalancingRecord?
        for _ in 0..<200 {
            let c = LinearCase()
            last = fresh.backward(c.input([[0.05, 0.05], [0.02, 0.01]]))
            trainer.step(fresh.trainableParameters)
        }
        XCTAssertEqual(Double(fresh.logVariances[0].value.scalar), log(0.1), accuracy: 1e-4)
        XCTAssertEqual(Double(fresh.logVariances[1].value.scalar), log(0.06), accuracy: 1e-4)
        XCTAssertEqual(Double(fresh.term(task: 1, loss: 0.03)), 0.5 * (1 + log(0.06)), accuracy: 1e-5,
                       "classification optimum ½(1 + log 2L) < 0")
        XCTAssertEqual(last!.weights[0], 0.5 / 0.1, accuracy: 1e-3, "effective weight ½·exp(−s)")
    }

    func testUncertaintyGradientsAndEmptyTasks() {
        let u = UncertaintyWeighting(isRegression: [true, false])
        u.logVariances[1].value = Tensor(scalar: 0.5)
        let c = LinearCase()
        let record = u.backward(c.input([[1, 2], [3, 0]], c: [0, -2], auxiliary: [1, 1]))  // L = (3, 1)
        // θ: ½·e⁰·(1, 2) + e^{−0.5}·(3, 0) + R's (1, 1).
        let e = expf(-0.5)
        XCTAssertEqual(c.theta.grad!.scalars[0], 0.5 + 3 * e + 1, accuracy: 1e-6)
        XCTAssertEqual(c.theta.grad!.scalars[1], 1 + 1, accuracy: 1e-6)
        // ∂/∂s: −c·e^{−s}·L + ½.
        XCTAssertEqual(u.logVariances[0].grad!.scalar, -0.5 * 3 + 0.5, accuracy: 1e-6)
        XCTAssertEqual(u.logVariances[1].grad!.scalar, -e * 1 + 0.5, accuracy: 1e-6)
        XCTAssertEqual(record.details["logVariance"], [0, 0.5])
        // Simplified form: exp(−s)·L + s; an empty task gets no gradient at all.
        let simple = UncertaintyWeighting(isRegression: [true, false], form: .simplified)
        let d = LinearCase()
        _ = simple.backward(d.input([[1, 2], [3, 0]], c: [0, -2], empty: [false, true]))
        XCTAssertEqual(simple.logVariances[0].grad!.scalar, -3 + 1, accuracy: 1e-6)
        XCTAssertNil(simple.logVariances[1].grad)
        XCTAssertEqual(d.theta.grad!.scalars, [1, 2])
    }

    // MARK: GradNorm (§7.3)

    func testGradNormMovesWeightsAgainstTheGradientNormImbalance() {
        // L₁ = 10·θ₀ (‖∇_W L₁‖ = 10), L₂ = θ₁ (norm 1); W = θ.
        let g = GradNorm(taskCount: 2)
        let c = LinearCase()
        let first = g.backward(c.input([[10, 0], [0, 1]]))
        // Step 1: ratios 1, Ḡ = 5.5 = c_t; sign(G − c) = (+, −) → Adam's first step moves w by ∓lr: (0.99, 1.01).
        XCTAssertEqual(first.details["target"], [5.5, 5.5])
        XCTAssertEqual(first.details["gradientNorm"], [10, 1])
        XCTAssertEqual(c.theta.grad!.scalars, [10, 1], "model gradient uses the weights before the update (1, 1)")
        XCTAssertEqual(g.currentWeights[0], 0.99, accuracy: 1e-6)
        XCTAssertEqual(g.currentWeights[1], 1.01, accuracy: 1e-6)
        XCTAssertEqual(g.initialLosses.compactMap { $0 }, [10, 1], "L_t(0) recorded at the first step")

        // Step 2: task 1's loss doubled relative to L(0) (ratio 2 vs 1): r = (4/3, 2/3), c_t = Ḡ·r_t^1.5.
        let d = LinearCase()
        let second = g.backward(d.input([[20, 0], [0, 1]]))  // L = (20, 1)
        let G = [0.99 * 20.0, 1.01 * 1.0], meanG = (G[0] + G[1]) / 2
        let expected = [meanG * pow(4.0 / 3, 1.5), meanG * pow(2.0 / 3, 1.5)]
        XCTAssertEqual(Double(second.details["target"]![0]), expected[0], accuracy: 1e-3)
        XCTAssertEqual(Double(second.details["target"]![1]), expected[1], accuracy: 1e-3)
        XCTAssertEqual(d.theta.grad!.scalars[0], 0.99 * 20, accuracy: 1e-4)
        XCTAssertLessThan(g.currentWeights[0], 0.99, "G₁ = 19.8 > c₁ ≈ 16.0: w₁ keeps falling")
        XCTAssertGreaterThan(g.currentWeights[1], 1.01)
        XCTAssertEqual(g.currentWeights.reduce(0, +), 2, accuracy: 1e-6, "Σ w = T")
    }

    func testGradNormClampsAndRenormalises() {
        let g = GradNorm(taskCount: 2, weightOptimizer: SGD(learningRate: 0.2))
        let c = LinearCase()
        _ = g.backward(c.input([[10, 0], [0, 1]]))
        // SGD: w = (1 − 0.2·10, 1 + 0.2·1) = (−1, 1.2) → clamp (1e-4, 1.2) → × 2/1.2001.
        XCTAssertEqual(g.currentWeights[0], 1e-4 * 2 / 1.2001, accuracy: 1e-9)
        XCTAssertEqual(g.currentWeights[1], 1.2 * 2 / 1.2001, accuracy: 1e-6)
    }

    func testGradNormLayerDefaultsToLookupTables() {
        let table = Parameter(name: "embedding.weight", value: Tensor(shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8]))
        let dense = Parameter(name: "bottom.weight", value: Tensor(shape: [2], values: [1, 1]))
        let tape = Tape()
        let rows = Variable.gatherRows(tape.watch(table), indices: [1, 3])
        let loss = (rows.sum(alongAxis: 0) * tape.watch(dense)).sum()
        var input = BalancingInput(tape: tape, losses: [loss], parameters: [table, dense], sharedParameters: [table, dense])
        XCTAssertEqual(GradNorm.layer(of: input).map(\.name), ["embedding.weight"])
        input.gradNormParameters = [dense]
        XCTAssertEqual(GradNorm.layer(of: input).map(\.name), ["bottom.weight"])
        input.gradNormParameters = nil
        input.sharedParameters = [dense]
        XCTAssertEqual(GradNorm.layer(of: input).map(\.name), ["bottom.weight"], "no table: every shared parameter")
    }

    // MARK: MetaBalance (§9.4)

    func testMetaBalanceWorkedExample() {
        let m = MetaBalance(weights: [1, 1], targetTask: 0)
        let c = LinearCase()
        _ = m.backward(c.input([[3, 4], [0.6, 0.8]], b: [1, 2]))
        XCTAssertEqual(c.theta.grad!.scalars[0], 5.28, accuracy: 1e-5)
        XCTAssertEqual(c.theta.grad!.scalars[1], 7.04, accuracy: 1e-5)
        XCTAssertEqual(c.v.grad!.scalars, [3], "task-specific gradients are not rescaled")
        XCTAssertEqual(m.averageNorms["shared.weight"]![0], 0.5, accuracy: 1e-9)
        XCTAssertEqual(m.averageNorms["shared.weight"]![1], 0.1, accuracy: 1e-9)
        // Second step: n = (0.95, 0.19), ratio still 5.
        let d = LinearCase()
        _ = m.backward(d.input([[3, 4], [0.6, 0.8]]))
        XCTAssertEqual(d.theta.grad!.scalars[0], 5.28, accuracy: 1e-5)
        XCTAssertEqual(m.averageNorms["shared.weight"]![0], 0.95, accuracy: 1e-9)
    }

    func testMetaBalanceStrategiesAndPerTensorNorms() {
        // Tensor θ: the auxiliary norm is 1/5 of the target's; tensor φ: the auxiliary norm is twice the target's.
        let phi = Parameter(name: "shared.phi", value: Tensor(shape: [2], values: [1, 1]))
        func run(_ strategy: MetaBalance.Strategy) -> ([Float], [Float]) {
            let c = LinearCase()
            let m = MetaBalance(weights: [1, 1], targetTask: 0, strategy: strategy)
            phi.zeroGradient()
            _ = m.backward(c.input([[3, 4], [0.6, 0.8]], extraShared: phi, extraA: [[1, 0], [0, 2]]))
            return (c.theta.grad!.scalars, phi.grad!.scalars)
        }
        // φ: n = (0.1, 0.2), factor 0.7·0.5 + 0.3 = 0.65 → aux (0, 2) becomes (0, 1.3).
        let both = run(.both)
        XCTAssertEqual(both.0[0], 5.28, accuracy: 1e-5)
        XCTAssertEqual(both.1[1], 1.3, accuracy: 1e-6)
        let reduce = run(.reduceOnly)
        XCTAssertEqual(reduce.0, [3.6, 4.8], "θ: the auxiliary is smaller, reduce-only leaves it")
        XCTAssertEqual(reduce.1[1], 1.3, accuracy: 1e-6)
        let enlarge = run(.enlargeOnly)
        XCTAssertEqual(enlarge.0[0], 5.28, accuracy: 1e-5)
        XCTAssertEqual(enlarge.1, [1, 2], "φ: the auxiliary is larger, enlarge-only leaves it")
    }

    // MARK: Fixed weights

    func testFixedWeightsScheduleAndNormalisation() {
        let f = FixedWeights(weights: [2, 0.5], normalizeWeights: true, decay: [0.5, 1])
        XCTAssertEqual(f.weights(atEpoch: 0), [0.8, 0.2])
        XCTAssertEqual(f.weights(atEpoch: 2), [0.2, 0.2])
        let c = LinearCase()
        var input = c.input([[1, 0], [0, 1]], b: [1, 1], auxiliary: [0, 3])
        input.epoch = 2
        let record = f.backward(input)
        XCTAssertEqual(c.theta.grad!.scalars, [0.2, 0.2 + 3])
        XCTAssertEqual(c.v.grad!.scalars, [0.4])
        XCTAssertEqual(record.weights, [0.2, 0.2])
    }

    // MARK: Configuration

    func testBalancingMethodCodableAndFactory() throws {
        let tasks = [TaskSpec(name: "ctr", kind: .binary, weight: 2), TaskSpec(name: "cvr", kind: .binary),
                     TaskSpec(name: "amount", kind: .continuous)]
        let methods: [BalancingMethod] = [.fixedWeights, .uncertaintyWeighting, .gradNormDefault, .pcGradDefault,
                                          .metaBalance(relaxFactor: 0.5, beta: 0.8, strategy: .reduceOnly, targetTask: "cvr")]
        for method in methods {
            XCTAssertEqual(try JSONDecoder().decode(BalancingMethod.self, from: JSONEncoder().encode(method)), method)
        }
        XCTAssertEqual((methods[0].makeBalancer(tasks: tasks) as? FixedWeights)?.weights, [2, 1, 1])
        XCTAssertEqual((methods[1].makeBalancer(tasks: tasks) as? UncertaintyWeighting)?.isRegression, [false, false, true])
        XCTAssertEqual(methods[1].makeBalancer(tasks: tasks).trainableParameters.count, 3)
        XCTAssertEqual((methods[2].makeBalancer(tasks: tasks) as? GradNorm)?.currentWeights, [1, 1, 1])
        XCTAssertEqual((methods[3].makeBalancer(tasks: tasks) as? PCGrad)?.weights, [2, 1, 1])
        let meta = try XCTUnwrap(methods[4].makeBalancer(tasks: tasks) as? MetaBalance)
        XCTAssertEqual(meta.targetTask, 1)
        XCTAssertEqual(meta.strategy, MetaBalance.Strategy.reduceOnly)
        XCTAssertEqual((BalancingMethod.metaBalanceDefault.makeBalancer(tasks: tasks) as? MetaBalance)?.targetTask, 2)
        XCTAssertEqual(methods.map(\.needsPerTaskGradients), [false, false, true, true, true])
    }

    // MARK: Resuming

    func testSavedStateResumesEveryMethodExactly() throws {
        let a: [[Float]] = [[1, 0.5], [-1, 1], [0.2, -0.7]]
        let makers: [() -> LossBalancer] = [
            { GradNorm(taskCount: 3) }, { MetaBalance(weights: [1, 1, 1]) }, { PCGrad(weights: [1, 1, 1], seed: 4) },
            { UncertaintyWeighting(isRegression: [true, false, false]) }, { FixedWeights(weights: [1, 2, 3]) },
        ]
        for make in makers {
            let original = make()
            for step in 0..<3 {
                let c = LinearCase()
                _ = original.backward(c.input(a.map { $0.map { $0 * Float(step + 1) } }, c: [1, 2, 3]))
                SGD(learningRate: 0.1).step(original.trainableParameters)
            }
            let saved = try JSONDecoder().decode(BalancerState.self, from: JSONEncoder().encode(original.state))
            let resumed = make()
            try resumed.restore(saved)
            XCTAssertEqual(resumed.state, original.state, "\(type(of: original))")
            let (c1, c2) = (LinearCase(), LinearCase())
            let r1 = original.backward(c1.input(a, c: [1, 2, 3])), r2 = resumed.backward(c2.input(a, c: [1, 2, 3]))
            XCTAssertEqual(c1.theta.grad!.scalars, c2.theta.grad!.scalars, "\(type(of: original))")
            XCTAssertEqual(r1.weights, r2.weights, "\(type(of: original))")
            XCTAssertEqual(resumed.state, original.state, "\(type(of: original)) after one more step")
        }
        XCTAssertThrowsError(try GradNorm(taskCount: 2).restore(GradNorm(taskCount: 3).state)) {
            XCTAssertEqual($0 as? BalancerStateError, .wrongCount("weights", expected: 2, found: 3))
        }
    }
}
