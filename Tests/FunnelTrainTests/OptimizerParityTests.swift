import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelTrain

/// PyTorch parity of the optimizers on `optimizers.json`: from `p0`, three steps with `grad = g1, g2, g3`; the
/// final parameter is stored under the optimizer's key, hyperparameters under `config.optimizers[key]`. And
/// `clipGradientNorm` against `torch.nn.utils.clip_grad_norm_`.
///
/// Tolerance: 1e-5 relative with the default floor `max(1e-6, RMS(b))` (see `ParityComparison`); these are
/// elementwise updates of O(1) values, so the floor never matters (no element is below a tenth of the RMS).
final class OptimizerParityTests: XCTestCase {
    /// Every key the fixture generator writes; the test fails if the file has one it does not know.
    static let keys = ["sgd", "sgd_momentum", "sgd_nesterov", "sgd_momentum_wd", "sgd_dampening", "adam", "adam_wd", "adamw",
                       "adagrad", "adagrad_wd", "adagrad_lr_decay"]

    private func number(_ config: [String: Any], _ key: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
        guard let value = config[key] as? NSNumber else {
            XCTFail("config has no number \(key)", file: file, line: line)
            return .nan
        }
        return value.floatValue
    }

    /// The optimizer described by one `config.optimizers` entry (PyTorch class name and hyperparameters).
    private func makeOptimizer(_ config: [String: Any], key: String) -> Optimizer? {
        let lr = number(config, "lr")
        switch config["class"] as? String {
        case "SGD":
            return SGD(learningRate: lr, momentum: number(config, "momentum"), dampening: number(config, "dampening"),
                       weightDecay: number(config, "weight_decay"), nesterov: (config["nesterov"] as? Bool) ?? false)
        case "Adam", "AdamW":
            let betas = (config["betas"] as? [NSNumber])?.map(\.floatValue) ?? []
            XCTAssertEqual(betas.count, 2, key)
            let decoupled = config["class"] as? String == "AdamW"
            return Adam(learningRate: lr, beta1: betas[0], beta2: betas[1], epsilon: number(config, "eps"),
                        weightDecay: number(config, "weight_decay"), decoupled: decoupled)
        case "Adagrad":
            return Adagrad(learningRate: lr, learningRateDecay: number(config, "lr_decay"), weightDecay: number(config, "weight_decay"),
                           initialAccumulator: number(config, "initial_accumulator_value"), epsilon: number(config, "eps"))
        default:
            XCTFail("\(key): unknown optimizer class \(config["class"] ?? "nil")")
            return nil
        }
    }

    func testThreeStepsMatchPyTorch() throws {
        let fixture = try ParityFixture("optimizers.json")
        let configs = try XCTUnwrap(fixture.config["optimizers"] as? [String: [String: Any]])
        XCTAssertEqual(Set(configs.keys), Set(Self.keys), "fixture and test must cover the same optimizers")
        XCTAssertEqual((fixture.config["steps"] as? NSNumber)?.intValue, 3)
        let p0 = try fixture.tensor("p0")
        let grads = try ["g1", "g2", "g3"].map { try fixture.tensor($0) }
        for key in Self.keys {
            guard let config = configs[key], let optimizer = makeOptimizer(config, key: key) else { continue }
            let parameter = Parameter(name: "p", value: p0.copy())
            for g in grads {
                parameter.grad = g.copy()
                optimizer.step([parameter])
            }
            assertParity(parameter.value, try fixture.tensor(key), "\(key) (\(config["class"]!)) after 3 steps")
        }
        // The AdamW convenience constructor is the same optimizer as decoupled Adam.
        let parameter = Parameter(name: "p", value: p0.copy())
        let adamW = Adam.adamW(learningRate: 0.01, weightDecay: 0.1)
        for g in grads {
            parameter.grad = g.copy()
            adamW.step([parameter])
        }
        assertParity(parameter.value, try fixture.tensor("adamw"), "Adam.adamW(lr 0.01, wd 0.1)")
    }

    /// The hyperparameters must matter: the fixture's results differ from each other by far more than 1e-5, so a
    /// constructor argument that were ignored would fail the test above (checked here so the test cannot pass
    /// vacuously).
    func testFixtureCasesAreDistinguishable() throws {
        let fixture = try ParityFixture("optimizers.json")
        let results = try Self.keys.map { try fixture.tensor($0) }
        for i in results.indices {
            for j in results.indices where j > i {
                let differs = zip(results[i].scalars, results[j].scalars).contains { abs($0 - $1) > 1e-4 * max(abs($1), 1) }
                XCTAssertTrue(differs, "\(Self.keys[i]) and \(Self.keys[j]) are indistinguishable at 1e-4")
            }
        }
    }

    func testClipGradientNormMatchesPyTorch() throws {
        let fixture = try ParityFixture("optimizers.json")
        let clip = try XCTUnwrap(fixture.config["clip"] as? [String: Any])
        let maxNorm = number(clip, "max_norm")
        XCTAssertEqual((clip["norm_type"] as? NSNumber)?.doubleValue, 2)
        let a = Parameter(name: "a", value: Tensor(zeros: [3, 2])), b = Parameter(name: "b", value: Tensor(zeros: [4]))
        a.grad = try fixture.tensor("clip.a_in")
        b.grad = try fixture.tensor("clip.b_in")
        let unused = Parameter(name: "unused", value: Tensor(zeros: [2]))  // no gradient: ignored, as in PyTorch
        let norm = clipGradientNorm([a, unused, b], maxNorm: maxNorm)
        assertParity(norm, try fixture.tensor("clip.total_norm").scalar, "clip total_norm (before clipping)")
        assertParity(a.grad!, try fixture.tensor("clip.a_out"), "clip a")
        assertParity(b.grad!, try fixture.tensor("clip.b_out"), "clip b")
        XCTAssertNil(unused.grad)
        XCTAssertTrue(bitIdentical(a.value, Tensor(zeros: [3, 2])), "clipping must not touch values")

        // Below the threshold nothing changes (factor min(1, ·) = 1): bit-identical gradients.
        let small = try fixture.tensor("clip.a_out")
        a.grad = small.copy()
        b.grad = nil
        let smallNorm = clipGradientNorm([a], maxNorm: 10)
        XCTAssertTrue(bitIdentical(a.grad!, small))
        XCTAssertEqual(Double(smallNorm), small.squaredNorm().squareRoot(), accuracy: 1e-6)
    }
}
