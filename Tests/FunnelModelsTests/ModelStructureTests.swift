import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// Structure and switches of the baselines that parity fixtures do not pin down: PLE's gates and shared set,
/// heads for every task kind, the expected-value head, ESMM's extras, ESCM²'s training-only regulariser,
/// Single-task's embedding switch, AITM's shared attention.
final class ModelStructureTests: XCTestCase {
    let layout = ModelTestInputs.layout

    private func names(_ parameters: [Parameter]) -> Set<String> { Set(parameters.map(\.name)) }

    func testPLEHasTheSharedGateOnlyBelowTheLastLevel() {
        var rng = SeededGenerator(seed: 1)
        let c = configured(PLE.Configuration()) {
            $0.embeddingWidth = 4
            $0.taskExperts = 2
            $0.sharedExperts = 3
            $0.expertDimsPerLevel = [[8, 7], [6], [5]]
            $0.towerWidths = [4]
        }
        let tasks = ModelTestInputs.tasks(continuous: .squaredError)
        let ple = PLE(configuration: c, features: layout, tasks: tasks, using: &rng)
        XCTAssertEqual(ple.levels.map { $0.sharedGate != nil }, [true, true, false])
        for level in ple.levels {
            XCTAssertEqual(level.taskGates.map(\.linear.outputWidth), [5, 5, 5], "task gate: own 2 + shared 3")
        }
        XCTAssertEqual(ple.levels[0].sharedGate?.linear.outputWidth, 3 * 2 + 3, "shared gate: every expert of the level")
        XCTAssertEqual(ple.levels[0].taskExperts[1][0].linears.map(\.outputWidth), [8, 7], "a full MLP per expert")
        XCTAssertEqual(ple.levels[1].taskGates[0].linear.inputWidth, 7)
        XCTAssertEqual(ple.towers[0].hidden.linears[0].inputWidth, 5)
        let shared = names(ple.sharedParameters)
        XCTAssertTrue(shared.contains("levels.0.task_experts.2.1.linears.1.weight"), "mixed into the next shared input")
        XCTAssertTrue(shared.contains("levels.1.shared_gate.weight"))
        XCTAssertTrue(shared.contains("levels.2.shared_experts.2.linears.0.weight"))
        XCTAssertFalse(shared.contains("levels.0.task_gates.0.weight"), "a task gate feeds only its task")
        XCTAssertFalse(shared.contains("levels.2.task_experts.0.0.linears.0.weight"), "the last level's task experts")
        XCTAssertFalse(shared.contains { $0.hasPrefix("towers.") })

        let output = ple(ModelTestInputs.batch(tasks: tasks), .inference())
        XCTAssertEqual(output.heads.map(\.ownOutput.shape), [[8], [8], [8]])
    }

    func testCGCIsOneLevelWithoutSharedGate() {
        var rng = SeededGenerator(seed: 1)
        let cgc = CGC(configuration: configured(.init()) {
            $0.embeddingWidth = 4
            $0.expertWidths = [8]
            $0.towerWidths = [4]
        }, features: layout,
                      tasks: ModelTestInputs.tasks(), using: &rng)
        XCTAssertNil(cgc.extraction.sharedGate)
        XCTAssertTrue(names(cgc.parameters).contains("task_experts.1.1.linears.0.weight"))
        XCTAssertEqual(names(cgc.sharedParameters),
                       ["embedding.weight", "dense_projection.weight", "dense_projection.bias", "shared_experts.0.linears.0.weight",
                        "shared_experts.0.linears.0.bias", "shared_experts.0.norms.0.weight", "shared_experts.0.norms.0.bias",
                        "shared_experts.1.linears.0.weight", "shared_experts.1.linears.0.bias", "shared_experts.1.norms.0.weight",
                        "shared_experts.1.norms.0.bias"])
    }

    /// Binary tasks get a logit, MSE tasks an identity value, ZILN tasks `[B, 3]` logits from a 3-wide output layer
    /// — in the models built on `TaskTower`. The per-task CTR models, DEPHN and MT-PHN have single-output value
    /// heads only (their ZILN tasks are refused before training by the loss/head check).
    func testHeadsFollowTheTaskKindAndLoss() throws {
        let tasks = ModelTestInputs.tasks(continuous: .zeroInflatedLognormal)
        let batch = ModelTestInputs.batch(tasks: tasks)
        let valueOnly: Set = ["dcn", "dcn-v2", "nfm", "autoint", "fint", "xdeepfm", "dephn", "mt-phn"]
        for name in ModelRegistry.standard.names {
            if valueOnly.contains(name) {
                var rng = SeededGenerator(seed: 2)
                let model = try ModelRegistry.standard.makeModel(named: name, configuration: try ModelTestInputs.small(name),
                                                                 features: layout, tasks: tasks, using: &rng)
                guard case .value = model(batch, .inference()).heads[2] else { XCTFail("\(name): expected a value head"); continue }
                continue
            }
            var rng = SeededGenerator(seed: 2)
            let model = try ModelRegistry.standard.makeModel(named: name, configuration: try ModelTestInputs.small(name),
                                                             features: layout, tasks: tasks, using: &rng)
            let output = model(batch, .inference())
            guard case .logit(let z) = output.heads[0], case .zeroInflatedLognormal(let ziln) = output.heads[2] else {
                XCTFail("\(name): heads \(output.heads)"); continue
            }
            XCTAssertEqual(z.shape, [8], name)
            XCTAssertEqual(ziln.shape, [8, 3], name)
            let outputLayer = try XCTUnwrap(model.parameters.first { $0.name.hasSuffix(".2.output.weight") }, name)
            XCTAssertEqual(outputLayer.value.shape[0], 3, name)
        }
    }

    /// ESMM's expected-value head is the direct prediction times Π σ(z) over the binary steps before it; the
    /// conditional probabilities are in the extras.
    func testESMMExpectedValueHeadAndExtras() throws {
        let tasks = ModelTestInputs.tasks(continuous: .squaredError)
        let batch = ModelTestInputs.batch(tasks: tasks)
        func model(_ head: RegressionHead) -> ESMM {
            var rng = SeededGenerator(seed: 4)
            return ESMM(configuration: configured(.init()) {
                $0.embeddingWidth = 4
                $0.towerWidths = [8]
                $0.regressionHead = head
            }, features: layout,
                        tasks: tasks, using: &rng)
        }
        let direct = model(.direct)(batch, .inference()), scaled = model(.expectedValue)(batch, .inference())
        guard case .chain(let logits) = direct.heads[1], case .value(let v) = direct.heads[2], case .value(let s) = scaled.heads[2] else {
            return XCTFail("heads \(direct.heads)")
        }
        let p = (logits[0].sigmoid() * logits[1].sigmoid()).value
        for i in 0..<8 { XCTAssertEqual(s.value.pointer[i], v.value.pointer[i] * p.pointer[i], accuracy: 1e-6) }
        XCTAssertEqual(Set(direct.extras.keys), ["cvr", "ctcvr.conditional"])
        XCTAssertEqual(direct.extras["cvr"]!.value.scalars, logits[1].sigmoid().value.scalars)
    }

    /// The regulariser exists only in training mode, reads the labels, and vanishes with λ_c = 0.
    func testESCM2RegularizerIsTrainingOnlyAndReadsLabels() throws {
        let tasks = ModelTestInputs.tasks()
        var c = configured(ESCM2.Configuration()) { $0.estimator = .doublyRobust }
        c.embeddingWidth = 4
        c.towerWidths = [8]
        c.batchNorm = false
        var rng = SeededGenerator(seed: 6)
        let model = ESCM2(configuration: c, features: layout, tasks: tasks, using: &rng)
        let batch = ModelTestInputs.batch(tasks: tasks)
        XCTAssertNil(model(batch, .inference()).auxiliaryLoss)
        let training = ForwardContext(tape: nil, mode: .training)
        let risk = try XCTUnwrap(model(batch, training).auxiliaryLoss).value.scalar
        XCTAssertGreaterThan(risk, 0)
        let flipped = Batch(count: batch.count, ids: batch.ids, numeric: batch.numeric,
                            labels: Tensor(shape: batch.labels.shape, values: batch.labels.scalars.map { 1 - $0 }))
        XCTAssertNotEqual(try XCTUnwrap(model(flipped, training).auxiliaryLoss).value.scalar, risk)
        c.counterfactualWeight = 0
        var again = SeededGenerator(seed: 6)
        XCTAssertNil(ESCM2(configuration: c, features: layout, tasks: tasks, using: &again)(batch, training).auxiliaryLoss)
        XCTAssertEqual(model.imputationTowers.count, 1)
        XCTAssertEqual(model.imputationTowers[0].output.outputWidth, 1)
    }

    func testSingleTaskEmbeddingSwitch() {
        var rng = SeededGenerator(seed: 1)
        let tasks = ModelTestInputs.tasks()
        let separate = SingleTaskDNN(configuration: configured(.init()) {
            $0.embeddingWidth = 4
            $0.bottomWidths = [8]
            $0.towerWidths = [4]
        },
                                     features: layout, tasks: tasks, using: &rng)
        XCTAssertTrue(separate.sharedParameters.isEmpty)
        XCTAssertTrue(names(separate.parameters).isSuperset(of: ["embeddings.0.weight", "embeddings.1.weight",
                                                                  "dense_projections.1.bias"]))
        let shared = SingleTaskDNN(configuration: configured(.init()) {
            $0.embeddingWidth = 4
            $0.bottomWidths = [8]
            $0.towerWidths = [4]
            $0.shareEmbedding = true
        },
                                   features: layout, tasks: tasks, using: &rng)
        XCTAssertEqual(names(shared.sharedParameters), ["embedding.weight", "dense_projection.weight", "dense_projection.bias"])
        XCTAssertFalse(names(shared.parameters).contains { $0.hasPrefix("embeddings.") })
    }

    /// A task's loss reaches only its own model in the Single-task DNN.
    func testSingleTaskModelsAreIndependent() {
        var rng = SeededGenerator(seed: 1)
        let tasks = ModelTestInputs.tasks()
        let model = SingleTaskDNN(configuration: configured(.init()) {
            $0.embeddingWidth = 4
            $0.bottomWidths = [8]
            $0.towerWidths = [4]
        },
                                  features: layout, tasks: tasks, using: &rng)
        let tape = Tape()
        let output = model(ModelTestInputs.batch(tasks: tasks), ForwardContext(tape: tape, mode: .training))
        let gradients = tape.gradients(of: output.heads[1].logit.sum(), wrt: model.parameters)
        for (parameter, gradient) in zip(model.parameters, gradients) {
            let touched = gradient.scalars.contains { $0 != 0 }
            let task = parameter.name.split(separator: ".")[1]  // embeddings.{t}…, bottoms.{t}…, towers.{t}…
            if task == "0" { XCTAssertFalse(touched, parameter.name) }
            if task == "1" && parameter.name.hasSuffix("linears.0.weight") { XCTAssertTrue(touched, parameter.name) }
        }
    }

    func testAITMSharesTheAttentionFromThreeTasks() {
        var rng = SeededGenerator(seed: 1)
        var c = AITM.Configuration()
        c.embeddingWidth = 4
        c.towerWidths = [8]
        c.towerDropouts = [0]
        let two = AITM(configuration: c, features: layout, tasks: ModelTestInputs.tasks(), using: &rng)
        let three = AITM(configuration: c, features: layout, tasks: ModelTestInputs.tasks(continuous: .squaredError), using: &rng)
        XCTAssertFalse(names(two.sharedParameters).contains("attention.query.weight"))
        XCTAssertTrue(names(three.sharedParameters).contains("attention.query.weight"))
        XCTAssertNil(two.attention.query.bias, "the official attention has no bias")
        XCTAssertEqual(three.transfers.map(\.weight.name), ["transfers.0.weight", "transfers.1.weight"])
        c.calibratorWeight = 0
        c.l2Penalty = 0
        let plain = AITM(configuration: c, features: layout, tasks: ModelTestInputs.tasks(), using: &rng)
        XCTAssertNil(plain(ModelTestInputs.batch(tasks: ModelTestInputs.tasks()), ForwardContext(tape: nil, mode: .training)).auxiliaryLoss)
    }

    func testConversionChainSteps() {
        let tasks = [TaskSpec(name: "click", kind: .binary), TaskSpec(name: "gmv", kind: .continuous),
                     TaskSpec(name: "buy", kind: .binary, parent: "click")]
        let chain = ConversionChain(tasks: tasks)
        XCTAssertEqual(chain.steps, [0, 2])
        XCTAssertEqual(chain.precedingStep, [nil, 0, 0])
        XCTAssertEqual(chain.stepIndex(ofTask: 2), 1)
        XCTAssertNil(chain.stepIndex(ofTask: 1))
    }
}
