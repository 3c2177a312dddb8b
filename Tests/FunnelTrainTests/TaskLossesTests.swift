import Foundation
import XCTest
import FunnelCore
import FunnelData
import FunnelModels
@testable import FunnelTrain

/// `taskLossTerms` and `predictions(of:)`: each head × loss pairing routes to the right fused loss with the task's
/// mask, sample weights, reduction and target scaling; the empty-space signal; predictions on the original scale.
final class TaskLossesTests: XCTestCase {
    // Columns: click, conversion (CTCVR, entire space), cvr (clicked rows), amount, ltv.
    private let tasks = [
        TaskSpec(name: "click", kind: .binary, loss: .binaryCrossEntropy(positiveWeight: 2)),
        TaskSpec(name: "ctcvr", kind: .binary),
        TaskSpec(name: "cvr", kind: .binary, label: "ctcvr", lossSpace: .whereLabel("click")),
        TaskSpec(name: "amount", kind: .continuous, loss: .huber(delta: 0.5), reduction: .batchMean,
                 lossSpace: .whereLabel("ctcvr"), targetTransform: .standardize),
        TaskSpec(name: "ltv", kind: .continuous, loss: .zeroInflatedLognormal, reduction: .sum),
    ]
    private let labels: [Float] = [1, 1, 1, 12, 12,
                                   0, 0, 0, 0, 0,
                                   1, 0, 0, 0, 0,
                                   1, 1, 1, 4, 4]
    private let sampleWeights: [Float] = [1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2,
                                          1, 1, 0.5, 1, 1,
                                          1, 1, 1, 3, 1]

    private func table() -> EncodedTable {
        EncodedTable(layout: FeatureLayout(vocabularySizes: [], numericCount: 0), tasks: tasks, rowCount: 4, ids: [],
                     numeric: [], labels: labels, weights: sampleWeights)
    }

    private func tensor(_ values: [Float], _ shape: [Int]? = nil) -> Variable {
        Variable(Tensor(shape: shape ?? [values.count], values: values))
    }

    private lazy var heads: [TaskHead] = [
        .logit(tensor([0.3, -1.2, 0.8, 2.0])),
        .chain([tensor([0.3, -1.2, 0.8, 2.0]), tensor([-0.5, 0.1, -2.0, 1.5])]),
        .logit(tensor([-0.5, 0.1, -2.0, 1.5])),
        .value(tensor([0.9, 0.0, 0.3, -1.1])),
        .zeroInflatedLognormal(tensor([0.2, 2.0, 0.1, -1, 0, 0, 0.4, 1.0, 0.3, 1.1, 1.5, -0.2], [4, 3])),
    ]

    func testEveryPairingUsesItsMaskWeightsReductionAndScaling() throws {
        let batch = table().batch(rows: [0, 1, 2, 3])
        let scalings = try TargetScaling.fitAll(on: table())
        XCTAssertEqual(scalings[3].mean, 8, "amount fitted over converted rows only (12 and 4)")
        let terms = taskLossTerms(ModelOutput(heads: heads), batch: batch, tasks: tasks, targetScalings: scalings)
        let column = { (t: Int) in Tensor(shape: [4], values: (0..<4).map { self.labels[$0 * 5 + t] }) }
        let weight = { (t: Int) in Tensor(shape: [4], values: (0..<4).map { self.sampleWeights[$0 * 5 + t] }) }
        let mask = { (t: Int, source: Int) in Tensor(shape: [4], values: (0..<4).map { self.labels[$0 * 5 + source] }) }

        let click = Variable.binaryCrossEntropy(logits: heads[0].logit, targets: column(0), weights: weight(0), positiveWeight: 2)
        XCTAssertEqual(terms[0].loss.value.scalar, click.value.scalar)
        guard case .chain(let steps) = heads[1] else { return XCTFail() }
        let ctcvr = Variable.binaryCrossEntropy(chainedLogits: steps, targets: column(1), weights: weight(1))
        XCTAssertEqual(terms[1].loss.value.scalar, ctcvr.value.scalar)
        let cvr = Variable.binaryCrossEntropy(logits: heads[2].logit, targets: column(1), weights: mask(2, 0) * weight(2))
        XCTAssertEqual(terms[2].loss.value.scalar, cvr.value.scalar)
        XCTAssertEqual(terms[2].spaceWeight, 1 + 0.5 + 1, "clicked rows 0, 2, 3 with CVR sample weights 1, 0.5, 1")
        guard case .value(let amount) = heads[3], case .zeroInflatedLognormal(let ltv) = heads[4] else { return XCTFail() }
        let standardized = Tensor(shape: [4], values: [1, -2, -2, -1])  // (y − 8)/4 over the space; masked rows unused
        let huber = Variable.huber(predictions: amount, targets: standardized, delta: 0.5,
                                   weights: mask(3, 1) * weight(3), normalizer: 4)
        XCTAssertEqual(terms[3].loss.value.scalar, huber.value.scalar, accuracy: 1e-7)
        let ziln = Variable.zeroInflatedLognormal(logits: ltv, targets: column(4), weights: weight(4), normalizer: 1)
        XCTAssertEqual(terms[4].loss.value.scalar, ziln.value.scalar)
        XCTAssertTrue(terms.allSatisfy { !$0.isEmpty })
        // The plain function returns the same losses.
        XCTAssertEqual(taskLosses(ModelOutput(heads: heads), batch: batch, tasks: tasks, targetScalings: scalings).map(\.value.scalar),
                       terms.map(\.loss.value.scalar))
    }

    func testEmptyLossSpaceIsSignalledAndGivesNoGradient() {
        // Rows 1 and 2 have no conversion: the amount task's space is empty, as is the CVR space of row 1 alone.
        let batch = table().batch(rows: [1, 2])
        let tape = Tape()
        let amount = tape.variable(Tensor(shape: [2], values: [0.4, -0.3]))
        var twoRowHeads = heads.map { head -> TaskHead in
            switch head {
            case .logit(let z): return .logit(Variable(z.value.rows(1..<3)))
            case .chain(let s): return .chain(s.map { Variable($0.value.rows(1..<3)) })
            case .zeroInflatedLognormal(let z): return .zeroInflatedLognormal(Variable(z.value.rows(1..<3)))
            default: return head
            }
        }
        twoRowHeads[3] = .value(amount)
        let terms = taskLossTerms(ModelOutput(heads: twoRowHeads), batch: batch, tasks: tasks)
        XCTAssertEqual(terms.map(\.isEmpty), [false, false, false, true, false])
        XCTAssertEqual(terms[3].loss.value.scalar, 0)
        XCTAssertEqual(tape.gradients(of: terms[3].loss, wrt: [amount])[0].scalars, [0, 0])
        let cvrOnly = table().batch(rows: [1])
        let single = taskLossTerms(ModelOutput(heads: twoRowHeads.map { head -> TaskHead in
            switch head {
            case .logit(let z): return .logit(Variable(z.value.rows(0..<1)))
            case .chain(let s): return .chain(s.map { Variable($0.value.rows(0..<1)) })
            case .value(let v): return .value(Variable(v.value.rows(0..<1)))
            case .zeroInflatedLognormal(let z): return .zeroInflatedLognormal(Variable(z.value.rows(0..<1)))
            case .probability(let p): return .probability(p)
            }
        }), batch: cvrOnly, tasks: tasks)
        XCTAssertTrue(single[2].isEmpty, "no click in the batch: the CVR space is empty")
    }

    func testProbabilityHeadAndPredictions() throws {
        let p = tensor([0.2, 0.7, 0.5, 0.9])
        let probabilityTask = [TaskSpec(name: "click", kind: .binary)]
        let batch = Batch(count: 4, ids: [], numeric: nil, labels: Tensor(shape: [4, 1], values: [0, 1, 1, 1]))
        let loss = taskLosses(ModelOutput(heads: [.probability(p)]), batch: batch, tasks: probabilityTask)[0]
        let expected = -(log(0.8) + log(0.7) + log(0.5) + log(0.9)) / 4
        XCTAssertEqual(Double(loss.value.scalar), expected, accuracy: 1e-6)

        XCTAssertEqual(predictions(of: .probability(p)).scalars, p.value.scalars)
        XCTAssertEqual(predictions(of: heads[0]).scalars.map(Double.init),
                       [0.3, -1.2, 0.8, 2.0].map { 1 / (1 + exp(-$0)) }, accuracy: 1e-6)
        let chain = predictions(of: heads[1]).scalars
        XCTAssertEqual(Double(chain[3]), 1 / (1 + exp(-2.0)) / (1 + exp(-1.5)), accuracy: 1e-6)
        let scaling = TargetScaling(transform: .log1pStandardize, mean: 1, scale: 2)
        XCTAssertEqual(Double(predictions(of: heads[3], scaling: scaling).scalars[0]), expm1(1 + 2 * 0.9), accuracy: 1e-4)
        guard case .zeroInflatedLognormal(let z) = heads[4] else { return XCTFail() }
        XCTAssertEqual(predictions(of: heads[4]).scalars, ZeroInflatedLognormal.mean(logits: z.value).scalars)
        XCTAssertEqual(predictions(of: ModelOutput(heads: heads)).count, 5)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
