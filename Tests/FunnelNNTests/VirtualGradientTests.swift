import Foundation
import XCTest
import FunnelCore
import FunnelNN

/// DEPHN's virtual gradient coefficient (dephn.md §5): label similarity and its edge cases, the eight candidate
/// functions, and the product over task pairs with its policies.
final class VirtualGradientTests: XCTestCase {
    // MARK: Similarity

    func testPearsonOfBinaryLabelsIsThePhiCoefficient() throws {
        // n11 = 2, n10 = 1, n01 = 0, n00 = 2: phi = (2·2 − 1·0) / √(3·2·2·3) = 2/3.
        let a: [Float] = [1, 0, 1, 0, 1], b: [Float] = [1, 0, 0, 0, 1]
        XCTAssertEqual(try XCTUnwrap(LabelSimilarity.pearson(a, b)), 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(LabelSimilarity.pearson(b, a)), 2.0 / 3.0, accuracy: 1e-12, "symmetric")
        XCTAssertEqual(try XCTUnwrap(LabelSimilarity.pearson(a, a.map { 1 - $0 })), -1, accuracy: 1e-12)
    }

    func testPearsonOfContinuousLabelsAgainstAReferenceValue() throws {
        // numpy.corrcoef([1, 2, 3, 4], [2, 1, 4, 3])[0, 1] = 0.6
        XCTAssertEqual(try XCTUnwrap(LabelSimilarity.pearsonCorrelation([1, 2, 3, 4], [2, 1, 4, 3])), 0.6, accuracy: 1e-12)
        // Invariant to affine maps of either vector.
        XCTAssertEqual(try XCTUnwrap(LabelSimilarity.pearsonCorrelation([1, 2, 3, 4], [12, 2, 32, 22])), 0.6, accuracy: 1e-12)
    }

    func testPearsonEdgeCases() {
        // All-equal: two tasks with identical (non-constant) labels are perfectly correlated.
        XCTAssertEqual(LabelSimilarity.pearsonCorrelation([0, 1, 1, 0], [0, 1, 1, 0]), 1)
        // Constant labels (a sparse conversion with no positive in the batch): undefined.
        XCTAssertNil(LabelSimilarity.pearsonCorrelation([0, 0, 0, 0], [0, 1, 1, 0]))
        XCTAssertNil(LabelSimilarity.pearsonCorrelation([0, 1, 1, 0], [1, 1, 1, 1]))
        XCTAssertNil(LabelSimilarity.pearsonCorrelation([1, 1, 1], [1, 1, 1]), "both constant and equal")
        // One row: every vector is constant.
        XCTAssertNil(LabelSimilarity.pearsonCorrelation([1], [0]))
        XCTAssertNil(LabelSimilarity.pearsonCorrelation([], []))
        // Nearly constant but not constant: defined, and within [−1, 1].
        let r = LabelSimilarity.pearsonCorrelation([0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(r, 1)
    }

    func testCosineSimilarity() throws {
        XCTAssertEqual(try XCTUnwrap(LabelSimilarity.cosine([1, 0, 1, 1], [1, 1, 0, 1])), 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertNil(LabelSimilarity.cosine([0, 0, 0], [1, 0, 1]), "an all-zero label vector")
        XCTAssertEqual(LabelSimilarity.cosine([1, 1, 1], [1, 1, 1]), 1, "constant non-zero labels are defined for cosine")
    }

    func testSimilarityMatrixFromBatchLabels() throws {
        // Columns: t0 = [1,0,1,0], t1 = [1,0,0,0] (phi = 1/√3), t2 = constant 0.
        let labels = Tensor(shape: [4, 3], values: [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
        let x = VirtualGradient().similarities(labels: labels)
        XCTAssertEqual(try XCTUnwrap(x[0][1]), 1 / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(x[1][0], x[0][1])
        XCTAssertNil(x[0][2])
        XCTAssertNil(x[2][1])
        XCTAssertEqual(x[0][0], 1)
        // |·|: a negatively correlated pair gives a positive x.
        let anti = Tensor(shape: [4, 2], values: [1, 0, 0, 1, 1, 0, 0, 1])
        XCTAssertEqual(try XCTUnwrap(VirtualGradient().similarities(labels: anti)[0][1]), 1, accuracy: 1e-12)
    }

    // MARK: Candidate functions

    func testCandidateFunctionValues() {
        typealias F = VirtualGradientFunction
        let cases: [(F, Double, Double, Double)] = [
            (.mulCos, 1, 1, 2), (.mulCos, 1, 0.5, 0), (.mulCos, 0, 0.7, 2),
            (.mulAbs, 1, 1, 2), (.mulAbs, 1, 0.5, 0), (.mulAbs, 0.5, 0.5, 1),
            (.mulSquare, 0, 0, 2), (.mulSquare, 0.5, 0.5, 0.5),
            (.mulSqrt, 0.5, 0.5, 2 * 0.5.squareRoot()), (.mulSqrt, 1, 0.5, 0),
            (.addCos, 0, 0, 2), (.addCos, 0.5, 0.5, 0), (.addCos, 1, 1, 2),
            (.addAbs, 0.25, 0.25, 1), (.addAbs, 1, 1, 2),
            (.addSquare, 0, 0, 2), (.addSquare, 0.75, 0.75, 0.5),
            (.addSqrt, 0, 0, 2), (.addSqrt, 0.3, 0.7, 0), (.addSqrt, 0.1, 0.15, 2 * 0.75.squareRoot()),
            (.addSqrt, 0.9, 0.35, 1),
        ]
        for (f, x, y, expected) in cases {
            XCTAssertEqual(f(x, y), expected, accuracy: 1e-12, "\(f)(\(x), \(y))")
        }
    }

    func testEveryCandidateStaysInZeroToTwoAndAmplifiesAgreement() {
        for f in VirtualGradientFunction.allCases {
            for i in 0...20 {
                for j in 0...20 {
                    let value = f(Double(i) / 20, Double(j) / 20)
                    XCTAssertTrue(value >= 0 && value <= 2 + 1e-12, "\(f)(\(i)/20, \(j)/20) = \(value)")
                }
            }
            // Both high (related tasks, different gates): amplified to the maximum.
            XCTAssertEqual(f(1, 1), 2, accuracy: 1e-12, "\(f)")
        }
        // Additive family: both low amplifies; correlated with equal gates shrinks.
        for f: VirtualGradientFunction in [.addCos, .addAbs, .addSquare, .addSqrt] {
            XCTAssertEqual(f(0, 0), 2, accuracy: 1e-12, "\(f)")
            XCTAssertLessThan(f(0.9, 0.05), 1, "\(f)")
        }
    }

    // MARK: Coefficients

    func testCoefficientIsTheProductOverOtherTasks() throws {
        let gates = [Tensor(shape: [1, 2], values: [1, 1]), Tensor(shape: [1, 2], values: [1.5, 3]),
                     Tensor(shape: [1, 2], values: [0.75, 1])]
        let x: [[Double?]] = [[1, 0.4, 0.2], [0.4, 1, 0.6], [0.2, 0.6, 1]]
        let vg = VirtualGradient()  // addSqrt
        let gamma = vg.coefficients(task: 0, gates: gates, similarities: x)
        XCTAssertEqual(gamma.shape, [1, 2])
        // Element 0: y01 = 0.5, y02 = 0.25 → γ(0.4, 0.5)·γ(0.2, 0.25); element 1: y01 = min(1, 2) = 1, y02 = 0.
        let expected0 = VirtualGradientFunction.addSqrt(0.4, 0.5) * VirtualGradientFunction.addSqrt(0.2, 0.25)
        let expected1 = VirtualGradientFunction.addSqrt(0.4, 1) * VirtualGradientFunction.addSqrt(0.2, 0)
        XCTAssertEqual(gamma.scalars, [Float(expected0), Float(expected1)])
        XCTAssertEqual(Double(gamma.scalars[0]), 2 * 0.1.squareRoot() * 2 * 0.55.squareRoot(), accuracy: 1e-6)
        let clipped = VirtualGradient(clip: 1).coefficients(task: 0, gates: gates, similarities: x)
        XCTAssertEqual(clipped.scalars, [Float(min(expected0, 1)), 1])
        // A single task has no pairs: Γ = 1.
        XCTAssertEqual(vg.coefficients(task: 0, gates: [gates[0]], similarities: [[nil]]).scalars, [1, 1])
    }

    func testConstantLabelPolicies() {
        let gates = [Tensor(shape: [3], values: [1, 1, 1]), Tensor(shape: [3], values: [1.25, 1, 2])]
        let undefined: [[Double?]] = [[nil, nil], [nil, nil]]
        let zero = VirtualGradient(constantLabelPolicy: .zeroCorrelation).coefficients(task: 1, gates: gates, similarities: undefined)
        XCTAssertEqual(zero.scalars, [0.25, 0, 1].map { Float(VirtualGradientFunction.addSqrt(0, $0)) })
        let skip = VirtualGradient(constantLabelPolicy: .skip).coefficients(task: 1, gates: gates, similarities: undefined)
        XCTAssertEqual(skip.scalars, [1, 1, 1])
    }

    func testPerRowGatesGivePerRowCoefficients() {
        let gates = [Tensor(shape: [2, 2], values: [0.5, 0.5, 0.9, 0.1]), Tensor(shape: [2, 2], values: [0.5, 0.5, 0.1, 0.9])]
        let gamma = VirtualGradient(function: .addAbs).coefficients(task: 0, gates: gates, similarities: [[1, 0.5], [0.5, 1]])
        XCTAssertEqual(gamma.shape, [2, 2])
        XCTAssertEqual(gamma.scalars[0], 1, accuracy: 1e-6)  // 2|0.5 + 0 − 1|
        XCTAssertEqual(gamma.scalars[2], 0.6, accuracy: 1e-6)  // 2|0.5 + 0.8 − 1|
    }
}
