import XCTest
import FunnelTestSupport
import FunnelCore
import FunnelModels

/// PyTorch parity of every registry model on a tiny configuration (`ModelParityCase`; fixtures from
/// `scripts/make_model_fixtures.py`, twins in `bench/torch_models/`).
final class ModelParityTests: XCTestCase {
    func testSingleTaskDNN() throws { try ModelParityCase("single_task").run() }

    /// Includes a continuous task with an identity head and MSE (baselines.md §14).
    func testSharedBottom() throws { try ModelParityCase("shared_bottom").run() }

    func testOMoE() throws { try ModelParityCase("omoe").run() }

    func testCGC() throws { try ModelParityCase("cgc").run() }

    /// Two levels (shared gate at level 1 only), three tasks, two-layer experts at level 2 (`expertDimsPerLevel`).
    func testPLE() throws { try ModelParityCase("ple").run() }

    /// A three-step chain (chained BCE in log space) plus an expected-value regression head.
    func testESMM() throws {
        let output = try ModelParityCase("esmm").run()
        guard case .chain(let logits) = output.heads[2] else { return XCTFail("step 3 must be a chain") }
        XCTAssertEqual(logits.count, 3)
        XCTAssertNil(output.auxiliaryLoss)
    }

    /// MMoE backbone; CTCVR task weight 0.5 (λ_g).
    func testESCM2InversePropensity() throws { try ModelParityCase("escm2_ips").run() }

    /// Three steps (a regulariser per adjacent pair), softplus imputation, stop-gradients; propensities on both
    /// sides of the 1/15 clip.
    func testESCM2DoublyRobust() throws { try ModelParityCase("escm2_dr").run() }

    /// The reference implementation's alternatives: sigmoid imputation, no detaching anywhere in DR.
    func testESCM2DoublyRobustReferenceOptions() throws { try ModelParityCase("escm2_dr_reference").run() }

    /// Official variant: bias-free attention, ReLU transfer, calibrator, L2 on embedding and attention, an
    /// expected-value regression task after the binary steps.
    func testAITMOfficial() throws { try ModelParityCase("aitm").run() }

    /// MTReclib variant: BN bottoms, linear transfer, attention with bias, head MLPs, no calibrator.
    func testAITMMTReclib() throws {
        let output = try ModelParityCase("aitm_mtreclib").run()
        XCTAssertNil(output.auxiliaryLoss, "the MTReclib variant has no calibrator and no L2")
    }
}
