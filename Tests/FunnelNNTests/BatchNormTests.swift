import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelNN

/// `BatchNorm` semantics (PyTorch `BatchNorm1d`): training normalises with the batch mean and the biased batch
/// variance and updates `running = (1 − 0.1)·running + 0.1·batch` with the **unbiased** variance; evaluation
/// normalises with the running statistics and leaves them alone.
///
/// References are computed in Float64 from the same float32 inputs. Tolerance: 1e-5 relative with the default
/// parity floor `max(1e-6, 0.1·RMS)` of the reference (see `ParityComparison`); outputs here are O(1) and the
/// statistics O(0.1…10), so this is in effect a relative check everywhere except near cancellation.
final class BatchNormTests: XCTestCase {
    private let width = 5

    /// `[rows, width]` with column j centred near `j − 2` and spread growing with j, so columns differ.
    private func batch(_ rows: Int, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let noise = Tensor.normal([rows, width], using: &rng)
        var values = [Float]()
        for i in 0..<rows {
            for j in 0..<width { values.append(Float(j - 2) + Float(1 + j) * 0.5 * noise.pointer[i * width + j]) }
        }
        return Tensor(shape: [rows, width], values: values)
    }

    /// Column means and variances (biased and unbiased) in Float64.
    private func columnStatistics(_ x: Tensor) -> (mean: [Double], biased: [Double], unbiased: [Double]) {
        let rows = x.shape[0]
        var mean = [Double](repeating: 0, count: width), squares = [Double](repeating: 0, count: width)
        for i in 0..<rows { for j in 0..<width { mean[j] += Double(x.pointer[i * width + j]) / Double(rows) } }
        for i in 0..<rows {
            for j in 0..<width { let d = Double(x.pointer[i * width + j]) - mean[j]; squares[j] += d * d }
        }
        return (mean, squares.map { $0 / Double(rows) }, squares.map { $0 / Double(rows - 1) })
    }

    private func normalised(_ x: Tensor, mean: [Double], variance: [Double], gamma: Tensor, beta: Tensor, epsilon: Double) -> Tensor {
        let rows = x.shape[0]
        var out = [Float]()
        for i in 0..<rows {
            for j in 0..<width {
                let v = (Double(x.pointer[i * width + j]) - mean[j]) / (variance[j] + epsilon).squareRoot()
                out.append(Float(Double(gamma.pointer[j]) * v + Double(beta.pointer[j])))
            }
        }
        return Tensor(shape: x.shape, values: out)
    }

    private func makeNorm() -> BatchNorm {
        let norm = BatchNorm(width, name: "bn")
        XCTAssertEqual(norm.parameters.map(\.name), ["bn.weight", "bn.bias"])
        XCTAssertEqual(norm.buffers.map(\.name), ["bn.running_mean", "bn.running_var"])
        XCTAssertEqual(norm.scale.value.scalars, [Float](repeating: 1, count: width))
        XCTAssertEqual(norm.shift.value.scalars, [Float](repeating: 0, count: width))
        XCTAssertEqual(norm.runningMean.value.scalars, [Float](repeating: 0, count: width))
        XCTAssertEqual(norm.runningVariance.value.scalars, [Float](repeating: 1, count: width))
        XCTAssertEqual(norm.epsilon, 1e-5)
        XCTAssertEqual(norm.momentum, 0.1)
        norm.scale.value = Tensor(shape: [width], values: [1.2, 0.8, 1.0, 0.5, 2.0])
        norm.shift.value = Tensor(shape: [width], values: [0.1, -0.2, 0.0, 0.3, -0.4])
        return norm
    }

    func testRunningStatisticsAfterTwoTrainingBatches() {
        for (rows1, rows2) in [(16, 16), (12, 2)] {  // batch 2: the unbiased factor n/(n−1) is 2
            let norm = makeNorm()
            let x1 = batch(rows1, seed: 1), x2 = batch(rows2, seed: 2)
            let s1 = columnStatistics(x1), s2 = columnStatistics(x2)
            let tape = Tape()  // with a tape as in training; the statistics update does not depend on it
            _ = norm(tape.variable(x1), ForwardContext(tape: tape, mode: .training))
            let y2 = norm(Variable(x2), ForwardContext(tape: nil, mode: .training))

            var expectedMean = [Double](repeating: 0, count: width), expectedVariance = [Double](repeating: 1, count: width)
            for s in [s1, s2] {
                for j in 0..<width {
                    expectedMean[j] = 0.9 * expectedMean[j] + 0.1 * s.mean[j]
                    expectedVariance[j] = 0.9 * expectedVariance[j] + 0.1 * s.unbiased[j]
                }
            }
            let label = "batches \(rows1), \(rows2)"
            assertParity(norm.runningMean.value, Tensor(shape: [width], values: expectedMean.map { Float($0) }), "running_mean, \(label)")
            assertParity(norm.runningVariance.value, Tensor(shape: [width], values: expectedVariance.map { Float($0) }),
                         "running_var (unbiased), \(label)")

            // Using the biased variance for the running statistics would be off by a factor (n−1)/n in the update.
            let biasedVariance = (0..<width).map { j in 0.9 * (0.9 + 0.1 * s1.biased[j]) + 0.1 * s2.biased[j] }
            for j in 0..<width {
                XCTAssertGreaterThan(abs(Double(norm.runningVariance.value.pointer[j]) - biasedVariance[j]), 1e-4,
                                     "running_var must use the unbiased variance (\(label), column \(j))")
            }

            // The training output uses the batch statistics with the biased variance.
            let expected = normalised(x2, mean: s2.mean, variance: s2.biased, gamma: norm.scale.value, beta: norm.shift.value, epsilon: 1e-5)
            assertParity(y2.value, expected, "training output (biased batch variance), \(label)")
        }
    }

    func testEvaluationUsesRunningStatisticsAndLeavesThemAlone() {
        let norm = makeNorm()
        _ = norm(Variable(batch(16, seed: 3)), ForwardContext(tape: nil, mode: .training))
        let mean = norm.runningMean.value.copy(), variance = norm.runningVariance.value.copy()
        let x = batch(7, seed: 4)
        let y = norm(Variable(x), ForwardContext.inference())
        XCTAssertTrue(bitIdentical(norm.runningMean.value, mean), "evaluation must not update running_mean")
        XCTAssertTrue(bitIdentical(norm.runningVariance.value, variance), "evaluation must not update running_var")
        let expected = normalised(x, mean: mean.scalars.map(Double.init), variance: variance.scalars.map(Double.init),
                                  gamma: norm.scale.value, beta: norm.shift.value, epsilon: 1e-5)
        assertParity(y.value, expected, "evaluation output")

        // Fused ReLU in evaluation mode.
        let relu = norm(Variable(x), ForwardContext.inference(), activation: .relu)
        assertParity(relu.value, Tensor(shape: expected.shape, values: expected.scalars.map { max($0, 0) }), "evaluation output + ReLU")
    }
}
