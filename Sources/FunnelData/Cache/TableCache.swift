import Foundation

/// The binary columnar cache of encoded tables: the first run parses CSV and writes the cache, later epochs
/// and runs map it (`MappedTable`) and skip parsing. The file format is `TableCacheFormat`.
public enum TableCache {
    /// How `load` obtained its table.
    public enum Outcome: Equatable, Sendable {
        /// The existing cache was valid and is used.
        case reused
        /// The cache was (re)built: there was no file, or the existing one failed a check (`reason`).
        case built(reason: TableCacheError?)
    }

    /// Writes `table` to `url` atomically (temporary file in the same directory, `fsync`, rename), tagged with
    /// the content `key`. On failure no file is left behind and any previous cache at `url` is untouched.
    public static func write(_ table: EncodedTable, to url: URL, key: String) throws {
        try TableCacheWriter.write(table, to: url, key: key)
    }

    /// The table cached at `url` if it exists, is intact and carries `key`; otherwise builds the table with
    /// `build`, writes it to `url` and maps the new file. A stale or corrupt cache is reported in the outcome,
    /// never used.
    public static func load(_ url: URL, key: String, verifyChecksums: Bool = true,
                            build: () throws -> EncodedTable) throws -> (table: MappedTable, outcome: Outcome) {
        var reason: TableCacheError?
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                return (try MappedTable(contentsOf: url, expectedKey: key, verifyChecksums: verifyChecksums), .reused)
            } catch let error as TableCacheError {
                reason = error
            }
        }
        try write(try build(), to: url, key: key)
        return (try MappedTable(contentsOf: url, expectedKey: key, verifyChecksums: false), .built(reason: reason))
    }
}

/// The content key of a cache: SHA-256 over everything the encoded table is derived from — the schema text,
/// each source file's path, size and modification time, the feature-map JSON and the cache format version.
/// Any change to an input gives a new key, so a stale cache is detected and rebuilt.
public struct CacheKey: Sendable {
    private var hasher = SHA256()

    public init() {
        feed(Array("funnel-table-cache v\(TableCacheFormat.version)".utf8))
    }

    /// Adds the schema file's contents.
    public mutating func addSchema(_ text: String) { feed(Array("schema".utf8)); feed(Array(text.utf8)) }

    /// Adds the feature map (vocabularies, numeric statistics) as serialised JSON.
    public mutating func addFeatureMap(_ json: Data) { feed(Array("feature-map".utf8)); feed(Array(json)) }

    /// Adds a source file by absolute path, size and modification time (not its contents: hashing gigabytes of
    /// CSV on every run would cost what the cache saves).
    public mutating func addSource(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TableCacheError(path: path, reason: .system(operation: "stat source", errno: errno))
        }
        feed(Array("source".utf8))
        feed(Array(path.utf8))
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        feed(Array("\(info.st_size) \(modified.tv_sec).\(modified.tv_nsec)".utf8))
    }

    /// The key: 64 hex digits.
    public var value: String { hasher.hexDigest() }

    /// The key of a schema, its source files and a feature map.
    public static func make(schema: String, sources: [URL], featureMap: Data) throws -> String {
        var key = CacheKey()
        key.addSchema(schema)
        for source in sources { try key.addSource(source) }
        key.addFeatureMap(featureMap)
        return key.value
    }

    /// Length-prefixed, so that no two different input sequences feed the same bytes.
    private mutating func feed(_ bytes: [UInt8]) {
        hasher.update(withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Array($0) })
        hasher.update(bytes)
    }
}
