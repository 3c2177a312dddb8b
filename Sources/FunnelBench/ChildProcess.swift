import Foundation

/// Runs benchmark children (fresh processes of funnel, funnel-mpi under mpirun) and reads what they print.
public enum ChildProcess {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var description: String { "\(command) exited with status \(status)" }
    }

    /// The standard output of `executable arguments…`; throws when it exits non-zero.
    public static func output(of executable: URL, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(command: ([executable.lastPathComponent] + arguments).joined(separator: " "), status: process.terminationStatus)
        }
        return data
    }

    /// The JSON object `executable` prints on its last line, decoded as `T`.
    public static func lastJSONLine<T: Decodable>(of executable: URL, _ arguments: [String], as type: T.Type = T.self) throws -> T {
        let text = String(decoding: try output(of: executable, arguments), as: UTF8.self)
        let line = text.split(separator: "\n").last.map(String.init) ?? "{}"
        return try JSONDecoder().decode(T.self, from: Data(line.utf8))
    }
}
