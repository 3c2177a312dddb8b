import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// The tape's contract: repeated gradient queries, zeros for unreached parameters, stop-gradient, inference
/// mode, accumulation into `Parameter.grad`, row-sparse gradients, and buffer recycling.
final class TapeTests: XCTestCase {
    private let xValue = GradientCheck.tensor([3, 4], seed: 201, bound: 2)
    private let wValue = GradientCheck.tensor([4, 2], seed: 202, bound: 2)

    func testSeveralLossesFromOneForwardPass() {
        let w = Parameter(name: "w", value: wValue)
        let tape = Tape()
        let vw = tape.watch(w)
        let hidden = Variable.matmul(Variable(xValue), vw)          // [3, 2]
        let loss1 = hidden.sum()                                     // dL1/dW[p, j] = Σ_i x[i, p]
        let loss2 = (vw.squared() * 0.5).sum() + hidden.mean() * 2   // dL2/dW = W + 2/6 · Σ_i x[i, p]
        var columnSums = [Float](repeating: 0, count: 4)
        for i in 0..<3 { for p in 0..<4 { columnSums[p] += xValue.pointer[i * 4 + p] } }

        let g1 = tape.gradients(of: loss1, wrt: [w])[0]
        let g2 = tape.gradients(of: loss2, wrt: [w])[0]
        let g1Again = tape.gradients(of: loss1, wrt: [w])[0]
        for p in 0..<4 {
            for j in 0..<2 {
                XCTAssertEqual(g1.pointer[p * 2 + j], columnSums[p], accuracy: 1e-5)
                XCTAssertEqual(g2.pointer[p * 2 + j], wValue.pointer[p * 2 + j] + columnSums[p] / 3, accuracy: 1e-5)
            }
        }
        XCTAssertEqual(g1Again.scalars, g1.scalars, "asking twice gives identical results")
        XCTAssertEqual(tape.gradients(of: loss2, wrt: [w])[0].scalars, g2.scalars)
        XCTAssertNil(w.grad, "gradients(of:) must not touch Parameter.grad")
    }

    func testWatchingTwiceIsTheSameNode() {
        let w = Parameter(name: "w", value: wValue)
        let tape = Tape()
        let a = tape.watch(w), b = tape.watch(w)
        XCTAssertEqual(a.node, b.node)
        XCTAssertEqual(tape.watchedParameters.count, 1)
        // Both uses contribute: d/dW Σ (W + W) = 2.
        let g = tape.gradients(of: (a + b).sum(), wrt: [w])[0]
        XCTAssertEqual(g.scalars, [Float](repeating: 2, count: 8))
    }

    func testUnreachedParameterGetsZeros() {
        let used = Parameter(name: "used", value: wValue)
        let unused = Parameter(name: "unused", value: GradientCheck.tensor([5, 3], seed: 203))
        let unwatched = Parameter(name: "unwatched", value: GradientCheck.tensor([2], seed: 204))
        let tape = Tape()
        let vu = tape.watch(used)
        let vn = tape.watch(unused)
        _ = vn.sum()  // recorded, but not on the path to the loss
        let loss = vu.squared().sum()
        let grads = tape.gradients(of: loss, wrt: [unused, used, unwatched])
        XCTAssertEqual(grads[0].shape, [5, 3])
        XCTAssertEqual(grads[0].scalars, [Float](repeating: 0, count: 15))
        XCTAssertEqual(grads[1].scalars, wValue.scalars.map { 2 * $0 })
        XCTAssertEqual(grads[2].shape, [2])
        XCTAssertEqual(grads[2].scalars, [0, 0])
        // Variables: an untracked one or one from another tape also gets zeros.
        let other = Tape().variable(xValue)
        let vGrads = tape.gradients(of: loss, wrt: [Variable(xValue), other, vu])
        XCTAssertEqual(vGrads[0].scalars, [Float](repeating: 0, count: 12))
        XCTAssertEqual(vGrads[1].scalars, [Float](repeating: 0, count: 12))
        XCTAssertEqual(vGrads[2].scalars, grads[1].scalars)
    }

    func testDetachedStopsGradients() {
        let tape = Tape()
        let x = tape.variable(xValue)
        let d = x.detached()
        XCTAssertFalse(d.isTracked)
        XCTAssertEqual(d.value.scalars, xValue.scalars)
        // d/dx Σ sg(x)·x = sg(x) = x, not 2x.
        let g = tape.gradients(of: (d * x).sum(), wrt: [x])[0]
        XCTAssertEqual(g.scalars, xValue.scalars)
        // A loss built only from the detached value has no path back: zeros.
        let g0 = tape.gradients(of: (d.squared() + x.detached()).sum(), wrt: [x])[0]
        XCTAssertEqual(g0.scalars, [Float](repeating: 0, count: 12))
    }

    func testInferenceModeRecordsNothing() {
        let tape = Tape()
        let w = Parameter(name: "w", value: wValue)
        _ = tape.watch(w)
        let before = tape.nodeCount
        let x = Variable(xValue), weight = Variable(wValue)
        XCTAssertFalse(x.isTracked)
        let y = Variable.matmul(x, weight).relu().softmax()
        let loss = Variable.binaryCrossEntropy(logits: y, targets: Tensor(zeros: [3, 2]))
        let table = Variable.gatherRows(Variable(xValue), indices: [0, 2])
        let stats = Variable.batchNorm(x, scale: Variable(Tensor(repeating: 1, shape: [4])), shift: Variable(Tensor(zeros: [4])))
        for v in [y, loss, table, stats.output, x * 2, x + x, x.sum(alongAxis: 0), Variable.concat([x, x], alongAxis: 0)] {
            XCTAssertFalse(v.isTracked)
            XCTAssertNil(v.tape)
        }
        XCTAssertEqual(tape.nodeCount, before, "untracked operations must not touch any tape")
        // And asking a tape for the gradient of an untracked value yields zeros.
        XCTAssertEqual(tape.gradients(of: loss, wrt: [w])[0].scalars, [Float](repeating: 0, count: 8))
    }

    func testMixedTrackedAndUntrackedOperands() {
        let tape = Tape()
        let x = tape.variable(xValue)
        let c = Variable(GradientCheck.tensor([4], seed: 205, bound: 2))
        let y = x * c
        XCTAssertTrue(y.isTracked)
        XCTAssertTrue(y.tape === tape)
        let g = tape.gradients(of: y.sum(), wrt: [x])[0]
        for i in 0..<3 { for j in 0..<4 { XCTAssertEqual(g.pointer[i * 4 + j], c.value.pointer[j]) } }
    }

    func testBackwardAccumulatesIntoParameterGrad() {
        let w = Parameter(name: "w", value: wValue)
        func step() {
            let tape = Tape()
            let loss = Variable.matmul(Variable(xValue), tape.watch(w)).tanh().sum()
            tape.backward(loss)
        }
        step()
        let once = try! XCTUnwrap(w.grad).copy()
        XCTAssertTrue(once.scalars.contains { abs($0) > 0.01 })
        step()
        let twice = try! XCTUnwrap(w.grad)
        XCTAssertEqual(twice.scalars, once.scalars.map { $0 + $0 }, "a second backward adds the same gradient")
        w.zeroGradient()
        XCTAssertNil(w.grad)
        XCTAssertNil(w.gradientRows)
    }

    func testBackwardDoesNotAliasOtherTensors() {
        // backward accumulates in place when grad is uniquely owned: a gradient obtained earlier must not change.
        let w = Parameter(name: "w", value: wValue)
        let tape = Tape()
        let loss = tape.watch(w).sum()
        tape.backward(loss)
        let snapshot = try! XCTUnwrap(w.grad)
        let valuesBefore = snapshot.scalars
        tape.backward(loss)
        XCTAssertEqual(snapshot.scalars, valuesBefore)
        XCTAssertEqual(w.grad?.scalars, [Float](repeating: 2, count: 8))
    }

    // MARK: Row-sparse gradients

    private let tableValue = GradientCheck.tensor([8, 3], seed: 206, bound: 2)

    func testGradientRowsForLookupOnlyTable() {
        let table = Parameter(name: "table", value: tableValue)
        let tape = Tape()
        let t = tape.watch(table)
        let a = Variable.gatherRows(t, indices: [5, 2, 5, 0])
        let b = Variable.embeddingBag(t, indices: [2, 7], offsets: [0, 0, 2], pooling: .mean)
        tape.backward(a.sum() + b.squared().sum())
        XCTAssertEqual(table.gradientRows, [0, 2, 5, 7])
        // The gradient really is zero outside those rows.
        let grad = try! XCTUnwrap(table.grad)
        for r in [1, 3, 4, 6] { XCTAssertEqual(Array(grad.scalars[(r * 3)..<(r * 3 + 3)]), [0, 0, 0]) }
        for r in [0, 2, 5, 7] { XCTAssertTrue(grad.scalars[(r * 3)..<(r * 3 + 3)].contains { $0 != 0 }) }
    }

    func testGradientRowsMergeAcrossBackwardCalls() {
        let table = Parameter(name: "table", value: tableValue)
        for ids: [Int32] in [[6, 1], [3, 6]] {
            let tape = Tape()
            tape.backward(Variable.gatherRows(tape.watch(table), indices: ids).sum())
        }
        XCTAssertEqual(table.gradientRows, [1, 3, 6])
    }

    func testGradientRowsNilWhenTableAlsoUsedDensely() {
        let table = Parameter(name: "table", value: tableValue)
        let tape = Tape()
        let t = tape.watch(table)
        let lookup = Variable.gatherRows(t, indices: [1, 4])
        tape.backward(lookup.sum() + (t * 0.1).sum())
        XCTAssertNil(table.gradientRows)
        // Dense use first, lookup later: same answer.
        let table2 = Parameter(name: "table2", value: tableValue)
        let tape2 = Tape()
        let t2 = tape2.watch(table2)
        let dense = t2.mean()
        tape2.backward(dense + Variable.gatherRows(t2, indices: [3]).sum())
        XCTAssertNil(table2.gradientRows)
        XCTAssertEqual(table2.grad?.shape, [8, 3])
    }

    func testGradientRowsClearedWhenLaterStepIsDense() {
        let table = Parameter(name: "table", value: tableValue)
        let sparse = Tape()
        sparse.backward(Variable.gatherRows(sparse.watch(table), indices: [2]).sum())
        XCTAssertEqual(table.gradientRows, [2])
        let dense = Tape()
        dense.backward(dense.watch(table).sum())
        XCTAssertNil(table.gradientRows, "the accumulated gradient is now dense")
        let sparseAgain = Tape()
        sparseAgain.backward(Variable.gatherRows(sparseAgain.watch(table), indices: [4]).sum())
        XCTAssertNil(table.gradientRows, "still dense until the gradient is reset")
    }

    // MARK: Memory

    /// One training step of a small MLP (two linear layers, BCE), with an SGD update. Everything the step
    /// allocates is released when it returns.
    private func trainingStep(_ parameters: [Parameter], input: Tensor, targets: Tensor) -> (cachedDuring: Int, loss: Float) {
        let tape = Tape()
        let w1 = tape.watch(parameters[0]), b1 = tape.watch(parameters[1])
        let w2 = tape.watch(parameters[2]), b2 = tape.watch(parameters[3])
        let hidden = Variable.linear(Variable(input), weight: w1, bias: b1, activation: .relu)
        let logits = Variable.linear(hidden, weight: w2, bias: b2)
        let loss = Variable.binaryCrossEntropy(logits: logits, targets: targets)
        tape.backward(loss)
        for p in parameters {
            p.value = p.value - p.grad!.scaled(by: 0.1)
            p.zeroGradient()
        }
        // Measured while the tape (and every tensor its backward closures hold) is certainly still alive.
        return withExtendedLifetime(tape) { (BufferPool.shared.cachedBytes, loss.value.scalar) }
    }

    func testTapeIsFreedWithItsStep() {
        // Backward closures of every kind of op must not keep the tape (and so the whole graph) alive.
        weak var weakTape: Tape?
        do {
            let tape = Tape()
            weakTape = tape
            let table = Parameter(name: "table", value: tableValue)
            let t = tape.watch(table)
            let x = tape.variable(GradientCheck.tensor([4, 3], seed: 207))
            let gamma = tape.variable(Tensor(repeating: 1, shape: [3])), beta = tape.variable(Tensor(zeros: [3]))
            var h = Variable.batchNorm(x, scale: gamma, shift: beta).output
            h = Variable.layerNorm(h, scale: gamma, shift: beta) + Variable.gatherRows(t, indices: [0, 1, 2, 3])
            h = Variable.concat(h.split(sizes: [1, 2], alongAxis: 1), alongAxis: 1).softmax() * x
            h = Variable.embeddingBag(t, indices: [1], offsets: [0, 1], pooling: .sum) + h.sum(alongAxis: 0, keepingAxis: true)
            tape.backward(h.sum())
            XCTAssertNotNil(table.grad)
        }
        XCTAssertNil(weakTape, "the tape must be deallocated once the step's variables are gone")
    }

    func testStepReachesSteadyStatePoolFootprint() {
        var rng = SeededGenerator(seed: 3)
        let parameters = [
            Parameter(name: "w1", value: Tensor.normal([16, 8], std: 0.3, using: &rng)),
            Parameter(name: "b1", value: Tensor(zeros: [16])),
            Parameter(name: "w2", value: Tensor.normal([1, 16], std: 0.3, using: &rng)),
            Parameter(name: "b2", value: Tensor(zeros: [1])),
        ]
        let input = Tensor.normal([32, 8], using: &rng)
        let targets = Tensor(shape: [32, 1], values: (0..<32).map { Float($0 % 2) })
        var reserved: [Int] = []
        var losses: [Float] = []
        for _ in 1...10 {
            let (cachedDuring, loss) = trainingStep(parameters, input: input, targets: targets)
            losses.append(loss)
            // Once the step's tape and temporaries are gone, their buffers are back in the free lists.
            XCTAssertGreaterThan(BufferPool.shared.cachedBytes, cachedDuring)
            reserved.append(BufferPool.shared.reservedBytes)
        }
        XCTAssertEqual(reserved[4], reserved[9], "steady state: step 10 must map no more memory than step 5")
        XCTAssertLessThan(losses[9], losses[0], "the steps actually train")
    }
}
