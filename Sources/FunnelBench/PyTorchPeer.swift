import Foundation

/// Runs a Python peer script — `bench/pytorch_reference.py` (the PyTorch side of a benchmark) by default — and
/// reads its JSON lines. The peers are benchmarking tools only, never dependencies of Funnel: if one is missing,
/// the peer reports why.
public struct PyTorchPeer {
    /// The script, found relative to the working directory or `FUNNEL_ROOT`.
    public let script: String
    /// Environment variables removed for the peer's process only.
    public let removedEnvironment: [String]

    /// `script`: a path, or nil for `bench/pytorch_reference.py`; `named`: a file in `bench/` instead.
    public init(script: String? = nil, named: String? = nil, removingEnvironment: [String] = []) {
        let root = ProcessInfo.processInfo.environment["FUNNEL_ROOT"] ?? FileManager.default.currentDirectoryPath
        self.script = script ?? "\(root)/bench/\(named ?? "pytorch_reference.py")"
        removedEnvironment = removingEnvironment
    }

    /// The OpenBLAS GEMM peer (`bench/openblas_gemm.py`, numpy), with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE`
    /// unset so that OpenBLAS chooses its kernels from the CPU.
    public static var openBLAS: PyTorchPeer {
        PyTorchPeer(named: "openblas_gemm.py", removingEnvironment: ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"])
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
        if !removedEnvironment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.filter { !removedEnvironment.contains($0.key) }
        }
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
