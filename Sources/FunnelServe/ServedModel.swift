import Foundation
import FunnelData
import FunnelTrain

/// A loaded, warmed-up checkpoint as the server holds it: the scorer and what `/v1/models/{name}` reports.
/// Immutable; a reload builds a new one and swaps it in, so a request keeps the one it started with.
final class ServedModel: Sendable {
    let scorer: Scorer
    let name: String
    /// The first 12 hex digits of `digest`: changes when the checkpoint's files change.
    let version: String
    /// FNV-1a-64 of each of the checkpoint's files (name and bytes), combined in name order, 16 hex digits.
    let digest: String
    let checkpoint: URL
    /// When loading finished, and how long it took (read, rebuild, warm-up), seconds.
    let loadedAt: Date
    let loadSeconds: Double

    private init(scorer: Scorer, name: String, digest: String, checkpoint: URL, loadedAt: Date, loadSeconds: Double) {
        self.scorer = scorer
        self.name = name
        self.digest = digest
        version = String(digest.prefix(12))
        self.checkpoint = checkpoint
        self.loadedAt = loadedAt
        self.loadSeconds = loadSeconds
    }

    /// Reads, rebuilds and warms up the checkpoint at `directory` (`Scorer.init`), on a thread of its own so the
    /// server's threads keep answering. Throws whatever refuses it.
    static func load(from directory: URL, name: String?, options: Scorer.Options) async throws -> ServedModel {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let start = Date()
                    let digest = try Self.digest(of: directory)
                    let scorer = try Scorer(try TrainedModel(contentsOf: directory), options: options)
                    return ServedModel(scorer: scorer, name: name ?? scorer.trained.metadata.model, digest: digest,
                                       checkpoint: directory, loadedAt: Date(), loadSeconds: Date().timeIntervalSince(start))
                })
            }
        }
    }

    private static func digest(of directory: URL) throws -> String {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var hash: UInt64 = 0
        for file in files {
            var isDirectory: ObjCBool = false
            let url = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = Array(file.utf8) + [0] + Array(try Data(contentsOf: url))
            hash = hash &* 0x1000_0000_01b3 ^ bytes.withUnsafeBufferPointer(fnv1a64)
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }

    /// `GET /v1/models/{name}`: inputs with kinds, tasks, checkpoint identity and training metrics, load time.
    var descriptionJSON: String {
        let metadata = scorer.trained.metadata
        var json = JSONText()
        json.object {
            $0.field("name", name)
            $0.field("version", version)
            $0.field("model", metadata.model)
            $0.field("checkpoint") {
                $0.object {
                    $0.field("path", checkpoint.path)
                    $0.field("digest", digest)
                    $0.field("formatVersion", metadata.formatVersion)
                    $0.field("funnelVersion", metadata.funnelVersion)
                    $0.field("epoch", metadata.epoch)
                    $0.field("step", metadata.step)
                }
            }
            $0.field("features") {
                $0.array(scorer.inputs) { json, input in
                    json.object {
                        $0.field("name", input.name)
                        $0.field("kind", input.kind.rawValue)
                        $0.field("required", input.isRequired)
                    }
                }
            }
            $0.field("tasks") {
                $0.array(scorer.trained.tasks) { json, task in
                    json.object {
                        $0.field("name", task.name)
                        $0.field("kind", task.kind == .binary ? "binary" : "continuous")
                    }
                }
            }
            $0.field("outputs") { $0.array(scorer.outputNames) { $0.string($1) } }
            $0.field("metrics") {
                $0.object { object in
                    for (key, value) in metadata.metrics.sorted(by: { $0.key < $1.key }) { object.field(key, value) }
                }
            }
            $0.field("loadedAt", ISO8601DateFormatter().string(from: loadedAt))
            $0.field("loadSeconds", loadSeconds)
        }
        return json.text
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
