import Foundation
import FunnelCore
import FunnelData
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
///
/// **What it replaces.** Only a checkpoint directory (one holding `checkpoint.json`) or an empty one; a plain file
/// only with `overwrite`; never another directory (`OutputGuard`). It deletes nothing but its own staging paths.
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

    /// Writes the checkpoint directory at `directory` atomically, replacing an existing checkpoint (or, with
    /// `overwrite`, a plain file); see `checkDestination`.
    public func write(to directory: URL, overwrite: Bool = false) throws {
        try stage(at: directory, overwrite: overwrite).commit()
    }

    /// Throws unless `directory` may receive a checkpoint: absent, empty, an existing checkpoint, or (with
    /// `overwrite`) a plain file, in a writable folder. Call it before long work (training) to fail early.
    public static func checkDestination(_ directory: URL, overwrite: Bool = false) throws {
        try OutputGuard.checkDirectory(directory, use: .replaced, markers: [metadataFile], overwrite: overwrite)
    }

    /// Writes everything into a temporary sibling of `directory` without publishing it (`commit()` does). Removes
    /// stale temporaries of earlier, interrupted writes of the same destination first.
    public func stage(at directory: URL, overwrite: Bool = false) throws -> StagedCheckpoint {
        try Self.checkDestination(directory, overwrite: overwrite)
        let destination = directory.standardizedFileURL
        let parent = destination.deletingLastPathComponent(), name = destination.lastPathComponent
        let files = FileManager.default
        do { try files.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw OutputError(path: parent.path, problem: "cannot create the folder", remedy: "check its permissions, or choose another location")
        }
        let hexDigits = Set("0123456789abcdef")
        for stale in (try? files.contentsOfDirectory(atPath: parent.path)) ?? [] where stale.hasPrefix("\(name).tmp-")
            && !stale.dropFirst(name.count + 5).isEmpty && stale.dropFirst(name.count + 5).allSatisfy(hexDigits.contains) {
            try? files.removeItem(at: parent.appendingPathComponent(stale))  // a staging directory of an interrupted write
        }
        let temporary = parent.appendingPathComponent("\(name).tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))")
        do { try files.createDirectory(at: temporary, withIntermediateDirectories: false) } catch {
            throw OutputError(path: temporary.path, problem: "cannot create the staging directory", remedy: "check the folder's permissions")
        }
        let modelMetadata = ["format": "pt", "funnel_version": metadata.funnelVersion, "model": metadata.model]
        var tensorFiles = [(Self.modelFile, try SafeTensors.encode(tensors, metadata: modelMetadata))]
        if let optimizer {
            tensorFiles.append((Self.optimizerFile, try SafeTensors.encode(optimizer.tensors, metadata: ["optimizer": optimizer.kind,
                                                                                                   "step": "\(optimizer.step)"])))
        }
        var metadata = self.metadata
        metadata.formatVersion = CheckpointMetadata.currentFormatVersion
        metadata.digests = [:]
        for (name, data) in tensorFiles {
            try DurableFiles.write(data, to: temporary.appendingPathComponent(name).path)
            metadata.digests![name] = SHA256.hexDigest(of: data)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFiles.write(encoder.encode(metadata), to: temporary.appendingPathComponent(Self.metadataFile).path)
        try DurableFiles.syncDirectory(temporary.path)
        return StagedCheckpoint(temporaryDirectory: temporary, destination: destination)
    }

    // MARK: Reading

    /// Warnings of the last `read` that loaded anyway (a format-1 checkpoint without digests), for a face to print.
    public private(set) var warnings: [String] = []

    /// Reads the checkpoint directory at `directory`, verifying each tensor file against its SHA-256 digest in
    /// `checkpoint.json` (a damaged or edited file is an error; a format-1 checkpoint has none and loads with a
    /// warning in `warnings`).
    public static func read(from directory: URL) throws -> Checkpoint {
        let files = FileManager.default
        let metadataURL = directory.appendingPathComponent(metadataFile), modelURL = directory.appendingPathComponent(modelFile)
        for url in [metadataURL, modelURL] where !files.fileExists(atPath: url.path) { throw CheckpointError.missingFile(url.path) }
        let metadata: CheckpointMetadata
        do {
            metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: readFile(metadataURL))
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.malformed(file: metadataURL.path, detail: "unreadable checkpoint metadata: \(ErrorText.describe(error))")
        }
        guard metadata.formatVersion <= CheckpointMetadata.currentFormatVersion else {
            throw CheckpointError.malformed(file: metadataURL.path, detail: "format \(metadata.formatVersion) is newer than this Funnel reads "
                                            + "(\(CheckpointMetadata.currentFormatVersion)); update Funnel")
        }
        var warnings: [String] = []
        if metadata.digests == nil {
            warnings.append("\(directory.path): checkpoint format \(metadata.formatVersion) has no digests, so its tensors are not verified; "
                            + "save it again with this Funnel to add them")
        }
        let verified = { (url: URL) throws -> Data in
            let data = try readFile(url)
            if let digests = metadata.digests {
                guard let expected = digests[url.lastPathComponent] else {
                    throw CheckpointError.malformed(file: url.path, detail: "checkpoint.json has no digest of this file")
                }
                guard SHA256.hexDigest(of: data) == expected else {
                    throw CheckpointError.malformed(file: url.path, detail: "its SHA-256 does not match checkpoint.json: the file is damaged or "
                                                    + "was edited; restore it from a copy or retrain")
                }
            }
            return data
        }
        let model = try SafeTensors.decode(verified(modelURL), file: modelURL.path)
        var optimizer: OptimizerSnapshot?
        let optimizerURL = directory.appendingPathComponent(optimizerFile)
        if files.fileExists(atPath: optimizerURL.path) {
            let state = try SafeTensors.decode(verified(optimizerURL), file: optimizerURL.path)
            guard let kind = state.metadata["optimizer"], let step = state.metadata["step"].flatMap(Int.init) else {
                throw CheckpointError.malformed(file: optimizerURL.path, detail: "__metadata__ lacks optimizer and step")
            }
            optimizer = OptimizerSnapshot(kind: kind, step: step, tensors: state.tensors)
        }
        var checkpoint = Checkpoint(metadata: metadata, tensors: model.tensors, optimizer: optimizer)
        checkpoint.warnings = warnings
        return checkpoint
    }

    /// The bytes of `url`, or a `CheckpointError.io` naming it.
    private static func readFile(_ url: URL) throws -> Data {
        do { return try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw CheckpointError.io(path: url.path, detail: "cannot read the file (\(ErrorText.describe(error))); check that it exists and is readable")
        }
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
