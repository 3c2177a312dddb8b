import Foundation
import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
@testable import FunnelModels
import FunnelNN
import FunnelTrain

/// APEM-reconstruction's switches, heads, calibrator, configuration and inspection; the MMoE degenerate case.
final class APEMModelTests: XCTestCase {
    static let layout = FeatureLayout(vocabularySizes: [5, 7, 3], numericCount: 4, fieldNames: ["user", "item", "context"])
    static let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "purchase", kind: .binary, parent: "click")]

    /// A small configuration: d = 4, 3 patterns [8, 6], towers [4].
    static func small(_ edit: (inout APEMReconstruction.Configuration) -> Void = { _ in }) -> APEMReconstruction.Configuration {
        var c = APEMReconstruction.Configuration()
        c.embeddingWidth = 4
        c.inducingPoints = 2
        c.numPatterns = 3
        c.patternWidths = [8, 6]
        c.towerWidths = [4]
        c.dropout = 0
        edit(&c)
        return c
    }

    /// `rows` random rows of `layout` with nested binary labels (and a non-negative amount as third column when
    /// `amount`).
    static func batch(rows: Int, seed: UInt64, amount: Bool = false) -> Batch {
        var rng = SeededGenerator(seed: seed)
        let ids = (0..<rows).flatMap { _ in layout.vocabularySizes.map { Int32(rng.next() % UInt64($0)) } }
        var labels: [Float] = []
        for _ in 0..<rows {
            let click: Float = rng.nextUnitFloat() < 0.5 ? 1 : 0
            let purchase: Float = click == 1 && rng.nextUnitFloat() < 0.5 ? 1 : 0
            labels += [click, purchase] + (amount ? [purchase * 10 * rng.nextUnitFloat()] : [])
        }
        return Batch(count: rows, ids: ids, numeric: .uniform([rows, 4], in: -1...1, using: &rng),
                     labels: Tensor(shape: [rows, amount ? 3 : 2], values: labels))
    }

    private func model(_ c: APEMReconstruction.Configuration, tasks: [TaskSpec] = tasks, seed: UInt64 = 1) -> APEMReconstruction {
        var rng = SeededGenerator(seed: seed)
        return APEMReconstruction(configuration: c, features: Self.layout, tasks: tasks, using: &rng)
    }

    func testDegenerateCaseIsExactlyMMoE() throws {
        let c = Self.small {
            $0.useDGT = false
            $0.patternSelector = .mmoeGate
            $0.dropout = 0.1
        }
        let apem = model(c)
        var rng = SeededGenerator(seed: 2)
        let mmoe = MMoE(configuration: configured(.init()) {
            $0.embeddingWidth = 4
            $0.experts = 3
            $0.expertWidths = [8, 6]
            $0.towerWidths = [4]
            $0.batchNorm = true
            $0.dropout = 0.1
        },
                        features: Self.layout, tasks: Self.tasks, using: &rng)
        // Same parameters under APEM's names: experts ↔ patterns, gates ↔ selector.gates.
        let rename = { (name: String) in
            name.replacingOccurrences(of: "experts.", with: "patterns.").replacingOccurrences(of: "gates.", with: "selector.gates.")
        }
        XCTAssertEqual(apem.parameters.map(\.name), mmoe.parameters.map { rename($0.name) }, "same parameters, same order")
        XCTAssertEqual(apem.buffers.map(\.name), mmoe.buffers.map { rename($0.name) })
        XCTAssertEqual(apem.sharedParameters.map(\.name), mmoe.sharedParameters.map { rename($0.name) })
        for (a, m) in zip(apem.parameters + apem.buffers, mmoe.parameters + mmoe.buffers) { a.value = m.value.copy() }

        let batch = Self.batch(rows: 12, seed: 3)
        XCTAssertTrue(bitIdentical(stack(apem(batch, .inference())), stack(mmoe(batch, .inference()))), "evaluation forward")
        // Training steps with dropout: the same random stream gives the same masks, losses and updates.
        let stepA = TrainingStep(model: apem, tasks: Self.tasks, optimizer: Adam(learningRate: 0.01))
        let stepM = TrainingStep(model: mmoe, tasks: Self.tasks, optimizer: Adam(learningRate: 0.01))
        var rngA = SeededGenerator(seed: 4), rngM = SeededGenerator(seed: 4)
        for round in 0..<2 {
            XCTAssertEqual(try stepA(batch, rng: &rngA).losses, try stepM(batch, rng: &rngM).losses, "losses, step \(round)")
        }
        for (a, m) in zip(apem.parameters + apem.buffers, mmoe.parameters + mmoe.buffers) {
            XCTAssertTrue(bitIdentical(a.value, m.value), "\(a.name) after two steps")
        }
    }

    private func stack(_ output: ModelOutput) -> Tensor {
        Tensor(shape: [output.heads.count * output.heads[0].logit.shape[0]], values: output.heads.flatMap { $0.logit.value.scalars })
    }

    func testSwitchesShapeTheModel() throws {
        let d = 4, fields = 4, h = 6
        func names(_ c: APEMReconstruction.Configuration) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: model(c).parameters.map { ($0.name, $0.value.shape) })
        }
        let base = names(Self.small())
        XCTAssertEqual(base["dgt.blocks.0.attention.inducing_points"], [2, d])
        XCTAssertEqual(base["dgt.blocks.1.se.reduce.weight"], [2, fields])
        XCTAssertEqual(base["selector.adapters.0.weight"], [h, fields * d], "adaptive indicators read the flattened DGT output")
        XCTAssertEqual(base["selector.key.weight"], [h, h])
        XCTAssertNil(base["dgt.blocks.2.se.reduce.weight"])

        let cases: [(String, (inout APEMReconstruction.Configuration) -> Void, [String], [String])] = [
            ("useDGT false", { $0.useDGT = false }, [], ["dgt.blocks.0.se.reduce.weight", "dgt.blocks.0.attention.inducing_points"]),
            ("attention sab", { $0.attention = .sab }, ["dgt.blocks.0.attention.query.weight"], ["dgt.blocks.0.attention.inducing_points"]),
            ("attention none", { $0.attention = .none }, ["dgt.blocks.0.se.reduce.weight"], ["dgt.blocks.0.attention.to_groups.query.weight"]),
            ("useSE false", { $0.useSE = false }, ["dgt.blocks.0.attention.inducing_points"], ["dgt.blocks.0.se.reduce.weight"]),
            ("dgtLayers 3", { $0.dgtLayers = 3 }, ["dgt.blocks.2.se.expand.bias"], []),
            ("static", { $0.patternSelector = .static }, ["selector.indicators.1", "selector.key.weight"], ["selector.adapters.0.weight"]),
            ("mmoeGate", { $0.patternSelector = .mmoeGate }, ["selector.gates.1.weight"], ["selector.indicators.0", "selector.key.weight"]),
            ("uniform", { $0.patternSelector = .uniform }, [], ["selector.indicators.0", "selector.key.weight", "selector.gates.0.weight"]),
            ("task-specific", { $0.patternSharing = .sharedPlusTaskSpecific; $0.taskSpecificPatterns = 2 },
             ["task_patterns.1.1.linears.0.weight"], ["task_patterns.1.2.linears.0.weight"]),
        ]
        for (label, edit, present, absent) in cases {
            let c = Self.small(edit)
            let shapes = names(c)
            for name in present { XCTAssertNotNil(shapes[name], "\(label): \(name)") }
            for name in absent { XCTAssertNil(shapes[name], "\(label): \(name)") }
            // Every switch trains: one step, finite losses, a finite gradient for every parameter.
            let m = model(c)
            let step = TrainingStep(model: m, tasks: Self.tasks, optimizer: Adam(learningRate: 0.01))
            var rng = SeededGenerator(seed: 5)
            let losses = try step(Self.batch(rows: 10, seed: 6), rng: &rng).losses
            XCTAssertTrue(losses.allSatisfy(\.isFinite), label)
            for p in m.parameters {
                guard let g = p.grad else { XCTFail("\(label): no gradient for \(p.name)"); continue }
                XCTAssertTrue(g.scalars.allSatisfy(\.isFinite), "\(label): \(p.name)")
            }
        }
        XCTAssertEqual(names(Self.small { $0.adaptiveSource = .pooled })["selector.adapters.1.weight"], [h, d])
        XCTAssertEqual(names(Self.small { $0.inducingPoints = 3 })["dgt.blocks.1.attention.inducing_points"], [3, d])
        XCTAssertEqual(names(Self.small { $0.patternSharing = .sharedPlusTaskSpecific; $0.patternSelector = .mmoeGate })["selector.gates.0.weight"],
                       [5, fields * d], "gates score shared + task-specific patterns")
    }

    func testHeadsFollowOutputModeAndTaskKinds() throws {
        let tasks = Self.tasks + [TaskSpec(name: "amount", kind: .continuous, parent: "purchase")]
        let batch = Self.batch(rows: 8, seed: 7, amount: true)
        let independent = model(Self.small(), tasks: tasks)(batch, .inference())
        guard case .logit = independent.heads[1], case .value(let amount) = independent.heads[2] else { return XCTFail("entire-space heads") }
        XCTAssertEqual(amount.shape, [8])
        XCTAssertTrue(independent.extras.isEmpty)

        let chained = model(Self.small { $0.outputMode = .chain }, tasks: tasks)(batch, .inference())
        guard case .logit(let z1) = chained.heads[0], case .chain(let steps) = chained.heads[1] else { return XCTFail("chain heads") }
        XCTAssertEqual(steps.count, 2)
        XCTAssertEqual(steps[0].value.scalars, z1.value.scalars, "the chain starts from the first step's logit")
        let conditional = try? XCTUnwrap(chained.extras["conditional.purchase"])
        XCTAssertEqual(conditional?.value.scalars, steps[1].sigmoid().value.scalars)

        let ziln = tasks.enumerated().map { t, task in t == 2 ? TaskSpec(name: "amount", kind: .continuous, loss: .zeroInflatedLognormal) : task }
        guard case .zeroInflatedLognormal(let logits) = model(Self.small(), tasks: ziln)(batch, .inference()).heads[2] else {
            return XCTFail("ZILN head")
        }
        XCTAssertEqual(logits.shape, [8, 3])
    }

    func testCalibratorIsATrainingTermOnConsecutiveBinarySteps() throws {
        let batch = Self.batch(rows: 16, seed: 8)
        let m = model(Self.small { $0.calibratorWeight = 0.6 })
        // Shift the second tower's output so that the later step is predicted above the earlier one on some rows.
        m.towerOutputs[1].bias!.value = Tensor(shape: [1], values: [m.towerOutputs[0].bias!.value.scalar + 0.3])
        let training = ForwardContext(tape: nil, mode: .training)
        let saved = m.buffers.map { $0.value.copy() }
        let output = m(batch, training)
        for (b, v) in zip(m.buffers, saved) { b.value = v }
        let p = output.heads.map { $0.logit.sigmoid().value.scalars }
        let excess = zip(p[1], p[0]).map { Double(max($0 - $1, 0)) }
        XCTAssertGreaterThan(excess.filter { $0 > 0 }.count, 0, "the penalty must be active for the check to mean anything")
        let expected = 0.6 * excess.reduce(0, +) / 16
        XCTAssertEqual(Double(try XCTUnwrap(output.auxiliaryLoss).value.scalar), expected, accuracy: 1e-6)
        XCTAssertNil(m(batch, .inference()).auxiliaryLoss, "no calibrator in evaluation")
        XCTAssertNil(model(Self.small())(batch, training).auxiliaryLoss, "β = 0: no calibrator")
        // In the chain the joint probabilities cannot increase, so the penalty is exactly zero.
        let chain = model(Self.small { $0.calibratorWeight = 0.6; $0.outputMode = .chain })
        XCTAssertEqual(try XCTUnwrap(chain(batch, training).auxiliaryLoss).value.scalar, 0)
    }

    func testConfigurationDecodesPartialFilesWithDefaults() throws {
        let json = #"{"patternSelector": "static", "inducingPoints": 8, "attention": "sab", "feedForwardWidth": 24}"#
        let c: APEMReconstruction.Configuration = try registryConfiguration(APEMReconstruction.registryName, json)
        var expected = APEMReconstruction.Configuration()
        expected.patternSelector = .static
        expected.inducingPoints = 8
        expected.attention = .sab
        expected.feedForwardWidth = 24
        XCTAssertEqual(c, expected)
        XCTAssertEqual(try JSONDecoder().decode(APEMReconstruction.Configuration.self, from: JSONEncoder().encode(c)), c)
        XCTAssertThrowsError(try registryConfiguration(APEMReconstruction.registryName, #"{"attention": "grouped"}"#) as APEMReconstruction.Configuration)
        XCTAssertTrue(c.summary.hasPrefix("APEM-reconstruction:"))
        XCTAssertTrue(c.summary.contains("selector=static") && c.summary.contains("attention=sab"), c.summary)
        XCTAssertEqual(APEMReconstruction.registryName, "apem-reconstruction")
        // The defaults are the spec's (apem.md §5).
        let d = APEMReconstruction.Configuration()
        XCTAssertEqual([d.embeddingWidth, d.dgtLayers, d.heads, d.inducingPoints, d.seReduction, d.numPatterns], [16, 2, 2, 4, 3, 6])
        XCTAssertEqual(d.patternWidths, [256, 128])
        XCTAssertEqual(d.towerWidths, [64])
        XCTAssertEqual(d.dropout, 0.1)
        XCTAssertEqual(d.calibratorWeight, 0)
        XCTAssertTrue(d.useDGT && d.useSE && d.attention == .isab && d.patternSelector == .adaptive && d.outputMode == .entireSpace)
    }

    func testInspectionAveragesSelectionsAndFieldWeights() throws {
        let m = model(Self.small { $0.patternSharing = .sharedPlusTaskSpecific; $0.taskSpecificPatterns = 1 })
        XCTAssertEqual(m.fieldNames, ["user", "item", "context", "numeric"])
        let batch = Self.batch(rows: 20, seed: 9)
        let buffers = m.buffers.map { $0.value.scalars }
        let report = m.inspection(batch)
        XCTAssertEqual(m.buffers.map { $0.value.scalars }, buffers, "inspection runs in evaluation mode")
        XCTAssertEqual(report.model, "APEM-reconstruction")
        XCTAssertEqual(report.rows, 20)
        XCTAssertEqual(report.selections.map(\.task), ["click", "purchase"])
        XCTAssertEqual(report.selections[1].patterns, ["patterns.0", "patterns.1", "patterns.2", "task_patterns.1.0"])
        for selection in report.selections { XCTAssertEqual(selection.weights.reduce(0, +), 1, accuracy: 1e-5) }
        XCTAssertEqual(report.fields, m.fieldNames)
        XCTAssertEqual(report.fieldWeights.count, 2)
        for weights in report.fieldWeights { XCTAssertEqual(weights.count, 4); XCTAssertTrue(weights.allSatisfy { $0 > 0 && $0 < 1 }) }
        XCTAssertEqual(report.groupAttention.count, 2)
        for block in report.groupAttention {
            XCTAssertEqual(block.count, 2)
            for group in block { XCTAssertEqual(group.reduce(0, +), 1, accuracy: 1e-5) }
        }
        // The mean over rows: per-row α of the first row differs from the mean, and splitting the rows changes nothing.
        let trace = m.forward(batch, .inference())
        let alpha = trace.selectionWeights[0]
        let firstRow = (0..<4).map { Double(alpha.pointer[$0]) }
        let mean: [Double] = (0..<4).map { k in
            var total = 0.0
            for row in 0..<20 { total += Double(alpha.pointer[row * 4 + k]) }
            return total / 20
        }
        for k in 0..<4 { XCTAssertEqual(report.selections[0].weights[k], mean[k], accuracy: 1e-6) }
        XCTAssertNotEqual(firstRow, mean)
        let split = m.inspection([rows(batch, 0..<7), rows(batch, 7..<20)])
        XCTAssertEqual(split.rows, 20)
        for (a, b) in zip(flattened(split), flattened(report)) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(try JSONDecoder().decode(APEMInspection.self, from: JSONEncoder().encode(report)), report)
        let text = report.report
        XCTAssertTrue(text.contains("APEM-reconstruction inspection over 20 rows") && text.contains("own.0") && text.contains("numeric"), text)
    }

    /// Every averaged number of an inspection, in a fixed order.
    private func flattened(_ i: APEMInspection) -> [Double] {
        let selections: [Double] = i.selections.flatMap(\.weights)
        let fields: [Double] = i.fieldWeights.flatMap { $0 }
        let groups: [Double] = i.groupAttention.flatMap { $0.flatMap { $0 } }
        return selections + fields + groups
    }

    /// Rows `range` of a batch.
    private func rows(_ batch: Batch, _ range: Range<Int>) -> Batch {
        let fields = Self.layout.vocabularySizes.count
        return Batch(count: range.count, ids: Array(batch.ids[(range.lowerBound * fields)..<(range.upperBound * fields)]),
                     numeric: batch.numeric!.rows(range), labels: batch.labels.rows(range))
    }
}
