import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an `EncodedTable` as a table-cache file (format: `TableCacheFormat`), atomically: the bytes go to a
/// temporary file in the destination's directory, which is flushed to disk (`fsync`) and then renamed over the
/// destination. A reader sees the old file or the complete new one, never a partial file; on any failure the
/// temporary file is removed.
enum TableCacheWriter {
    private struct Source {
        var name: String
        var type: TableCacheHeader.ElementType
        var count: Int
        /// Calls its argument with the column's bytes.
        var withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

        init<Element>(_ name: String, _ type: TableCacheHeader.ElementType, _ values: [Element]) {
            precondition(MemoryLayout<Element>.stride == type.size)
            self.name = name
            self.type = type
            count = values.count
            withBytes = { body in try values.withUnsafeBytes(body) }
        }
    }

    static func write(_ table: EncodedTable, to url: URL, key: String) throws {
        let path = url.path
        var sources = [
            Source("ids", .int32, table.ids),
            Source("numeric", .float, table.numeric),
            Source("labels", .float, table.labels),
        ]
        if let weights = table.weights { sources.append(Source("weights", .float, weights)) }
        if let groups = table.groups { sources.append(Source("groups", .int64, groups)) }
        for (i, field) in table.multiValued.enumerated() {
            sources.append(Source("multiValued.\(i).offsets", .int32, field.offsets))
            sources.append(Source("multiValued.\(i).ids", .int32, field.ids))
        }
        let checksums = try sources.map { source in
            var checksum = ""
            try source.withBytes { checksum = TableCacheHeader.hex(XXHash64.hash($0)) }
            return checksum
        }

        // The header lists column offsets, which depend on the header's own length: grow until stable.
        var dataStart = TableCacheFormat.aligned(TableCacheFormat.prefixLength + 1024)
        var header: [UInt8] = []
        var columns: [TableCacheHeader.Column] = []
        while true {
            var offset = dataStart
            columns = zip(sources, checksums).map { source, checksum in
                defer { offset = TableCacheFormat.aligned(offset + source.count * source.type.size) }
                return .init(name: source.name, type: source.type, offset: offset, count: source.count, checksum: checksum)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            header = Array(try encoder.encode(TableCacheHeader(key: key, rowCount: table.rowCount, layout: table.layout,
                                                               tasks: table.tasks, columns: columns)))
            let needed = TableCacheFormat.aligned(TableCacheFormat.prefixLength + header.count)
            if needed <= dataStart { break }
            dataStart = needed
        }
        let fileLength = columns.last.map { $0.offset + $0.byteCount } ?? dataStart

        var prefix = TableCacheFormat.magic
        appendLittleEndian(TableCacheFormat.version, to: &prefix)
        appendLittleEndian(UInt32(header.count), to: &prefix)
        appendLittleEndian(UInt64(fileLength), to: &prefix)
        appendLittleEndian(header.withUnsafeBytes { XXHash64.hash($0) }, to: &prefix)

        do {
            try writeAtomically(to: url, chunks: [prefix, header], sources: sources, columns: columns, fileLength: fileLength)
        } catch let failure as SystemCallFailure {
            throw TableCacheError(path: path, reason: .system(operation: failure.operation, errno: failure.code))
        }
    }

    private static func writeAtomically(to url: URL, chunks: [[UInt8]], sources: [Source], columns: [TableCacheHeader.Column],
                                        fileLength: Int) throws {
        let file = try TemporaryFile(near: url)
        do {
            var position = 0
            for chunk in chunks {
                try file.write(chunk)
                position += chunk.count
            }
            for (source, column) in zip(sources, columns) {
                try file.write([UInt8](repeating: 0, count: column.offset - position))
                try source.withBytes { try file.write($0) }
                position = column.offset + column.byteCount
            }
            try file.write([UInt8](repeating: 0, count: fileLength - position))
            try file.commit(as: url)
        } catch {
            file.discard()
            throw error
        }
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// A failed system call and its `errno`.
struct SystemCallFailure: Error {
    var operation: String
    var code: Int32
}

/// A uniquely named file next to a destination, renamed over it on `commit` or removed on `discard`.
final class TemporaryFile {
    let path: String
    private var descriptor: Int32

    init(near destination: URL) throws {
        let directory = destination.deletingLastPathComponent().path
        path = "\(directory)/.\(destination.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw SystemCallFailure(operation: "create \(path)", code: errno) }
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Writes all of `bytes`, retrying partial writes and interrupts.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(descriptor, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemCallFailure(operation: "write \(path)", code: errno)
            }
            next += written
            remaining -= written
        }
    }

    /// Flushes the file to disk and renames it to `destination`, then flushes the directory entry.
    func commit(as destination: URL) throws {
        if fsync(descriptor) != 0 { throw SystemCallFailure(operation: "fsync \(path)", code: errno) }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 { throw SystemCallFailure(operation: "close \(path)", code: errno) }
        if rename(path, destination.path) != 0 {
            throw SystemCallFailure(operation: "rename to \(destination.path)", code: errno)
        }
        let directory = open(destination.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// Closes (if open) and removes the temporary file.
    func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(path)
    }
}

/// The C library's `write(2)` (the name is shadowed inside `TemporaryFile`).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
