import Foundation
import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// Field-wise Squeeze-and-Excitation: hand-computed values, gradients, activation switch.
final class SqueezeExcitationTests: XCTestCase {
    func testValuesMatchHandComputation() {
        var rng = SeededGenerator(seed: 1)
        let se = SqueezeExcitation(fields: 4, reduction: 3, name: "se", using: &rng)
        XCTAssertEqual(se.reduce.weight.value.shape, [2, 4], "F_r = ceil(4 / 3) = 2")
        XCTAssertEqual(se.expand.weight.value.shape, [4, 2])
        se.reduce.weight.value = Tensor(shape: [2, 4], values: [1, 0, 0, 0, 0, 1, -1, 0])
        se.reduce.bias!.value = Tensor(shape: [2], values: [0, 0.5])
        se.expand.weight.value = Tensor(shape: [4, 2], values: [1, 0, 0, 1, 1, 1, -1, 0])
        se.expand.bias!.value = Tensor(shape: [4], values: [0, 0, 0, 1])
        // One row, fields with means 1, 2, 3, -1 (d = 2).
        let x = Tensor(shape: [1, 4, 2], values: [0, 2, 1, 3, 3, 3, -2, 0])
        let (y, a) = se(Variable(x), .inference())
        // s = [1, 2, 3, -1]; hidden = relu([1, 2 − 3 + 0.5]) = [1, 0]; excitation = [1, 0, 1, 0] → σ.
        let sigmoid = { (v: Float) in 1 / (1 + Foundation.exp(-v)) }
        let expected: [Float] = [sigmoid(1), sigmoid(0), sigmoid(1), sigmoid(0)]
        for f in 0..<4 {
            XCTAssertEqual(a.value.pointer[f], expected[f], accuracy: 1e-6)
            for k in 0..<2 { XCTAssertEqual(y.value.pointer[f * 2 + k], expected[f] * x.pointer[f * 2 + k], accuracy: 1e-6) }
        }
    }

    func testGradients() {
        for activation in [SqueezeExcitation.Activation.sigmoid, .relu] {
            var rng = SeededGenerator(seed: 2)
            let se = SqueezeExcitation(fields: 5, reduction: 2, activation: activation, name: "se", using: &rng)
            if activation == .relu {  // keep the excitation pre-activations positive, away from ReLU's kink
                se.expand.bias!.value = Tensor(repeating: 1, shape: [5])
            }
            var data = SeededGenerator(seed: 3)
            let x = Tensor.uniform([3, 5, 4], in: -1.5...1.5, using: &data)
            GradientCheck.assert([x], parameters: se.parameters, "SE \(activation)") { tape, v in
                se(v[0], ForwardContext(tape: tape, mode: .evaluation)).output
            }
        }
    }

    func testSigmoidWeightsAreInUnitInterval() {
        var rng = SeededGenerator(seed: 4)
        let se = SqueezeExcitation(fields: 6, name: "se", using: &rng)
        let x = Tensor.uniform([8, 6, 3], in: -3...3, using: &rng)
        let a = se(Variable(x), .inference()).weights.value
        XCTAssertEqual(a.shape, [8, 6])
        XCTAssertTrue(a.scalars.allSatisfy { $0 > 0 && $0 < 1 })
        XCTAssertGreaterThan(Set(a.scalars).count, 6, "weights depend on the sample")
    }
}
