import Foundation
import XCTest
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// MT-PHN's structure under each placement: which experts exist, what each task's gate mixes, what is shared.
final class MTPHNTests: XCTestCase {
    static func make(_ placement: ExpertPlacement, tasks: [TaskSpec] = DEPHNTests.binaryTasks) -> MTPHN {
        var c = MTPHN.Configuration()
        c.embeddingWidth = 4
        c.expertWidths = [8, 6]
        c.crossLayers = 2
        c.fieldLayers = 2
        c.placement = placement
        var rng = SeededGenerator(seed: 2)
        return MTPHN(configuration: c, features: DEPHNTests.features, tasks: tasks, using: &rng)
    }

    func testPlacements() {
        let batch = DEPHNTests.batch()
        let cases: [(ExpertPlacement, required: [String], absent: [String], shared: [String])] = [
            (.dnnPublicCFPrivate, ["dnn.2.linears.0.weight", "cross.1.layers.0.weight", "cf_projection.1.weight", "ssg.cf.1.gate"],
             ["cf_projection.weight", "dnn.0.0.linears.0.weight"], ["dnn.2.linears.0.weight", "ssg.dnn.gate", "attention.query.weight"]),
            (.dnnPublicCFPublic, ["cross.layers.0.weight", "cf_projection.weight", "ssg.cf.gate"], ["cross.0.layers.0.weight"],
             ["cf_projection.weight", "field.layers.1.scale"]),
            (.dnnPrivateCFPublic, ["dnn.1.0.linears.0.weight", "ssg.dnn.1.gate", "cf_projection.weight"], ["dnn.0.linears.0.weight"],
             ["cross.layers.1.bias"]),
        ]
        for (placement, required, absent, shared) in cases {
            let model = Self.make(placement)
            let names = Set(model.parameters.map(\.name)), sharedNames = Set(model.sharedParameters.map(\.name))
            XCTAssertEqual(names.count, model.parameters.count, "\(placement): unique names")
            XCTAssertTrue(names.isSuperset(of: required), "\(placement): \(required.filter { !names.contains($0) })")
            XCTAssertTrue(names.isDisjoint(with: absent), "\(placement)")
            XCTAssertTrue(sharedNames.isSuperset(of: shared), "\(placement): \(shared.filter { !sharedNames.contains($0) })")
            XCTAssertFalse(sharedNames.contains { $0.hasPrefix("gates.") || $0.hasPrefix("towers.") }, "\(placement)")
            // Every task mixes K = 3 DNN experts and one C&F expert, whichever are public.
            let gates = model.gateWeights(batch)
            XCTAssertEqual(gates.map(\.shape), [[16, 4], [16, 4]])
            for row in 0..<16 {
                XCTAssertEqual((0..<4).reduce(Float(0)) { $0 + gates[0].pointer[row * 4 + $1] }, 1, accuracy: 1e-5)
            }
            let output = model(batch, ForwardContext(tape: nil, mode: .training))
            XCTAssertEqual(output.heads.map { $0.logit.shape }, [[16], [16]])
        }
    }

    func testContinuousTaskGetsAValueHead() {
        let model = Self.make(.dnnPublicCFPrivate, tasks: [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "amount", kind: .continuous)])
        let output = model(DEPHNTests.batch(), .inference())
        guard case .value = output.heads[1] else { return XCTFail("continuous task must have a value head") }
        XCTAssertEqual(output.heads[0].logit.shape, [16])
    }
}
