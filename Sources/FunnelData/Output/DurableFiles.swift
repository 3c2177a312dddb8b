import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system steps for crash-safe outputs: files written and fsynced, directories fsynced, and an atomic
/// exchange of two directories (Linux `renameat2(RENAME_EXCHANGE)`, Darwin `renamex_np(RENAME_SWAP)`). Failures
/// are `OutputError`s naming the path.
public enum DurableFiles {
    /// Writes `data` to a new file at `path` (which must not exist) and flushes it to disk before returning.
    public static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError.system(path, "creating the file") }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll($0, to: fd, path: path) }
        guard fsync(fd) == 0 else { throw OutputError.system(path, "fsync") }
    }

    /// Writes all of `bytes` to the open descriptor `fd` of `path`, retrying partial writes and interrupts.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = posixWrite(fd, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError.system(path, "write")
            }
            next += written
            remaining -= written
        }
    }

    /// Flushes a directory's entries (new or renamed names) to disk.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OutputError.system(path, "opening the directory") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw OutputError.system(path, "fsync of the directory") }
    }

    /// Renames `source` to `destination` (which must not exist, be an empty directory, or — for a file — be a file).
    public static func rename(_ source: String, to destination: String) throws {
        guard Foundation.rename(source, destination) == 0 else { throw OutputError.system(destination, "rename from \(source)") }
    }

    /// Atomically swaps the entries `a` and `b`; false when the system or file system cannot (nothing changed).
    public static func exchange(_ a: String, _ b: String) throws -> Bool {
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
        throw OutputError.system(b, "exchanging with \(a)")
    }
}

/// `write(2)` (a plain call inside `DurableFiles` would resolve to `DurableFiles.write`).
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
