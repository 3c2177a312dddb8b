import XCTest
@testable import FunnelCore
import FunnelTestSupport

/// Finite-difference checks of batchNorm and layerNorm with respect to the input, the scale and the shift.
final class NormalizationGradientTests: XCTestCase {
    private func batchNormInputs(seed: UInt64) -> (Tensor, Tensor, Tensor) {
        (GradientCheck.tensor([6, 4], seed: seed, bound: 2),
         GradientCheck.tensor([4], seed: seed + 1, bound: 1.5, margin: 0.5),
         GradientCheck.tensor([4], seed: seed + 2, bound: 1))
    }

    func testBatchNormIdentity() {
        let (x, gamma, beta) = batchNormInputs(seed: 111)
        GradientCheck.assert([x, gamma, beta]) {
            Variable.batchNorm($0[0], scale: $0[1], shift: $0[2]).output
        }
    }

    func testBatchNormIdentityCustomEpsilon() {
        // A large ε changes both the forward and the backward; they must stay consistent.
        let (x, gamma, beta) = batchNormInputs(seed: 121)
        GradientCheck.assert([x, gamma, beta]) {
            Variable.batchNorm($0[0], scale: $0[1], shift: $0[2], epsilon: 0.5).output
        }
    }

    func testBatchNormRelu() {
        // Perturbing one x moves every normalised value of its column by ≲ 0.05, so outputs are kept ≥ 0.15 from
        // the kink; the first seed giving such an input (with some outputs on each side) is used.
        for seed in UInt64(0)..<300 {
            let (x, gamma, beta) = batchNormInputs(seed: 1000 + 3 * seed)
            let pre = Variable.batchNorm(Variable(x), scale: Variable(gamma), shift: Variable(beta)).output.value.scalars
            let positives = pre.filter { $0 > 0 }.count
            guard pre.allSatisfy({ abs($0) >= 0.15 }), positives > 4, positives < pre.count - 4 else { continue }
            GradientCheck.assert([x, gamma, beta]) {
                Variable.batchNorm($0[0], scale: $0[1], shift: $0[2], activation: .relu).output
            }
            let fused = Variable.batchNorm(Variable(x), scale: Variable(gamma), shift: Variable(beta), activation: .relu)
            XCTAssertEqual(fused.output.value.scalars, pre.map { max($0, 0) })
            return
        }
        XCTFail("no relu-safe batch found")
    }

    func testBatchNormGradientOfSumOfOutputsVanishesForX() {
        // With identity activation, Σ y does not depend on x (each column is centred): dL/dx = 0 for a ones seed.
        let (x, gamma, beta) = batchNormInputs(seed: 131)
        let tape = Tape()
        let vx = tape.variable(x)
        let y = Variable.batchNorm(vx, scale: Variable(gamma), shift: Variable(beta)).output
        let g = tape.gradients(of: y, wrt: [vx])[0]
        XCTAssertTrue(g.scalars.allSatisfy { abs($0) < 1e-5 }, "\(g.scalars)")
    }

    func testLayerNormRank2() {
        let x = GradientCheck.tensor([3, 6], seed: 141, bound: 2)
        let gamma = GradientCheck.tensor([6], seed: 142, bound: 1.5, margin: 0.5)
        let beta = GradientCheck.tensor([6], seed: 143, bound: 1)
        GradientCheck.assert([x, gamma, beta]) { Variable.layerNorm($0[0], scale: $0[1], shift: $0[2]) }
    }

    func testLayerNormRank3() {
        let x = GradientCheck.tensor([2, 2, 5], seed: 144, bound: 2)
        let gamma = GradientCheck.tensor([5], seed: 145, bound: 1.5, margin: 0.5)
        let beta = GradientCheck.tensor([5], seed: 146, bound: 1)
        GradientCheck.assert([x, gamma, beta]) { Variable.layerNorm($0[0], scale: $0[1], shift: $0[2]) }
    }

    func testLayerNormLongRows() {
        // 19 features: SIMD body and scalar tail of the fused loops.
        let x = GradientCheck.tensor([2, 19], seed: 147, bound: 2)
        let gamma = GradientCheck.tensor([19], seed: 148, bound: 1.5, margin: 0.5)
        let beta = GradientCheck.tensor([19], seed: 149, bound: 1)
        GradientCheck.assert([x, gamma, beta]) { Variable.layerNorm($0[0], scale: $0[1], shift: $0[2]) }
    }

    func testLayerNormForward() {
        let x = Tensor(shape: [2, 4], values: [1, 2, 3, 4, -2, 0, 2, 8])
        let gamma = Tensor(shape: [4], values: [1, 2, 0.5, -1]), beta = Tensor(shape: [4], values: [0, 1, -1, 0.5])
        let y = Variable.layerNorm(Variable(x), scale: Variable(gamma), shift: Variable(beta), epsilon: 1e-5).value
        for r in 0..<2 {
            let row = (0..<4).map { Double(x.pointer[r * 4 + $0]) }
            let mean = row.reduce(0, +) / 4
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            for j in 0..<4 {
                let want = Double(gamma.pointer[j]) * (row[j] - mean) / (variance + 1e-5).squareRoot() + Double(beta.pointer[j])
                XCTAssertEqual(Double(y.pointer[r * 4 + j]), want, accuracy: 1e-5)
            }
        }
    }
}
