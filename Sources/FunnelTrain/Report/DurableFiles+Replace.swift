import Foundation

extension DurableFiles {
    /// Replaces the file at `path` with `data` crash-safely: written and flushed under a temporary name in the
    /// same directory, renamed over `path`, and the directory flushed.
    static func replace(_ path: String, with data: Data) throws {
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: temporary)
        try write(data, to: temporary)
        try rename(temporary, to: path)
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }
}
