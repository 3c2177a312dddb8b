import Foundation
import XCTest
@testable import FunnelData

final class TableCacheTests: XCTestCase {
    private let key = String(repeating: "ab", count: 32)

    func testRoundTripIsBitIdentical() throws {
        let directory = try TableFixtures.directory(for: self)
        for (rows, weights, groups) in [(1_000, true, true), (37, false, false), (0, true, false)] {
            let table = TableFixtures.table(rows: rows, seed: UInt64(rows), weights: weights, groups: groups)
            let url = directory.appendingPathComponent("t\(rows).ftc")
            try TableCache.write(table, to: url, key: key)
            let mapped = try MappedTable(contentsOf: url, expectedKey: key)
            XCTAssertEqual(mapped.key, key)
            XCTAssertEqual(mapped.rowCount, rows)
            assertBitIdentical(mapped.materialized(), table)
            assertBitIdentical(mapped.batch(rows: []), table.batch(rows: []))
        }
    }

    func testColumnsAreAlignedAndFileSizeIsRawColumnsPlusHeader() throws {
        let table = TableFixtures.table(rows: 500, seed: 3)
        let url = try TableFixtures.directory(for: self).appendingPathComponent("t.ftc")
        try TableCache.write(table, to: url, key: key)
        let header = try Self.header(of: url)
        XCTAssertEqual(header.columns.map(\.name), ["ids", "numeric", "labels", "weights", "groups", "multiValued.0.offsets",
                                                    "multiValued.0.ids", "multiValued.1.offsets", "multiValued.1.ids"])
        XCTAssertTrue(header.columns.allSatisfy { $0.offset % 64 == 0 })
        let raw = header.columns.reduce(0) { $0 + $1.byteCount }
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
        XCTAssertEqual(size, header.columns.last!.offset + header.columns.last!.byteCount)
        XCTAssertLessThan(size - raw, 4096 + 64 * header.columns.count, "header and padding only")
    }

    func testBatchesEqualTheInMemoryTableForTheSameSeed() throws {
        let table = TableFixtures.table(rows: 1_001, seed: 11)
        let url = try TableFixtures.directory(for: self).appendingPathComponent("t.ftc")
        try TableCache.write(table, to: url, key: key)
        let mapped = try MappedTable(contentsOf: url)
        let order = mapped.batches(size: 100, shuffleSeed: 42, dropSingleton: true)
        XCTAssertEqual(order, table.batches(size: 100, shuffleSeed: 42, dropSingleton: true))
        XCTAssertEqual(order.count, 10, "the final single row is dropped")
        for rows in order {
            let (expected, actual) = (table.batch(rows: rows), mapped.batch(rows: rows))
            XCTAssertNotNil(actual.masks, "conversion's loss space is the clicked rows")
            assertBitIdentical(actual, expected)
        }
    }

    func testTruncatedFileIsRejected() throws {
        let url = try writeCache()
        let size = try Self.size(of: url)
        try FileHandle(forWritingTo: url).truncate(atOffset: UInt64(size - 1))
        assertRejected(url, because: .truncated(expectedBytes: size, actualBytes: size - 1))
        try FileHandle(forWritingTo: url).truncate(atOffset: 10)
        assertRejected(url, because: .truncated(expectedBytes: 32, actualBytes: 10))
    }

    func testWrongMagicAndVersionAreRejected() throws {
        let url = try writeCache()
        try Self.patch(url, at: 0, with: Array("PAR1".utf8))
        assertRejected(url, because: .wrongMagic)
        let other = try writeCache()
        try Self.patch(other, at: 8, with: [2, 0, 0, 0])
        assertRejected(other, because: .unsupportedVersion(2))
    }

    func testCorruptHeaderIsRejected() throws {
        let url = try writeCache()
        try Self.patch(url, at: 40, with: [UInt8(ascii: "~")])
        assertRejected(url, because: .corruptHeader("checksum mismatch"))
    }

    func testCorruptColumnIsRejectedByItsChecksum() throws {
        let url = try writeCache()
        let column = try Self.header(of: url).columns.first { $0.name == "labels" }!
        try Self.patch(url, at: column.offset + 4 * 17, with: [0x3F, 0x80, 0x00, 0x01])
        assertRejected(url, because: .checksumMismatch(column: "labels"))
        // Only the checksum catches it: without verification the (plausible) bytes are read as they are.
        XCTAssertNoThrow(try MappedTable(contentsOf: url, verifyChecksums: false))
    }

    func testStaleKeyIsDetected() throws {
        let url = try writeCache()
        let other = String(repeating: "cd", count: 32)
        assertRejected(url, key: other, because: .staleKey(expected: other, found: key))
    }

    func testErrorNamesTheFileAndReason() throws {
        let url = try writeCache()
        try FileHandle(forWritingTo: url).truncate(atOffset: 100)
        XCTAssertThrowsError(try MappedTable(contentsOf: url)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(url.path) && text.contains("truncated"), text)
        }
    }

    func testLoadReusesValidCachesAndRebuildsStaleOrCorruptOnes() throws {
        let url = try TableFixtures.directory(for: self).appendingPathComponent("t.ftc")
        let table = TableFixtures.table(rows: 300, seed: 5)
        var builds = 0
        func load(_ key: String) throws -> (MappedTable, TableCache.Outcome) {
            try TableCache.load(url, key: key) { builds += 1; return table }
        }
        XCTAssertEqual(try load(key).1, .built(reason: nil))
        let (reused, outcome) = try load(key)
        XCTAssertEqual(outcome, .reused)
        XCTAssertEqual(builds, 1)
        assertBitIdentical(reused.materialized(), table)

        let newKey = String(repeating: "ef", count: 32)
        XCTAssertEqual(try load(newKey).1, .built(reason: TableCacheError(path: url.path, reason: .staleKey(expected: newKey, found: key))))
        XCTAssertEqual(builds, 2)

        let ids = try Self.header(of: url).columns.first { $0.name == "ids" }!
        try Self.patch(url, at: ids.offset, with: [0xFF])
        XCTAssertEqual(try load(newKey).1, .built(reason: TableCacheError(path: url.path, reason: .checksumMismatch(column: "ids"))))
        XCTAssertEqual(try load(newKey).1, .reused)
        XCTAssertEqual(builds, 3)
    }

    func testCacheKeyChangesWithEveryInput() throws {
        let directory = try TableFixtures.directory(for: self)
        let source = directory.appendingPathComponent("train.csv")
        try Data("a,b\n1,2\n".utf8).write(to: source)
        let map = Data(#"{"a":[1,2]}"#.utf8)
        let base = try CacheKey.make(schema: "s", sources: [source], featureMap: map)
        XCTAssertEqual(base.count, 64)
        XCTAssertEqual(base, try CacheKey.make(schema: "s", sources: [source], featureMap: map))
        XCTAssertNotEqual(base, try CacheKey.make(schema: "s2", sources: [source], featureMap: map))
        XCTAssertNotEqual(base, try CacheKey.make(schema: "s", sources: [source], featureMap: Data(#"{"a":[1]}"#.utf8)))
        XCTAssertNotEqual(base, try CacheKey.make(schema: "s", sources: [], featureMap: map))
        // Same size, new modification time.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000)], ofItemAtPath: source.path)
        let touched = try CacheKey.make(schema: "s", sources: [source], featureMap: map)
        XCTAssertNotEqual(base, touched)
        // Same modification time, new size.
        try Data("a,b\n1,2\n3,4\n".utf8).write(to: source)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000)], ofItemAtPath: source.path)
        XCTAssertNotEqual(touched, try CacheKey.make(schema: "s", sources: [source], featureMap: map))
        XCTAssertThrowsError(try CacheKey.make(schema: "s", sources: [directory.appendingPathComponent("missing.csv")], featureMap: map))
    }

    // MARK: - Atomic writes

    /// A directory where the cache should go is refused before anything is written (OutputGuard), and stays.
    func testADirectoryInTheWayIsRefusedAndLeavesNoTemporaryFile() throws {
        let directory = try TableFixtures.directory(for: self)
        let occupied = directory.appendingPathComponent("t.ftc")
        try FileManager.default.createDirectory(at: occupied.appendingPathComponent("inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try TableCache.write(TableFixtures.table(rows: 50, seed: 1), to: occupied, key: key)) { error in
            XCTAssertEqual((error as? OutputError)?.problem, "is a directory")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: occupied.path), ["inside"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["t.ftc"])
    }

    func testMissingDirectoryIsReported() throws {
        let url = try TableFixtures.directory(for: self).appendingPathComponent("no/such/t.ftc")
        XCTAssertThrowsError(try TableCache.write(TableFixtures.table(rows: 5, seed: 1), to: url, key: key)) { error in
            guard case .system(let operation, let code)? = (error as? TableCacheError)?.reason else { return XCTFail("\(error)") }
            XCTAssertTrue(operation.hasPrefix("create"), operation)
            XCTAssertEqual(code, ENOENT)
            XCTAssertTrue(String(describing: error).contains(url.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.deletingLastPathComponent().path))
    }

    /// A write that fails halfway (here: the file-size limit, as a full disk would) removes its temporary file
    /// and leaves the previous cache intact.
    func testWriteFailingHalfwayKeepsThePreviousCache() throws {
        let directory = try TableFixtures.directory(for: self)
        let url = directory.appendingPathComponent("t.ftc")
        try TableCache.write(TableFixtures.table(rows: 10, seed: 1), to: url, key: key)
        let previous = try Data(contentsOf: url)

        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var limited = saved
        limited.rlim_cur = 64 * 1024
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited), 0)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
            signal(SIGXFSZ, oldHandler)
        }
        XCTAssertThrowsError(try TableCache.write(TableFixtures.table(rows: 20_000, seed: 2), to: url, key: "new")) { error in
            guard case .system(let operation, let code)? = (error as? TableCacheError)?.reason else { return XCTFail("\(error)") }
            XCTAssertTrue(operation.hasPrefix("write"), operation)
            XCTAssertEqual(code, EFBIG)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["t.ftc"])
        XCTAssertEqual(try Data(contentsOf: url), previous)
        XCTAssertEqual(try MappedTable(contentsOf: url).key, key)
    }

    // MARK: - Helpers

    private func writeCache() throws -> URL {
        let url = try TableFixtures.directory(for: self).appendingPathComponent("t.ftc")
        try TableCache.write(TableFixtures.table(rows: 200, seed: 9), to: url, key: key)
        return url
    }

    private func assertRejected(_ url: URL, key: String? = nil, because reason: TableCacheError.Reason,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try MappedTable(contentsOf: url, expectedKey: key ?? self.key), file: file, line: line) { error in
            XCTAssertEqual(error as? TableCacheError, TableCacheError(path: url.path, reason: reason), file: file, line: line)
        }
    }

    static func header(of url: URL) throws -> TableCacheHeader {
        let data = try Data(contentsOf: url)
        let length = data[12..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return try JSONDecoder().decode(TableCacheHeader.self, from: data[32..<32 + length])
    }

    static func size(of url: URL) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
    }

    static func patch(_ url: URL, at offset: Int, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        handle.write(Data(bytes))
    }
}
