import FunnelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import FunnelData

/// Where a run reports progress: a one-line progress display on standard error (redrawn in place on a
/// terminal, printed every `logEvery` steps otherwise) and, optionally, a JSONL file with one record per log
/// interval and per epoch (`{"kind":"step",…}`, `{"kind":"epoch",…}`).
public final class TrainingLog {
    public let showProgress: Bool
    private let jsonl: FileHandle?
    private let interactive = isatty(STDERR_FILENO) != 0
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    /// - Parameters:
    ///   - jsonlURL: file to write JSONL records to (created with its directory), or nil. The caller has checked it
    ///     may be written (`OutputGuard.checkFile`).
    ///   - showProgress: whether to print progress on standard error.
    ///   - append: continue an existing file (a resumed run) instead of starting it afresh.
    public init(jsonlURL: URL? = nil, showProgress: Bool = true, append: Bool = false) throws {
        self.showProgress = showProgress
        if let jsonlURL {
            let path = jsonlURL.path
            do { try FileManager.default.createDirectory(at: jsonlURL.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
                throw OutputError(path: path, problem: "cannot create its folder", remedy: "check the permissions, or choose another location")
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
            guard fd >= 0 else { throw OutputError.system(path, "opening the training log") }
            jsonl = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        } else {
            jsonl = nil
        }
    }

    deinit { try? jsonl?.close() }

    struct StepRecord: Encodable {
        var kind = "step"
        var epoch: Int, step: Int, steps: Int, globalStep: Int
        var losses: [String: Double]
        var learningRate: Float
        var samplesPerSecond: Double
    }

    struct EpochLine: Encodable {
        var kind = "epoch"
        var record: EpochRecord
        var monitorName: String
    }

    func stepFinished(epoch: Int, step: Int, of steps: Int, globalStep: Int, losses: [String: Double],
                      learningRate: Float, samplesPerSecond: Double) {
        write(StepRecord(epoch: epoch, step: step, steps: steps, globalStep: globalStep, losses: losses,
                         learningRate: learningRate, samplesPerSecond: samplesPerSecond))
        guard showProgress else { return }
        let width = 24, done = width * step / max(steps, 1)
        let bar = String(repeating: "█", count: done) + String(repeating: "·", count: width - done)
        let lossText = losses.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value, 4))" }.joined(separator: "  ")
        let line = "epoch \(epoch) \(bar) \(step)/\(steps)  \(lossText)  \(Int(samplesPerSecond)) samples/s"
        emit(interactive ? "\r\u{1B}[2K" + line : line + "\n")
    }

    func epochFinished(_ record: EpochRecord, monitor: String) {
        write(EpochLine(record: record, monitorName: monitor))
        guard showProgress else { return }
        let metrics = record.validation.sorted { $0.key < $1.key }.map { task, values in
            "\(task): " + values.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value, 4))" }.joined(separator: " ")
        }.joined(separator: " | ")
        emit((interactive ? "\n" : "") + "epoch \(record.epoch) validation  \(metrics)  [\(monitor) = \(format(record.monitor, 5))"
             + (record.improved ? ", best]" : "]") + String(format: "  %.1fs\n", record.seconds))
    }

    /// Prints a free-form line (warnings, phase changes).
    public func note(_ text: String) {
        if showProgress { emit(text + "\n") }
    }

    private func write<Record: Encodable>(_ record: Record) {
        guard let jsonl, var data = try? encoder.encode(record) else { return }
        data.append(0x0A)
        jsonl.write(data)
    }

    private func emit(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    private func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
