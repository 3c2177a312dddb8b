import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system steps for crash-safe checkpoints: files written and fsynced, directories fsynced, and an atomic
/// exchange of two directories (Linux `renameat2(RENAME_EXCHANGE)`, Darwin `renamex_np(RENAME_SWAP)`).
enum DurableFiles {
    /// Writes `data` to a new file at `path` and flushes it to disk before returning.
    static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw failure(path, "cannot create") }
        defer { close(fd) }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var written = 0
            while written < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + written, raw.count - written)
                guard n > 0 else {
                    if n < 0 && errno == EINTR { continue }
                    throw failure(path, "write failed")
                }
                written += n
            }
        }
        guard fsync(fd) == 0 else { throw failure(path, "fsync failed") }
    }

    /// Flushes a directory's entries (new or renamed names) to disk.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw failure(path, "cannot open directory") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(path, "fsync of directory failed") }
    }

    /// Renames `source` to `destination` (which must not exist or be an empty directory).
    static func rename(_ source: String, to destination: String) throws {
        guard Foundation.rename(source, destination) == 0 else { throw failure(destination, "rename from \(source) failed") }
    }

    /// Atomically swaps the entries `a` and `b`; false when the system or file system cannot (nothing changed).
    static func exchange(_ a: String, _ b: String) throws -> Bool {
        #if os(Linux)
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        // glibc ≥ 2.28 exports renameat2, but Swift's Glibc module does not declare it (it needs _GNU_SOURCE).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let exchangeFlag: UInt32 = 1 << 1  // RENAME_EXCHANGE
        if renameat2(AT_FDCWD, a, AT_FDCWD, b, exchangeFlag) == 0 { return true }
        #elseif canImport(Darwin)
        if renamex_np(a, b, UInt32(RENAME_SWAP)) == 0 { return true }
        #endif
        if errno == EINVAL || errno == ENOSYS || errno == ENOTSUP { return false }
        throw failure(b, "exchange with \(a) failed")
    }

    private static func failure(_ path: String, _ what: String) -> CheckpointError {
        CheckpointError.io(path: path, detail: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// `write(2)` (a plain call inside `DurableFiles` would resolve to `DurableFiles.write`).
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
