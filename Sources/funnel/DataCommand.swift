import ArgumentParser
import Foundation
import FunnelData

/// `funnel data …`: the public datasets Funnel knows, and their verified, resumable download.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Public datasets: list them, download them (SHA-256 verified, resumable).",
        subcommands: [List.self, Download.self])
}

extension DataCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The datasets `funnel data download` knows.")

        func run() {
            for dataset in DatasetRegistry.all {
                print(dataset.summary)
                print("    \(dataset.homepage.absoluteString) — \(dataset.license)")
                if let manual = dataset.manualDownload { print("    manual: \(manual)") }
            }
        }
    }

    struct Download: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a dataset; an interrupted download resumes from its .part file when run again.")

        @Argument(help: "Dataset name (see `funnel data list`).")
        var name: String

        @Option(name: .customLong("to"), help: ArgumentHelp("Directory to download into (default: data/<name>).", valueName: "dir"))
        var directory: String?

        @Option(help: "Connection attempts per file; each retry resumes where the last one stopped.")
        var attempts = 3

        func run() throws {
            let target = URL(fileURLWithPath: directory ?? "data/\(name)")
            let printer = ProgressPrinter()
            do {
                let files = try DatasetDownloader(maxAttempts: attempts).download(dataset: name, to: target) { printer.show($0) }
                printer.finish()
                for file in files { print(file.path) }
            } catch let error as DownloadError {
                printer.finish()
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}

/// One self-overwriting progress line on standard error, redrawn when the whole percentage changes.
private final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var last = ""

    func show(_ progress: DownloadProgress) {
        let line = progress.description
        lock.withLock {
            guard line != last else { return }
            last = line
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        }
    }

    func finish() {
        lock.withLock { if !last.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) } }
    }
}
