import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file output written the one safe way: `OutputGuard.checkFile` first, then a uniquely named temporary file
/// next to the destination (`.NAME.PID.RANDOM.tmp`), renamed over it by `commit()`. Until then the old file is
/// intact; a failed or killed writer leaves no half-written file under the destination's name (an uncommitted
/// `OutputFile` removes its temporary when released).
///
/// ```swift
/// let output = try OutputFile(url, overwrite: false, inputs: [input])   // checks before any work
/// try output.write(Data("a,b\n".utf8))
/// try output.commit()
/// ```
public final class OutputFile {
    public let destination: URL
    /// The temporary file's path.
    public let temporaryPath: String
    private var descriptor: Int32

    /// Checks `destination` (see `OutputGuard.checkFile`; `overwrite` permits replacing an existing file) and
    /// creates its temporary file (the folder must exist).
    public init(_ destination: URL, overwrite: Bool, inputs: [URL] = []) throws {
        try OutputGuard.checkFile(destination, overwrite: overwrite, inputs: inputs)
        let folder = destination.deletingLastPathComponent()
        self.destination = destination
        temporaryPath = "\(folder.path)/.\(destination.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw OutputError.system(temporaryPath, "create") }
    }

    deinit { discard() }

    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Writes all of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(descriptor >= 0, "write after commit or discard")
        try DurableFiles.writeAll(bytes, to: descriptor, path: temporaryPath)
    }

    /// Flushes the file to disk, renames it to the destination and flushes the folder's entry.
    public func commit() throws {
        precondition(descriptor >= 0, "commit after commit or discard")
        defer { discard() }
        if fsync(descriptor) != 0 { throw OutputError.system(temporaryPath, "fsync") }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 { throw OutputError.system(temporaryPath, "close") }
        try DurableFiles.rename(temporaryPath, to: destination.path)
        try? DurableFiles.syncDirectory(destination.deletingLastPathComponent().path)
    }

    /// Closes and removes the temporary file (nothing after a commit).
    public func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(temporaryPath)
    }

    /// Writes `data` to `url` through an `OutputFile`.
    public static func write(_ data: Data, to url: URL, overwrite: Bool, inputs: [URL] = []) throws {
        let file = try OutputFile(url, overwrite: overwrite, inputs: inputs)
        try file.write(data)
        try file.commit()
    }
}
