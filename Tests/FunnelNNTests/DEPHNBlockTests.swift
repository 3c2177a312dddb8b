import Foundation
import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// DEPHN's small pieces: explicit mappings, trainable-value gates, the column expansion that applies a gate to a
/// stream, and the LeakyReLU MLP of its experts.
final class DEPHNBlockTests: XCTestCase {
    func testMappingSets() {
        XCTAssertEqual(MappingSet.rmTm.mappings, [.raw, .sine])
        XCTAssertEqual(MappingSet.rm.mappings, [.raw])
        XCTAssertEqual(MappingSet.tm.mappings, [.sine])
        XCTAssertEqual(MappingSet.rmSinCos.mappings, [.raw, .sine, .cosine])
        let o = Variable(Tensor(shape: [1, 3], values: [0, Float.pi / 2, 1]))
        XCTAssertEqual(ExplicitMapping.raw(o).value.scalars, o.value.scalars)
        let sine = ExplicitMapping.sine(o).value.scalars, cosine = ExplicitMapping.cosine(o).value.scalars
        for (i, x) in o.value.scalars.enumerated() {
            XCTAssertEqual(sine[i], Foundation.sin(x), accuracy: 1e-6)
            XCTAssertEqual(cosine[i], Foundation.cos(x), accuracy: 1e-6)
        }
    }

    func testTrainableValueGatesRawAndSoftmax() {
        let raw = TrainableValueGate(experts: 3, mappings: 2, name: "gates.0")
        XCTAssertEqual(raw.parameters.map(\.name), ["gates.0"])
        XCTAssertEqual(raw.weight.value.shape, [3, 2])
        XCTAssertTrue(raw.values.scalars.allSatisfy { $0 == 1 }, "initialised to 1, unnormalised")
        XCTAssertEqual(raw(.inference()).shape, [1, 6])
        let normalised = TrainableValueGate(experts: 2, mappings: 2, normalization: .softmax, name: "gates.1")
        normalised.weight.value = Tensor(shape: [2, 2], values: [0, 0, Foundation.log(2), 0])
        XCTAssertEqual(normalised.values.scalars.map { Double($0) }, [0.2, 0.2, 0.4, 0.2].map { $0 }, accuracy: 1e-6)
    }

    func testRepeatingColumnsScalesWholeStreams() {
        let gates = Variable(Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        let expanded = repeatingColumns(gates, widths: [2, 1, 3]).value
        XCTAssertEqual(expanded.shape, [2, 6])
        XCTAssertEqual(expanded.scalars, [1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6])
        // The backward sums each stream's block: checked against finite differences through a product with streams.
        var rng = SeededGenerator(seed: 3)
        let streams = Tensor(shape: [2, 6], values: (0..<12).map { _ in Float(rng.nextNormal()) })
        let values = Tensor(shape: [2, 3], values: [0.5, -1, 2, 1.5, 0.25, -0.75])
        GradientCheck.assert([values, streams], parameters: [], "repeatingColumns") { _, inputs in
            inputs[1] * repeatingColumns(inputs[0], widths: [2, 1, 3])
        }
    }

    func testLeakyMLPShapesNamesAndGradients() {
        var rng = SeededGenerator(seed: 4)
        let mlp = LeakyMLP(inputWidth: 5, hiddenWidths: [4, 3], slope: 0.1, outputLayer: true, name: "towers.0", using: &rng)
        XCTAssertEqual(mlp.parameters.map(\.name), ["towers.0.linears.0.weight", "towers.0.linears.0.bias", "towers.0.linears.1.weight",
                                                    "towers.0.linears.1.bias", "towers.0.output.weight", "towers.0.output.bias"])
        let x = Tensor(shape: [3, 5], values: (0..<15).map { _ in Float(rng.nextNormal()) })
        XCTAssertEqual(mlp(Variable(x), .inference()).shape, [3])
        // The negative branch is active somewhere (so the slope is exercised).
        let hidden = LeakyMLP(inputWidth: 5, hiddenWidths: [4], name: "h", using: &rng)
        let linear = hidden.linears[0](Variable(x), .inference()).value
        XCTAssertTrue(linear.scalars.contains { $0 < 0 } && linear.scalars.contains { $0 > 0 })
        XCTAssertEqual(hidden(Variable(x), .inference()).value.scalars, linear.scalars.map { $0 < 0 ? $0 * 0.01 : $0 })
        // A step of 1e-4 moves a pre-activation by at most ~1e-3 here (h·|x| with |x| ≲ 5), below the smallest
        // |pre-activation| (checked ≥ 5e-3), so no difference straddles the kink; the Float32 noise of the difference,
        // ~Σ|y|·1e-7/h ≈ 3e-3, stays below the tolerance.
        // The output weights are scaled up so that every input carries a clear gradient.
        let wide = x.map({ $0 * 2 }, { $0 * 2 })
        mlp.output!.weight.value = mlp.output!.weight.value.scaled(by: 4)
        var pre = Variable(wide), smallest = Float.infinity
        for linear in mlp.linears {
            let z = linear(pre, .inference())
            smallest = min(smallest, z.value.scalars.map(abs).min()!)
            pre = z.leakyRelu(slope: 0.1)
        }
        XCTAssertGreaterThan(smallest, 5e-3, "a pre-activation too close to the kink for the step")
        GradientCheck.assert([wide], parameters: mlp.parameters, relativeStep: 1e-4, "LeakyMLP") { tape, inputs in
            mlp(inputs[0], ForwardContext(tape: tape, mode: .training))
        }
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
