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
        } catch let error as OutputError {
            guard let operation = error.operation, let code = error.code else { throw error }
            throw TableCacheError(path: url.path, reason: .system(operation: operation, errno: code))
        }
    }

    private static func writeAtomically(to url: URL, chunks: [[UInt8]], sources: [Source], columns: [TableCacheHeader.Column],
                                        fileLength: Int) throws {
        // The cache is Funnel's own file (a stale one is replaced).
        let file = try OutputFile(url, overwrite: true)
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
        try file.commit()
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
