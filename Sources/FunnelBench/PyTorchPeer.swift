import Foundation

/// Runs `bench/pytorch_reference.py` (the PyTorch side of a benchmark) and reads its JSON lines.
/// PyTorch is a benchmarking tool only, never a dependency of Funnel: if it is missing, the peer reports why.
public struct PyTorchPeer {
    /// The script, found relative to the working directory or `FUNNEL_ROOT`.
    public let script: String

    public init(script: String? = nil) {
        let root = ProcessInfo.processInfo.environment["FUNNEL_ROOT"] ?? FileManager.default.currentDirectoryPath
        self.script = script ?? "\(root)/bench/pytorch_reference.py"
    }

    public enum Failure: Error, CustomStringConvertible {
        case missingScript(String)
        case failed(status: Int32, output: String)

        public var description: String {
            switch self {
            case .missingScript(let path): return "PyTorch peer script not found at \(path) (run from the repository root or set FUNNEL_ROOT)"
            case .failed(let status, let output): return "PyTorch peer exited with status \(status): \(output.suffix(600))"
            }
        }
    }

    /// Runs the script with `arguments` plus `--json` and returns one dictionary per JSON line it printed.
    public func run(_ arguments: [String]) throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: script) else { throw Failure.missingScript(script) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments + ["--json"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure.failed(status: process.terminationStatus, output: errorText) }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}
