import Foundation
import FunnelCore
import FunnelNN

/// A saved model: its tensors, optionally its optimizer's state, and its metadata, as one directory:
///
/// | file | contents |
/// |---|---|
/// | `model.safetensors` | parameters and buffers by `state_dict` name (F32; loads in Python as a state dict) |
/// | `optimizer.safetensors` | optimizer buffers `<parameter>.<slot>`; `__metadata__` has `optimizer` and `step` (optional) |
/// | `checkpoint.json` | `CheckpointMetadata`: model name and configuration, tasks, target scalings, feature map, metrics, epoch, step, generator state |
///
/// Metadata lives in its own JSON file rather than in `__metadata__` so that the configuration and feature map
/// stay nested, readable JSON; `model.safetensors` carries only `format`, `funnel_version` and `model`.
///
/// **Atomic writes.** `write(to:)` fills `<name>.tmp-<random>/` next to the destination (every file fsynced),
/// then publishes it with one atomic rename, or, over an existing checkpoint, one atomic exchange of the two
/// directories (Linux `renameat2`, Darwin `renamex_np`) after which the old one is deleted. A reader therefore sees
/// the old checkpoint or the new one, never a mix; a crash leaves at most a stale `.tmp-` directory, which the next
/// write of that checkpoint removes. (File systems without an atomic exchange fall back to two renames, with an
/// instant at which the destination is absent — still never half-written.) One writer per destination.
public struct Checkpoint {
    public var metadata: CheckpointMetadata
    /// Parameters and buffers by name.
    public var tensors: [String: Tensor]
    /// The optimizer's state, when saved.
    public var optimizer: OptimizerSnapshot?

    public init(metadata: CheckpointMetadata, tensors: [String: Tensor], optimizer: OptimizerSnapshot? = nil) {
        self.metadata = metadata
        self.tensors = tensors
        self.optimizer = optimizer
    }

    /// A snapshot (copies) of `model`'s parameters and buffers and of `optimizer`'s state for `model.parameters`.
    public init(model: Module, metadata: CheckpointMetadata, optimizer: Optimizer? = nil) {
        let named = model.parameters + model.buffers
        self.init(metadata: metadata,
                  tensors: Dictionary(uniqueKeysWithValues: named.map { ($0.name, $0.value.copy()) }),
                  optimizer: optimizer?.snapshot(for: model.parameters))
    }

    static let modelFile = "model.safetensors", optimizerFile = "optimizer.safetensors", metadataFile = "checkpoint.json"

    // MARK: Writing

    /// Writes the checkpoint directory at `directory` atomically (replacing an existing one).
    public func write(to directory: URL) throws {
        try stage(at: directory).commit()
    }

    /// Writes everything into a temporary sibling of `directory` without publishing it (`commit()` does). Removes
    /// stale temporaries of earlier, interrupted writes of the same destination first.
    public func stage(at directory: URL) throws -> StagedCheckpoint {
        let destination = directory.standardizedFileURL
        let parent = destination.deletingLastPathComponent(), name = destination.lastPathComponent
        let files = FileManager.default
        try files.createDirectory(at: parent, withIntermediateDirectories: true)
        for stale in try files.contentsOfDirectory(atPath: parent.path) where stale.hasPrefix("\(name).tmp-") {
            try files.removeItem(at: parent.appendingPathComponent(stale))
        }
        let temporary = parent.appendingPathComponent("\(name).tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))")
        try files.createDirectory(at: temporary, withIntermediateDirectories: false)
        let modelMetadata = ["format": "pt", "funnel_version": metadata.funnelVersion, "model": metadata.model]
        try DurableFiles.write(SafeTensors.encode(tensors, metadata: modelMetadata),
                               to: temporary.appendingPathComponent(Self.modelFile).path)
        if let optimizer {
            try DurableFiles.write(SafeTensors.encode(optimizer.tensors, metadata: ["optimizer": optimizer.kind, "step": "\(optimizer.step)"]),
                                   to: temporary.appendingPathComponent(Self.optimizerFile).path)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFiles.write(encoder.encode(metadata), to: temporary.appendingPathComponent(Self.metadataFile).path)
        try DurableFiles.syncDirectory(temporary.path)
        return StagedCheckpoint(temporaryDirectory: temporary, destination: destination)
    }

    // MARK: Reading

    /// Reads the checkpoint directory at `directory`.
    public static func read(from directory: URL) throws -> Checkpoint {
        let files = FileManager.default
        let metadataURL = directory.appendingPathComponent(metadataFile), modelURL = directory.appendingPathComponent(modelFile)
        for url in [metadataURL, modelURL] where !files.fileExists(atPath: url.path) { throw CheckpointError.missingFile(url.path) }
        let metadata: CheckpointMetadata
        do {
            metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(contentsOf: metadataURL))
        } catch {
            throw CheckpointError.io(path: metadataURL.path, detail: "unreadable checkpoint metadata: \(error)")
        }
        let model = try SafeTensors.decode(Data(contentsOf: modelURL, options: .mappedIfSafe), file: modelURL.path)
        var optimizer: OptimizerSnapshot?
        let optimizerURL = directory.appendingPathComponent(optimizerFile)
        if files.fileExists(atPath: optimizerURL.path) {
            let state = try SafeTensors.decode(Data(contentsOf: optimizerURL, options: .mappedIfSafe), file: optimizerURL.path)
            guard let kind = state.metadata["optimizer"], let step = state.metadata["step"].flatMap(Int.init) else {
                throw CheckpointError.malformed(file: optimizerURL.path, detail: "__metadata__ lacks optimizer and step")
            }
            optimizer = OptimizerSnapshot(kind: kind, step: step, tensors: state.tensors)
        }
        return Checkpoint(metadata: metadata, tensors: model.tensors, optimizer: optimizer)
    }

    // MARK: Applying

    /// Copies the saved tensors into `model`'s parameters and buffers, after checking that every model tensor is
    /// present with its shape and (when `strict`) that the checkpoint has no other tensors. Throws without changing
    /// the model when anything does not match.
    public func restore(into model: Module, strict: Bool = true) throws {
        let targets = (model.parameters + model.buffers).sorted { $0.name < $1.name }
        for target in targets {
            guard let saved = tensors[target.name] else { throw CheckpointError.missingTensor(name: target.name) }
            guard saved.shape == target.value.shape else {
                throw CheckpointError.shapeMismatch(name: target.name, checkpoint: saved.shape, model: target.value.shape)
            }
        }
        let names = Set(targets.map(\.name))
        if strict, let extra = tensors.keys.sorted().first(where: { !names.contains($0) }) {
            throw CheckpointError.unexpectedTensor(name: extra)
        }
        for target in targets {
            if !target.value.isUniquelyOwned() { target.value = target.value.copy() }
            target.value.pointer.update(from: tensors[target.name]!.pointer, count: target.value.count)
        }
    }

    /// Restores the saved optimizer state into `optimizer` for `parameters` (normally `model.parameters`).
    public func restoreOptimizer(_ optimizer: Optimizer, parameters: [Parameter]) throws {
        guard let snapshot = self.optimizer else { throw CheckpointError.missingFile(Self.optimizerFile) }
        try optimizer.restore(snapshot, for: parameters)
    }
}

/// A checkpoint written to its temporary directory but not yet published.
public struct StagedCheckpoint {
    public let temporaryDirectory: URL
    public let destination: URL

    /// Publishes the staged directory at `destination` atomically (see `Checkpoint`).
    public func commit() throws {
        let files = FileManager.default
        let (staged, target) = (temporaryDirectory.path, destination.path)
        if !files.fileExists(atPath: target) {
            try DurableFiles.rename(staged, to: target)
        } else if try DurableFiles.exchange(staged, target) {
            try files.removeItem(atPath: staged)  // now holds the previous checkpoint
        } else {
            let previous = "\(target).old-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            try DurableFiles.rename(target, to: previous)
            try DurableFiles.rename(staged, to: target)
            try files.removeItem(atPath: previous)
        }
        try DurableFiles.syncDirectory(destination.deletingLastPathComponent().path)
    }
}
