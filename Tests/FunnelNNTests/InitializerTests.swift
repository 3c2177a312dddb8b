import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelNN

/// Initialiser statistics. Every draw comes from a fixed seed, so these tests are deterministic; the tolerances
/// are nevertheless derived from the sample size, at 5 standard errors (a correct initialiser would fail one
/// check with probability ~6e-7 for a random seed), so they detect a wrong bound or distribution rather than
/// a particular stream.
///
/// For U(−b, b): mean 0, variance b²/3, E[x⁴] = b⁴/5, so
/// SE(sample mean) = b / √(3n) and SE(sample variance) ≈ √((b⁴/5 − b⁴/9) / n) = b² · √(4/45) / √n.
/// For N(μ, σ²): SE(sample mean) = σ / √n and SE(sample std) ≈ σ / √(2n).
final class InitializerTests: XCTestCase {
    private static let sigmas = 5.0

    private struct Moments {
        let n: Int, mean: Double, variance: Double, maxAbs: Double, minimum: Double, maximum: Double
        init(_ t: Tensor) {
            let values = t.scalars.map(Double.init)
            n = values.count
            let mean = values.reduce(0, +) / Double(n)
            self.mean = mean
            variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
            maxAbs = values.map(abs).max() ?? 0
            minimum = values.min() ?? 0
            maximum = values.max() ?? 0
        }
    }

    /// Range, mean and variance of a supposed U(−bound, bound) sample.
    private func assertUniform(_ t: Tensor, bound: Double, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let m = Moments(t)
        XCTAssertLessThanOrEqual(m.maxAbs, bound, "\(label): value outside ±\(bound)", file: file, line: line)
        // The range must also be used: P(all n draws inside ±0.99·b) = 0.99ⁿ, negligible for n ≥ 4000.
        XCTAssertGreaterThan(m.maximum, 0.99 * bound, "\(label): largest value far below the bound", file: file, line: line)
        XCTAssertLessThan(m.minimum, -0.99 * bound, "\(label): smallest value far above −bound", file: file, line: line)
        let n = Double(m.n)
        let meanSE = bound / (3 * n).squareRoot()
        XCTAssertEqual(m.mean, 0, accuracy: Self.sigmas * meanSE, "\(label): mean", file: file, line: line)
        let variance = bound * bound / 3, varianceSE = bound * bound * (4.0 / 45).squareRoot() / n.squareRoot()
        XCTAssertEqual(m.variance, variance, accuracy: Self.sigmas * varianceSE, "\(label): variance", file: file, line: line)
    }

    func testLinearDefaultIsPyTorchKaimingUniformAndBiasUniform() {
        var rng = SeededGenerator(seed: 11)
        // fanIn 16: b = 1/√16 = 0.25 for both the weight (Kaiming-uniform with a = √5) and the bias.
        let layer = Linear(16, 16_384, name: "layer", using: &rng)
        XCTAssertEqual(layer.weight.name, "layer.weight")
        XCTAssertEqual(layer.bias?.name, "layer.bias")
        XCTAssertEqual(layer.weight.value.shape, [16_384, 16])
        XCTAssertEqual(layer.bias?.value.shape, [16_384])
        assertUniform(layer.weight.value, bound: 0.25, "weight, fanIn 16")
        assertUniform(layer.bias!.value, bound: 0.25, "bias, fanIn 16")

        // Another fan-in, so a bound that ignores it would be caught: b = 1/√400 = 0.05.
        let wide = Linear(400, 64, name: "wide", using: &rng)
        assertUniform(wide.weight.value, bound: 0.05, "weight, fanIn 400")
        XCTAssertLessThanOrEqual(Moments(wide.bias!.value).maxAbs, 0.05, "bias, fanIn 400")

        let gain = (2 / (1 + 5.0)).squareRoot()  // a = √5
        XCTAssertEqual(gain * (3 / 400.0).squareRoot(), 0.05, accuracy: 1e-12, "Kaiming a = √5 is 1/√fanIn")
    }

    func testXavierUniformBound() {
        var rng = SeededGenerator(seed: 12)
        let (fanIn, fanOut) = (300, 200)
        let t = Initializer.xavierUniform(gain: 1).make([fanOut, fanIn], fanIn: fanIn, fanOut: fanOut, using: &rng)
        assertUniform(t, bound: (6.0 / Double(fanIn + fanOut)).squareRoot(), "xavierUniform(gain 1)")
        let doubled = Initializer.xavierUniform(gain: 2).make([fanOut, fanIn], fanIn: fanIn, fanOut: fanOut, using: &rng)
        assertUniform(doubled, bound: 2 * (6.0 / Double(fanIn + fanOut)).squareRoot(), "xavierUniform(gain 2)")

        // The embedding table is Xavier over the whole [Σ V, d] table (PyTorch: fan_in = d, fan_out = Σ V; the
        // sum is the same). Here Σ V = 5000, d = 4: b = √(6 / 5004).
        let embedding = FieldEmbedding(vocabularySizes: [2000, 3000], width: 4, numericFeatures: 0, using: &rng)
        XCTAssertEqual(embedding.table.name, "embedding.weight")
        assertUniform(embedding.table.value, bound: (6.0 / 5004).squareRoot(), "embedding table")
    }

    func testNormalMeanAndStandardDeviation() {
        var rng = SeededGenerator(seed: 13)
        let (mean, std) = (0.5, 2.0)
        let t = Initializer.normal(mean: Float(mean), std: Float(std)).make([100_000], fanIn: 1, fanOut: 1, using: &rng)
        let m = Moments(t)
        let n = Double(m.n)
        XCTAssertEqual(m.mean, mean, accuracy: Self.sigmas * std / n.squareRoot(), "mean")
        XCTAssertEqual(m.variance.squareRoot(), std, accuracy: Self.sigmas * std / (2 * n).squareRoot(), "std")
        // Shape: the fraction within one σ of the mean is 0.6827 for a normal, SE = √(p(1−p)/n).
        let inside = Double(t.scalars.filter { abs(Double($0) - mean) < std }.count) / n
        XCTAssertEqual(inside, 0.682689, accuracy: Self.sigmas * (0.682689 * 0.317311 / n).squareRoot(), "mass within 1σ")

        XCTAssertEqual(Initializer.constant(0.25).make([3, 2], fanIn: 2, fanOut: 3, using: &rng).scalars, [Float](repeating: 0.25, count: 6))
    }

    func testSameSeedIsBitIdenticalAndDifferentSeedsDiffer() {
        func build(_ seed: UInt64) -> [Tensor] {
            var rng = SeededGenerator(seed: seed)
            let mlp = MLP(inputWidth: 12, hiddenWidths: [16, 8], outputLayer: true, name: "m", using: &rng)
            let normal = Initializer.normal(mean: 0, std: 1).make([64], fanIn: 1, fanOut: 1, using: &rng)
            let xavier = Initializer.xavierUniform(gain: 1).make([8, 8], fanIn: 8, fanOut: 8, using: &rng)
            return mlp.parameters.map(\.value) + [normal, xavier]
        }
        let a = build(42), b = build(42), c = build(43)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertTrue(bitIdentical(x, y), "same seed must give bit-identical tensors") }
        // Batch-norm γ/β are constants (1, 0); every randomly drawn tensor must change with the seed.
        var randomTensors = 0
        for (x, z) in zip(a, c) where !(x.scalars.allSatisfy { $0 == 1 } || x.scalars.allSatisfy { $0 == 0 }) {
            randomTensors += 1
            XCTAssertFalse(bitIdentical(x, z), "a different seed must give different tensors")
        }
        XCTAssertEqual(randomTensors, 8, "3 Linear weights + 3 biases + normal + xavier")

        // One generator feeding two layers gives two different layers (the stream advances).
        var rng = SeededGenerator(seed: 42)
        let first = Linear(8, 8, name: "a", using: &rng), second = Linear(8, 8, name: "b", using: &rng)
        XCTAssertFalse(bitIdentical(first.weight.value, second.weight.value))
    }
}
