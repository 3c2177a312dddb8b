import Foundation
import FunnelCore
import FunnelData

/// Checkpoints of a training run in `directory`: `last/` after every epoch (weights, optimizer moments,
/// balancer state and the early-stopping loop: history, best epoch, patience counter) so a killed run resumes
/// exactly, and `best/` whenever the monitor improves (the weights a finished run ends with). Both are written
/// atomically (`Checkpoint.stage` + `commit`): a crash leaves the previous checkpoint intact.
public struct TrainingCheckpoints {
    public var directory: URL
    /// What every checkpoint of the run records besides tensors (model name and configuration, layout, tasks,
    /// feature map); the trainer fills in epoch, step, metrics, target scalings and balancer state.
    public var metadata: CheckpointMetadata

    public init(directory: URL, metadata: CheckpointMetadata) {
        self.directory = directory
        self.metadata = metadata
    }

    /// Throws unless `directory` may hold a run's checkpoints: new, empty, or an earlier run's (it has `last/` or
    /// `best/`), in a writable folder (`OutputGuard`).
    public static func checkDestination(_ directory: URL) throws {
        try OutputGuard.checkDirectory(directory, use: .filled, markers: ["last/\(Checkpoint.metadataFile)", "best/\(Checkpoint.metadataFile)"],
                                       overwrite: false)
    }

    /// Removes a run's checkpoints from `directory` — `last/`, `best/` and their staging directories, then the
    /// directory itself when that leaves it empty — after `checkDestination` has recognised it. Nothing else in it
    /// is touched.
    public static func discard(_ directory: URL) throws {
        try checkDestination(directory)
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where ["last", "best"].contains(name) || name.hasPrefix("last.tmp-") || name.hasPrefix("best.tmp-") {
            do { try files.removeItem(at: directory.appendingPathComponent(name)) } catch {
                throw OutputError(path: directory.appendingPathComponent(name).path, problem: "cannot remove the run's old checkpoint",
                                  remedy: "check the folder's permissions")
            }
        }
        if (try? files.contentsOfDirectory(atPath: directory.path))?.isEmpty == true { try? files.removeItem(at: directory) }
    }

    public var lastURL: URL { directory.appendingPathComponent("last") }
    public var bestURL: URL { directory.appendingPathComponent("best") }
    static let loopFile = "training-loop.json"

    /// The saved loop (what `Trainer.LoopState` holds, minus the best weights, which live in `best/`).
    struct SavedLoop: Codable {
        var history: [EpochRecord]
        var bestEpoch: Int
        var bestValue: Double?
        var stale: Int
        var emptyBatches: [Int]
        /// The divergence guard's reference (absent in runs saved before it existed).
        var initialLosses: [Float]?
    }

    static let balancerOptimizerFile = "balancer-optimizer.safetensors"

    func save(_ trainer: Trainer, state: Trainer.LoopState, improved: Bool) throws {
        var metadata = self.metadata
        metadata.epoch = state.history.count
        metadata.step = trainer.globalStep
        metadata.targetScalings = trainer.targetScalings
        metadata.balancing = trainer.configuration.balancing
        metadata.balancerState = trainer.balancer.state
        metadata.metrics = flattened(state.history.last?.validation ?? [:])
        if improved {
            try Checkpoint(model: trainer.model, metadata: metadata).write(to: bestURL)
        }
        let staged = try Checkpoint(model: trainer.model, metadata: metadata, optimizer: trainer.optimizer).stage(at: lastURL)
        let loop = SavedLoop(history: state.history, bestEpoch: state.bestEpoch, bestValue: state.bestValue, stale: state.stale,
                             emptyBatches: trainer.emptyBatches, initialLosses: trainer.initialLosses)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFiles.write(encoder.encode(loop), to: staged.temporaryDirectory.appendingPathComponent(Self.loopFile).path)
        if !trainer.balancer.trainableParameters.isEmpty {
            let snapshot = trainer.balancerParametersOptimizer.snapshot(for: trainer.balancer.trainableParameters)
            try DurableFiles.write(SafeTensors.encode(snapshot.tensors, metadata: ["optimizer": snapshot.kind, "step": "\(snapshot.step)"]),
                                   to: staged.temporaryDirectory.appendingPathComponent(Self.balancerOptimizerFile).path)
        }
        try DurableFiles.syncDirectory(staged.temporaryDirectory.path)
        try staged.commit()
    }

    /// Restores `trainer` from `last/` and returns the loop state to continue with, or nil when there is none.
    func resumePoint(into trainer: Trainer) throws -> Trainer.LoopState? {
        guard FileManager.default.fileExists(atPath: lastURL.path) else { return nil }
        let last = try Checkpoint.read(from: lastURL)
        guard last.metadata.model == metadata.model, last.metadata.tasks == metadata.tasks else {
            throw CheckpointError.malformed(file: lastURL.path, detail: "checkpoint of model '\(last.metadata.model)' with tasks "
                                            + "\(last.metadata.tasks.map(\.name)), not this run's")
        }
        let loopURL = lastURL.appendingPathComponent(Self.loopFile)
        let loop = try JSONDecoder().decode(SavedLoop.self, from: Data(contentsOf: loopURL))
        try last.restore(into: trainer.model)
        try last.restoreOptimizer(trainer.optimizer, parameters: trainer.model.parameters)
        if let state = last.metadata.balancerState { try trainer.balancer.restore(state) }
        let balancerURL = lastURL.appendingPathComponent(Self.balancerOptimizerFile)
        if FileManager.default.fileExists(atPath: balancerURL.path) {
            let saved = try SafeTensors.decode(Data(contentsOf: balancerURL), file: balancerURL.path)
            let snapshot = OptimizerSnapshot(kind: saved.metadata["optimizer"] ?? "", step: Int(saved.metadata["step"] ?? "") ?? 0,
                                             tensors: saved.tensors)
            try trainer.balancerParametersOptimizer.restore(snapshot, for: trainer.balancer.trainableParameters)
        }
        trainer.setGlobalStep(last.metadata.step)
        trainer.setEmptyBatches(loop.emptyBatches)
        trainer.initialLosses = loop.initialLosses
        var state = Trainer.LoopState(history: loop.history, bestEpoch: loop.bestEpoch, bestValue: loop.bestValue, stale: loop.stale)
        if loop.bestEpoch > 0 {
            let current = trainer.snapshot()
            try Checkpoint.read(from: bestURL).restore(into: trainer.model)
            state.bestWeights = trainer.snapshot()
            trainer.restore(current)
        }
        return state
    }

    private func flattened(_ metrics: [String: [String: Double]]) -> [String: Double] {
        var result: [String: Double] = [:]
        for (task, values) in metrics { for (name, value) in values { result["\(task).\(name)"] = value } }
        return result
    }
}
