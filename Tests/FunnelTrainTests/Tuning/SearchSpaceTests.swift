import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// The search spaces of `funnel tune`: derived from a model's default configuration, adjusted by the model, pinned by
/// its choice, overridden by a space file whose typos are errors naming the key; and seeded, deterministic draws.
final class SearchSpaceTests: XCTestCase {
    private func search(_ name: String, configuration: String? = nil, tasks: Int = 3, space: String? = nil) throws -> ModelSearch {
        let choice = RunConfiguration.ModelChoice(name: name, configuration: try configuration.map { try JSONValue(data: Data($0.utf8)) })
        return try ModelSearch(choice: choice, training: TrainingConfiguration(), taskCount: tasks,
                               spaceFile: try space.map { try SpaceFile(json: try JSONValue(data: Data($0.utf8))) })
    }

    func testTheDefaultSpaceIsDerivedFromTheDefaultConfiguration() throws {
        let mmoe = try search("mmoe")
        XCTAssertEqual(mmoe.space.keys, ["balancing", "batchNorm", "dropout", "embeddingWidth", "expertWidths", "learningRate",
                                         "towerWidths", "weightDecay"])
        XCTAssertEqual(mmoe.space.dimensions["expertWidths"], .choice([[128, 64], [256, 128], [512, 256]].map { .array($0.map(JSONValue.number)) }))
        XCTAssertEqual(mmoe.space.dimensions["embeddingWidth"], .choice([8, 16, 32].map(JSONValue.number)))
        XCTAssertEqual(mmoe.space.dimensions["learningRate"], .logUniform(low: 1e-4, high: 1e-2))
        XCTAssertNil(try search("mmoe", tasks: 1).space.dimensions["balancing"], "one task has nothing to balance")
    }

    func testAModelCanDeclareItsOwnSpace() throws {
        guard case .choice(let methods)? = try search("htlnet").space.dimensions["balancing"] else { return XCTFail("no balancing dimension") }
        XCTAssertTrue(methods.contains(.string("htlnet")), "HTLNet adds its own gradient adjustment")
        guard case .choice(let others)? = try search("mmoe").space.dimensions["balancing"] else { return XCTFail("no balancing dimension") }
        XCTAssertFalse(others.contains(.string("htlnet")))
    }

    func testKeysTheChoicePinsAreNotSearched() throws {
        let pinned = try search("mmoe", configuration: #"{"expertWidths": [8], "batchNorm": false}"#)
        XCTAssertNil(pinned.space.dimensions["expertWidths"])
        XCTAssertNil(pinned.space.dimensions["batchNorm"])
        XCTAssertEqual(pinned.space.dimensions["towerWidths"], .choice([[32], [64], [128]].map { .array($0.map(JSONValue.number)) }))
        for trial in 0..<5 {
            let candidate = try pinned.candidate(try pinned.values(ofTrial: trial, seed: 3))
            XCTAssertEqual(candidate.choice.configuration?.value(at: "expertWidths"), .array([.number(8)]))
        }
    }

    func testASpaceFileOverridesAndExtends() throws {
        let mmoe = try search("mmoe", space: #"""
            {"all": {"learningRate": 0.003, "dropout": {"uniform": [0, 0.5]}},
             "models": {"mmoe": {"experts": {"int": [2, 4]}, "expertSettings.crossLayers": {"choice": [1, 2]}}}}
            """#)
        XCTAssertEqual(mmoe.space.dimensions["learningRate"], .choice([.number(0.003)]))
        XCTAssertEqual(mmoe.space.dimensions["experts"], .integer(low: 2, high: 4))
        for trial in 0..<8 {
            let values = try mmoe.values(ofTrial: trial, seed: 1)
            let (choice, training) = try mmoe.candidate(values)
            XCTAssertEqual(training.optimizer.learningRate, 0.003)
            guard case .number(let experts)? = values["experts"], case .number(let dropout)? = values["dropout"] else { return XCTFail("\(values)") }
            XCTAssertTrue((2...4).contains(Int(experts)) && dropout >= 0 && dropout <= 0.5)
            XCTAssertEqual(choice.configuration?.value(at: "expertSettings.crossLayers"), values["expertSettings.crossLayers"])
        }
    }

    func testSpaceFileTyposAreErrorsNamingTheKey() throws {
        let cases = [
            (#"{"al": {}}"#, "'al'"),
            (#"{"models": {"mmeo": {"dropout": 0.1}}}"#, "'models.mmeo'"),
            (#"{"models": {"mmoe": {"dropuot": 0.1}}}"#, "'models.mmoe.dropuot'"),
            (#"{"all": {"learningRat": 0.1}}"#, "'all.learningRat'"),
            (#"{"all": {"dropout": {"normal": [0, 1]}}}"#, "unknown dimension kind 'normal'"),
            (#"{"all": {"learningRate": {"logUniform": [0, 1]}}}"#, "'all.learningRate'"),
        ]
        for (text, expected) in cases {
            let training = RunConfiguration(models: [.init(name: "mmoe")], training: TrainingConfiguration())
            XCTAssertThrowsError(try Tuner(run: training, settings: TuningSettings(), spaceFile: try SpaceFile(json: try JSONValue(data: Data(text.utf8))),
                                           tasks: [TaskSpec(name: "ctr", kind: .binary)]),
                                 text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should name \(expected)")
            }
        }
    }

    func testTheSameSeedDrawsTheSameTrials() throws {
        let a = try search("mmoe"), b = try search("mmoe")
        let first = try (0..<6).map { try a.values(ofTrial: $0, seed: 11) }
        XCTAssertEqual(first, try (0..<6).map { try b.values(ofTrial: $0, seed: 11) })
        XCTAssertNotEqual(first, try (0..<6).map { try a.values(ofTrial: $0, seed: 12) }, "another seed draws other trials")
        XCTAssertEqual(Set(first.map(\.description)).count, 6, "six different trials")
        XCTAssertEqual(first[0]["learningRate"], .number(0.001), "trial 0 keeps the defaults")
        XCTAssertEqual(first[0]["batchNorm"], .bool(true))
        XCTAssertEqual(first[0]["balancing"], .string("fixed"))
    }
}
