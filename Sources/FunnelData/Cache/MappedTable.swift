import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A table-cache file (`TableCacheFormat`) mapped read-only into memory: the columns are used in place, so
/// opening costs no parsing and no copy, pages are shared with the OS file cache across runs, and batches
/// gather their rows straight from the mapping. Gives the same batches as the `EncodedTable` it was written
/// from, bit for bit.
///
/// Opening checks everything before any column is used: magic, version, length, the header's checksum and
/// shape against the layout and tasks, the content key, multi-valued offsets, and (unless disabled) every
/// column's checksum. Any failure throws a `TableCacheError` naming the file.
public final class MappedTable: BatchSource, @unchecked Sendable {
    public let url: URL
    /// The content key the file was written with.
    public let key: String
    public let layout: FeatureLayout
    public let tasks: [TaskSpec]
    public let rowCount: Int
    /// Length of the file (and of the mapping) in bytes.
    public let byteCount: Int
    private let base: UnsafeMutableRawPointer
    private let columns: ColumnSet<UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Int64>>

    /// Maps the cache at `url`. With `expectedKey`, a file written with another key is rejected as stale. With
    /// `verifyChecksums` (the default), every column is read once and checked against its XXH64 checksum.
    public init(contentsOf url: URL, expectedKey: String? = nil, verifyChecksums: Bool = true) throws {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw TableCacheError(path: path, reason: .system(operation: "open", errno: errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw TableCacheError(path: path, reason: .system(operation: "stat", errno: errno))
        }
        let size = Int(info.st_size)
        guard size >= TableCacheFormat.prefixLength else {
            throw TableCacheError(path: path, reason: .truncated(expectedBytes: TableCacheFormat.prefixLength, actualBytes: size))
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw TableCacheError(path: path, reason: .system(operation: "mmap", errno: errno))
        }
        do {
            let reader = CacheFileReader(base: UnsafeRawPointer(mapping), size: size, path: path)
            let header = try reader.header()
            if let expectedKey, header.key != expectedKey {
                throw TableCacheError(path: path, reason: .staleKey(expected: expectedKey, found: header.key))
            }
            columns = try reader.columns(of: header, verifyChecksums: verifyChecksums)
            self.url = url
            key = header.key
            layout = header.layout
            tasks = header.tasks
            rowCount = header.rowCount
            byteCount = size
            base = mapping
        } catch {
            munmap(mapping, size)
            throw error
        }
    }

    deinit { munmap(base, byteCount) }

    /// The batch made of `rows` (row indices, in that order), with each task's loss-space mask.
    public func batch(rows: [Int]) -> Batch {
        columns.batch(rows: rows, layout: layout, tasks: tasks)
    }

    /// A copy of the whole table in memory.
    public func materialized() -> EncodedTable {
        EncodedTable(layout: layout, tasks: tasks, rowCount: rowCount, ids: Array(columns.ids),
                     multiValued: columns.multiValued.map { MultiValuedIDs(offsets: Array($0.offsets), ids: Array($0.ids)) },
                     numeric: Array(columns.numeric), labels: Array(columns.labels), weights: columns.weights.map { Array($0) },
                     groups: columns.groups.map { Array($0) })
    }
}

/// Validates a mapped cache file and hands out typed views of its columns.
private struct CacheFileReader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String

    func failure(_ reason: TableCacheError.Reason) -> TableCacheError { TableCacheError(path: path, reason: reason) }

    func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The prefix and JSON header, checked.
    func header() throws -> TableCacheHeader {
        guard UnsafeRawBufferPointer(start: base, count: 8).elementsEqual(TableCacheFormat.magic) else {
            throw failure(.wrongMagic)
        }
        let version = load(UInt32.self, at: 8)
        guard version == TableCacheFormat.version else { throw failure(.unsupportedVersion(version)) }
        let headerLength = Int(load(UInt32.self, at: 12))
        let declared = load(UInt64.self, at: 16)
        guard declared <= UInt64(Int.max) else { throw failure(.corruptHeader("file length \(declared)")) }
        if Int(declared) > size { throw failure(.truncated(expectedBytes: Int(declared), actualBytes: size)) }
        if Int(declared) < size { throw failure(.trailingBytes(expectedBytes: Int(declared), actualBytes: size)) }
        guard TableCacheFormat.prefixLength + headerLength <= size else {
            throw failure(.corruptHeader("header length \(headerLength) exceeds the file"))
        }
        let headerBytes = UnsafeRawBufferPointer(start: base + TableCacheFormat.prefixLength, count: headerLength)
        guard XXHash64.hash(headerBytes) == load(UInt64.self, at: 24) else {
            throw failure(.corruptHeader("checksum mismatch"))
        }
        do {
            return try JSONDecoder().decode(TableCacheHeader.self, from: Data(headerBytes))
        } catch {
            throw failure(.corruptHeader("unreadable JSON: \(error)"))
        }
    }

    /// Typed views of the columns `header` lists, after checking they are exactly the columns its table needs.
    func columns(of header: TableCacheHeader, verifyChecksums: Bool)
        throws -> ColumnSet<UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Int64>> {
        let rows = header.rowCount, taskCount = header.tasks.count
        guard rows >= 0 else { throw failure(.corruptHeader("row count \(rows)")) }
        let dataStart = TableCacheFormat.aligned(TableCacheFormat.prefixLength + Int(load(UInt32.self, at: 12)))
        var byName: [String: TableCacheHeader.Column] = [:]
        for column in header.columns {
            guard byName.updateValue(column, forKey: column.name) == nil else {
                throw failure(.corruptHeader("column '\(column.name)' listed twice"))
            }
            guard column.offset % TableCacheFormat.alignment == 0, column.offset >= dataStart, column.count >= 0,
                  column.offset + column.byteCount <= size else {
                throw failure(.corruptHeader("column '\(column.name)' at \(column.offset) (\(column.count) elements) is misplaced"))
            }
            if verifyChecksums {
                let found = XXHash64.hash(UnsafeRawBufferPointer(start: base + column.offset, count: column.byteCount))
                guard TableCacheHeader.hex(found) == column.checksum else { throw failure(.checksumMismatch(column: column.name)) }
            }
        }
        var used: Set<String> = []
        func column<T>(_ name: String, _ type: TableCacheHeader.ElementType, count: Int?, as _: T.Type) throws -> UnsafeBufferPointer<T>? {
            guard let column = byName[name] else { return nil }
            guard column.type == type, count.map({ $0 == column.count }) ?? true else {
                throw failure(.corruptHeader("column '\(name)': \(column.count) × \(column.type.rawValue), expected \(count.map(String.init) ?? "any") × \(type.rawValue)"))
            }
            used.insert(name)
            return UnsafeBufferPointer(start: (base + column.offset).assumingMemoryBound(to: T.self), count: column.count)
        }
        func required<T>(_ name: String, _ type: TableCacheHeader.ElementType, count: Int?, as _: T.Type) throws -> UnsafeBufferPointer<T> {
            guard let view = try column(name, type, count: count, as: T.self) else { throw failure(.corruptHeader("no column '\(name)'")) }
            return view
        }
        let ids = try required("ids", .int32, count: rows * header.layout.vocabularySizes.count, as: Int32.self)
        let numeric = try required("numeric", .float, count: rows * header.layout.numericCount, as: Float.self)
        let labels = try required("labels", .float, count: rows * taskCount, as: Float.self)
        let weights = try column("weights", .float, count: rows * taskCount, as: Float.self)
        let groups = try column("groups", .int64, count: rows, as: Int64.self)
        let multiValued = try header.layout.multiValued.indices.map { i -> (offsets: UnsafeBufferPointer<Int32>, ids: UnsafeBufferPointer<Int32>) in
            let offsets = try required("multiValued.\(i).offsets", .int32, count: rows + 1, as: Int32.self)
            let values = try required("multiValued.\(i).ids", .int32, count: nil, as: Int32.self)
            guard offsets[0] == 0, zip(offsets.dropFirst(), offsets).allSatisfy({ $0 >= $1 }),
                  Int(offsets[rows]) == values.count else {
                throw failure(.corruptHeader("multi-valued field \(i): offsets are not a valid index of its \(values.count) ids"))
            }
            return (offsets, values)
        }
        if let extra = Set(byName.keys).subtracting(used).sorted().first {
            throw failure(.corruptHeader("unexpected column '\(extra)'"))
        }
        return ColumnSet(rowCount: rows, ids: ids, multiValued: multiValued, numeric: numeric, labels: labels, weights: weights, groups: groups)
    }
}
