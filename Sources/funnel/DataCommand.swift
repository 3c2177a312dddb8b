import ArgumentParser
import Foundation
import FunnelData

/// `funnel data …`: the public datasets Funnel knows, and their verified, resumable download.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Datasets: prepare one from a schema (recipes/*.yaml); list and download the public ones (SHA-256 verified, resumable).",
        subcommands: [Prepare.self, Export.self, List.self, Download.self])
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

extension DataCommand {
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read, split, fit the feature map on train, encode; print a summary and optionally save the map.")

        @Option(help: "The dataset schema (YAML or JSON).")
        var schema: String

        @Option(help: "Directory the schema's relative file names resolve against (default: the schema's folder).")
        var dataDir: String?

        @Option(help: "Write the fitted feature map (JSON) here.")
        var featureMap: String?

        @Flag(help: "Skip and count malformed rows instead of stopping at the first.")
        var skipBadRows = false

        @Flag(help: "Replace an existing --feature-map file.")
        var overwrite = false

        func run() throws {
            if let featureMap { try OutputGuard.checkFile(URL(fileURLWithPath: featureMap), overwrite: overwrite) }
            let options = PreparedDataset.Options(dataDirectory: dataDir.map { URL(fileURLWithPath: $0) },
                                                  badRows: skipBadRows ? .skip : nil)
            let data = try PreparedDataset.load(schemaURL: URL(fileURLWithPath: schema), options: options)
            print(data.summary)
            if let featureMap {
                try data.featureMap.save(to: URL(fileURLWithPath: featureMap), overwrite: overwrite)
                print("feature map: \(featureMap)")
            }
        }
    }
}

extension DataCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prepare a dataset and write its train/validation/test splits as NumPy files (bench/pytorch_train.py).",
            discussion: "Writes SPLIT_ids.npy (int32 [rows, categorical fields], per-field ids), SPLIT_numeric.npy, "
                + "SPLIT_labels.npy (float32) and meta.json (layout, tasks). Multi-valued fields are not exported.")

        @Option(help: "The dataset schema (YAML or JSON).")
        var schema: String

        @Option(help: "Directory the schema's relative file names resolve against (default: the schema's folder).")
        var dataDir: String?

        @Option(help: "Output directory (created if needed; an existing one must be empty or an earlier export).")
        var out: String

        @Flag(help: "Write into an existing directory that is not an earlier export (only the export's files are replaced).")
        var overwrite = false

        func run() throws {
            try OutputGuard.checkDirectory(URL(fileURLWithPath: out), use: .filled, markers: ["meta.json"], overwrite: overwrite)
            let options = PreparedDataset.Options(dataDirectory: dataDir.map { URL(fileURLWithPath: $0) })
            let data = try PreparedDataset.load(schemaURL: URL(fileURLWithPath: schema), options: options)
            print(data.summary)
            try NumPyExport.write(["train": data.train, "validation": data.validation, "test": data.test],
                                  to: URL(fileURLWithPath: out), overwrite: overwrite)
            print("exported: \(out)")
        }
    }
}
