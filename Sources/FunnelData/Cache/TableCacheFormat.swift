import Foundation

#if _endian(big)
#error("The table cache stores little-endian columns and maps them in place; big-endian hosts are not supported.")
#endif

/// The binary columnar cache file of an `EncodedTable` (`.ftc`), version 1.
///
/// ```
/// offset  bytes  field
///      0      8  magic "FUNNELTC"
///      8      4  format version, UInt32 little-endian (1)
///     12      4  header length H in bytes, UInt32
///     16      8  total file length in bytes, UInt64 (a shorter file is truncated)
///     24      8  XXH64 of the header bytes, UInt64
///     32      H  header: UTF-8 JSON (`TableCacheHeader`)
///       …        zero padding to a multiple of 64
///                columns, each starting at a multiple of 64 bytes, zero padding between
/// ```
/// The header holds the row count, the `FeatureLayout`, the `TaskSpec`s, the content key (see `CacheKey`)
/// and one entry per column: name, element type, byte offset, element count and XXH64 checksum. Columns are
/// raw little-endian arrays laid out exactly as in `EncodedTable`:
///
/// | name                     | type  | count                 |
/// |--------------------------|-------|-----------------------|
/// | `ids`                    | int32 | rows · F_cat          |
/// | `numeric`                | float | rows · numericCount   |
/// | `labels`                 | float | rows · tasks          |
/// | `weights` (optional)     | float | rows · tasks          |
/// | `groups` (optional)      | int64 | rows                  |
/// | `multiValued.<i>.offsets`| int32 | rows + 1              |
/// | `multiValued.<i>.ids`    | int32 | last offset           |
///
/// Readers map the file and use the columns in place, so a cache is only ever read on the machine kind
/// that wrote it (little-endian, IEEE-754 `Float`).
public enum TableCacheFormat {
    public static let magic: [UInt8] = Array("FUNNELTC".utf8)
    public static let version: UInt32 = 1
    /// Bytes before the header.
    public static let prefixLength = 32
    /// Alignment of every column (a cache line; also suits AVX loads).
    public static let alignment = 64

    /// `value` rounded up to a multiple of `alignment`.
    static func aligned(_ value: Int) -> Int { (value + alignment - 1) / alignment * alignment }
}

/// The JSON header of a table-cache file.
struct TableCacheHeader: Codable, Equatable {
    enum ElementType: String, Codable {
        case int32, float, int64
        var size: Int { self == .int64 ? 8 : 4 }
    }

    struct Column: Codable, Equatable {
        var name: String
        var type: ElementType
        /// Byte offset from the start of the file.
        var offset: Int
        /// Number of elements.
        var count: Int
        /// XXH64 of the column's bytes, as 16 hex digits (JSON numbers lose precision past 2^53).
        var checksum: String

        var byteCount: Int { count * type.size }
    }

    /// `value` as 16 lowercase hex digits.
    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    var key: String
    var rowCount: Int
    var layout: FeatureLayout
    var tasks: [TaskSpec]
    var columns: [Column]
}

/// Why a table-cache file cannot be used. Every error names the file; a cache that fails any check is never
/// read (`TableCache.load` rebuilds it).
public struct TableCacheError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The file is shorter than its header says (or than the fixed prefix).
        case truncated(expectedBytes: Int, actualBytes: Int)
        /// The file is longer than its header says.
        case trailingBytes(expectedBytes: Int, actualBytes: Int)
        /// The first 8 bytes are not `FUNNELTC`: not a table cache.
        case wrongMagic
        /// Written by a different format version.
        case unsupportedVersion(UInt32)
        /// The header is unreadable, fails its checksum, or describes columns that do not fit the table.
        case corruptHeader(String)
        /// A column's bytes do not match their checksum.
        case checksumMismatch(column: String)
        /// The cache was built from other inputs (schema, source files or feature map changed).
        case staleKey(expected: String, found: String)
        /// A system call failed.
        case system(operation: String, errno: Int32)
    }

    /// Path of the cache file.
    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let why: String
        switch reason {
        case let .truncated(expected, actual): why = "truncated: \(actual) bytes, expected \(expected)"
        case let .trailingBytes(expected, actual): why = "\(actual) bytes, expected \(expected): trailing data"
        case .wrongMagic: why = "not a Funnel table cache (wrong magic)"
        case let .unsupportedVersion(found): why = "format version \(found), this build reads \(TableCacheFormat.version)"
        case let .corruptHeader(detail): why = "corrupt header: \(detail)"
        case let .checksumMismatch(column): why = "column '\(column)' fails its checksum (corrupt data)"
        case let .staleKey(expected, found): why = "stale: built from other inputs (key \(found.prefix(12))…, expected \(expected.prefix(12))…)"
        case let .system(operation, code): why = "\(operation) failed: \(String(cString: strerror(code)))"
        }
        return "table cache \(path): \(why)"
    }
}
