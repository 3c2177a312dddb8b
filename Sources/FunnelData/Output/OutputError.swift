import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output Funnel refuses to write, or a file-system call on an output that failed: the path, what is wrong,
/// and what to do about it, on one line (`runs/x: exists and is not a checkpoint directory; choose …`).
public struct OutputError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var problem: String
    /// What the person can do (empty when nothing obvious).
    public var remedy: String
    /// The failed system call and its `errno`, for `system` errors.
    public var operation: String?
    public var code: Int32?

    public init(path: String, problem: String, remedy: String = "", operation: String? = nil, code: Int32? = nil) {
        self.path = path
        self.problem = problem
        self.remedy = remedy
        self.operation = operation
        self.code = code
    }

    /// A failed system call on `path`, with `errno`'s text and the usual remedy for it.
    public static func system(_ path: String, _ operation: String, errno code: Int32 = errno) -> OutputError {
        let remedy: String
        switch code {
        case EACCES, EPERM, EROFS: remedy = "check the permissions of the folder, or choose another location"
        case ENOSPC, EDQUOT: remedy = "free disk space, or choose another location"
        case ENOENT: remedy = "check that the folder exists"
        case EISDIR: remedy = "name a file, not a directory"
        case ENOTDIR: remedy = "a part of the path is a file, not a folder"
        default: remedy = ""
        }
        return OutputError(path: path, problem: "\(operation) failed: \(String(cString: strerror(code)))", remedy: remedy,
                           operation: operation, code: code)
    }

    public var description: String { "\(path): \(problem)" + (remedy.isEmpty ? "" : "; \(remedy)") }
    public var errorDescription: String? { description }
}
