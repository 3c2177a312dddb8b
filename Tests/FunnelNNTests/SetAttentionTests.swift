import XCTest
import FunnelCore
import FunnelNN
import FunnelTestSupport

/// Set attention blocks: finite-difference gradients through every input and parameter, permutation behaviour,
/// and the stacked transformer.
///
/// The MAB checks use a step of 1e-3 instead of the default 1e-2: the feed-forward ReLU sees tokens × hidden
/// pre-activations, some of them within 1e-2 of zero, and a central difference of that width straddles the kink
/// (with h = 1e-2 exactly the `feedforward.0` weights and biases — the ReLU's inputs — disagreed, by up to 25 %).
/// With h = 1e-3 the Float32 noise term (~1e-7 / h · Σ|s·y| ≲ 1e-3 here) stays well below the 1e-2 tolerance.
final class SetAttentionTests: XCTestCase {
    private func tensor(_ shape: [Int], seed: UInt64, bound: Float = 1) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return .uniform(shape, in: -bound...bound, using: &rng)
    }

    private func context(_ tape: Tape?) -> ForwardContext { ForwardContext(tape: tape, mode: .evaluation) }

    /// Non-trivial LayerNorm affine parameters, so their gradients and effects are not the identity's.
    private func perturbNorms(_ parameters: [Parameter], seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for p in parameters where p.name.contains("norm") {
            let base: Float = p.name.hasSuffix("weight") ? 1 : 0
            p.value = Tensor(shape: p.value.shape, values: (0..<p.count).map { _ in base + 0.3 * (rng.nextUnitFloat() - 0.5) })
        }
    }

    func testSetAttentionBlockGradients() {
        var rng = SeededGenerator(seed: 1)
        let block = SetAttentionBlock(width: 4, heads: 2, feedForwardWidth: 8, name: "mab", using: &rng)
        perturbNorms(block.parameters, seed: 2)
        XCTAssertEqual(block.parameters.map(\.name), [
            "mab.query.weight", "mab.key.weight", "mab.value.weight", "mab.output.weight", "mab.norm1.weight", "mab.norm1.bias",
            "mab.feedforward.0.weight", "mab.feedforward.0.bias", "mab.feedforward.1.weight", "mab.feedforward.1.bias",
            "mab.norm2.weight", "mab.norm2.bias",
        ])
        let x = tensor([2, 3, 4], seed: 3, bound: 1.5), y = tensor([2, 5, 4], seed: 4, bound: 1.5)
        GradientCheck.assert([x, y], parameters: block.parameters, relativeStep: 1e-3, "MAB(X, Y)") { tape, v in
            block(v[0], v[1], self.context(tape)).output
        }
    }

    func testInducedSetAttentionGradients() {
        var rng = SeededGenerator(seed: 5)
        let isab = InducedSetAttention(width: 4, heads: 2, inducingPoints: 3, feedForwardWidth: 8, name: "isab", using: &rng)
        perturbNorms(isab.parameters, seed: 6)
        XCTAssertEqual(isab.inducingPoints.name, "isab.inducing_points")
        XCTAssertEqual(isab.inducingPoints.value.shape, [3, 4])
        let x = tensor([2, 5, 4], seed: 7, bound: 1.5)
        GradientCheck.assert([x], parameters: isab.parameters, relativeStep: 1e-3, "ISAB") { tape, v in
            isab(v[0], self.context(tape)).output
        }
    }

    func testInducedSetAttentionIsPermutationEquivariantAndGroupsSumToOne() {
        var rng = SeededGenerator(seed: 8)
        let isab = InducedSetAttention(width: 8, heads: 2, inducingPoints: 4, feedForwardWidth: 16, name: "isab", using: &rng)
        let x = tensor([3, 6, 8], seed: 9, bound: 2)
        let permutation = [4, 2, 5, 0, 1, 3]
        let permuted = Tensor(uninitialized: x.shape)
        for b in 0..<3 {
            for (f, source) in permutation.enumerated() {
                for k in 0..<8 { permuted.pointer[(b * 6 + f) * 8 + k] = x.pointer[(b * 6 + source) * 8 + k] }
            }
        }
        let (out, _, groups) = isab(Variable(x), .inference())
        let (outPermuted, _, groupsPermuted) = isab(Variable(permuted), .inference())
        for b in 0..<3 {
            for (f, source) in permutation.enumerated() {
                for k in 0..<8 {
                    XCTAssertEqual(outPermuted.value.pointer[(b * 6 + f) * 8 + k], out.value.pointer[(b * 6 + source) * 8 + k], accuracy: 1e-5)
                }
            }
        }
        XCTAssertEqual(groups.shape, [3, 2, 4, 6])
        for row in 0..<(3 * 2 * 4) {
            let weights = (0..<6).map { groups.pointer[row * 6 + $0] }
            XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-5)
            // The group attention follows the fields: permuted attention = attention at the source positions.
            for (f, source) in permutation.enumerated() {
                XCTAssertEqual(groupsPermuted.pointer[row * 6 + f], weights[source], accuracy: 1e-6)
            }
        }
    }

    func testTransformerStacksBlocksAndPlacesSE() {
        var rng = SeededGenerator(seed: 10)
        let options = DeepAutoGroupTransformer.Options(layers: 2, attention: .isab, inducingPoints: 2, heads: 2)
        let dgt = DeepAutoGroupTransformer(fields: 5, width: 4, options: options, name: "dgt", using: &rng)
        XCTAssertEqual(dgt.blocks.count, 2)
        XCTAssertTrue(dgt.parameters.contains { $0.name == "dgt.blocks.1.attention.to_fields.norm2.bias" })
        XCTAssertTrue(dgt.parameters.contains { $0.name == "dgt.blocks.0.se.expand.weight" })
        let x = tensor([3, 5, 4], seed: 11, bound: 1.5)
        let result = dgt(Variable(x), .inference())
        XCTAssertEqual(result.output.shape, [3, 5, 4])
        XCTAssertEqual(result.fieldWeights.count, 2)
        XCTAssertEqual(result.groupAttention.count, 2)
        GradientCheck.assert([x], parameters: [], "DGT wrt input") { tape, v in dgt(v[0], self.context(tape)).output }

        // Same parameters, SE moved before attention: a different function.
        var before = options
        before.sePlacement = .beforeAttention
        var rng2 = SeededGenerator(seed: 10)
        let dgtBefore = DeepAutoGroupTransformer(fields: 5, width: 4, options: before, name: "dgt", using: &rng2)
        XCTAssertEqual(dgtBefore.parameters.map(\.value.scalars), dgt.parameters.map(\.value.scalars))
        let other = dgtBefore(Variable(x), .inference()).output.value
        XCTAssertGreaterThan(zip(other.scalars, result.output.value.scalars).map { abs($0 - $1) }.max()!, 1e-3)

        // No attention, no SE: the identity.
        var rng3 = SeededGenerator(seed: 12)
        let empty = DeepAutoGroupTransformer(fields: 5, width: 4, options: .init(attention: .none, squeezeExcitation: false),
                                             name: "dgt", using: &rng3)
        XCTAssertTrue(empty.parameters.isEmpty)
        XCTAssertEqual(empty(Variable(x), .inference()).output.value.scalars, x.scalars)
    }

    func testFullSetAttentionBlockIsUsedForSAB() {
        var rng = SeededGenerator(seed: 13)
        let dgt = DeepAutoGroupTransformer(fields: 4, width: 4, options: .init(layers: 1, attention: .sab, squeezeExcitation: false),
                                           name: "dgt", using: &rng)
        XCTAssertTrue(dgt.parameters.contains { $0.name == "dgt.blocks.0.attention.query.weight" })
        let x = tensor([2, 4, 4], seed: 14, bound: 1.5)
        let result = dgt(Variable(x), .inference())
        XCTAssertTrue(result.groupAttention.isEmpty && result.fieldWeights.isEmpty)
        guard case .full(let block)? = dgt.blocks[0].attention else { return XCTFail("expected a full MAB") }
        XCTAssertEqual(result.output.value.scalars, block(Variable(x), Variable(x), .inference()).output.value.scalars)
    }
}
