/// A streaming reader of delimited text (CSV, TSV, `, `-separated) that hands out records as byte slices.
///
/// Reads plain or gzip files (gzip detected by magic bytes) in 1 MiB blocks and never builds a `String` per
/// field. Handles RFC 4180 quoting (`"a,b"`, `""` inside quotes, line breaks inside quotes), LF, CRLF and CR line
/// ends, `skipInitialSpace`, a header line, blank lines (skipped) and a last line without a line end.
/// Malformed records — broken quoting or a wrong number of fields — raise a `DataError` naming file, line and
/// column, or are skipped and counted under `BadRowPolicy.skip`; errors thrown by the record callback are
/// treated the same way, so one policy covers reading and encoding.
///
/// Why a reader of our own: the Swift CSV packages available here were measured on the full Census-Income train
/// file (103.9 MB, 199,523 rows × 42 fields, decompressed to disk for them), release build, one core, on a shared
/// 2-core machine (two runs each, the spread is load from other builds), tokenizing every record and counting fields:
///   - swiftcsv/SwiftCSV 0.10.0 (`CSV<Enumerated>(url:)`, `enumerateAsArray`): 16.9–26.0 s (6.2–4.0 MB/s);
///   - yaslab/CSV.swift 2.5.2 (`CSVReader(stream:)`, `next()`): 7.1–14.5 s (14.7–7.2 MB/s);
///   - this reader, same plain file, same machine and load: 0.13 s (~790 MB/s); from the .gz file 0.20–0.26 s,
///     and reading into columns + fitting the feature map takes 0.5–0.6 s (`funnel bench ingest`).
/// Both packages build a `String` per field, which alone exceeds the 2 s budget for read + fit.
public final class CSVReader {
    /// The source's name for error messages (file name without directory).
    public let name: String
    public let dialect: CSVDialect
    /// Column names from the header line (when `dialect.header`).
    public private(set) var header: [String]?
    /// Number of fields every record must have: from the header, else as set by the caller, else the first record's.
    public var expectedFieldCount: Int?
    public let badRows: BadRowPolicy
    /// Rows skipped so far under `BadRowPolicy.skip`.
    public private(set) var report = BadRowReport()
    /// Bytes of text read so far (after decompression).
    public private(set) var bytesRead = 0

    private let stream: ByteStream
    private var buffer: UnsafeMutablePointer<UInt8>
    private var scratch: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var begin = 0, end = 0, eof = false
    /// Line number of the next record's first byte.
    private var line = 1
    private var starts: UnsafeMutablePointer<UnsafePointer<UInt8>>
    private var lengths: UnsafeMutablePointer<Int>
    private var fieldCapacity = 64
    /// 1 for delimiter, CR, LF: the bytes that end an unquoted field.
    private let special: UnsafeMutablePointer<UInt8>
    private let delimiter: UInt8
    private let quote: UInt8?
    private let maxQuotedLines: Int

    /// Opens `path` (plain or gzip) and reads the header line if the dialect has one.
    public convenience init(path: String, dialect: CSVDialect = CSVDialect(), badRows: BadRowPolicy = .fail,
                            bufferSize: Int = 1 << 20) throws {
        try self.init(stream: ByteStream(path: path), dialect: dialect, badRows: badRows, bufferSize: bufferSize)
    }

    /// Reads records from `bytes`; `name` labels errors.
    public convenience init(bytes: [UInt8], name: String, dialect: CSVDialect = CSVDialect(), badRows: BadRowPolicy = .fail,
                            bufferSize: Int = 1 << 20) throws {
        try self.init(stream: ByteStream(bytes: bytes, name: name), dialect: dialect, badRows: badRows, bufferSize: bufferSize)
    }

    init(stream: ByteStream, dialect: CSVDialect, badRows: BadRowPolicy, bufferSize: Int) throws {
        try dialect.validate(schemaName: stream.name)
        self.stream = stream
        self.name = stream.name
        self.dialect = dialect
        self.badRows = badRows
        capacity = max(bufferSize, 2)
        buffer = .allocate(capacity: capacity)
        scratch = .allocate(capacity: capacity)
        starts = .allocate(capacity: fieldCapacity)
        lengths = .allocate(capacity: fieldCapacity)
        delimiter = dialect.delimiterByte
        quote = dialect.quoteByte
        maxQuotedLines = dialect.maxQuotedLines
        special = .allocate(capacity: 256)
        special.initialize(repeating: 0, count: 256)
        special[Int(delimiter)] = 1
        special[10] = 1
        special[13] = 1
        if dialect.header {
            while let outcome = try nextRecord() {
                if case .record(let record) = outcome {
                    header = record.strings
                    var seen: [String: Int] = [:]
                    for (position, column) in record.strings.enumerated() {
                        if let first = seen[column] {
                            throw DataError(.schema, file: name, line: record.line, column: position, columnName: column,
                                            message: "duplicate column name (also column \(first)); rename one in the header")
                        }
                        seen[column] = position
                    }
                    expectedFieldCount = record.count
                    break
                }
                if case .malformed(let error) = outcome { throw error }
            }
        }
    }

    deinit {
        buffer.deallocate()
        scratch.deallocate()
        starts.deallocate()
        lengths.deallocate()
        special.deallocate()
    }

    /// Calls `body` with every record after the header, in file order. A record and its slices are valid only
    /// during the call. A `DataError` thrown by `body` stops reading (`.fail`) or skips the row (`.skip`).
    public func forEachRecord(_ body: (CSVRecord) throws -> Void) throws {
        while let outcome = try nextRecord() {
            do {
                switch outcome {
                case .malformed(let error): throw error
                case .record(let record):
                    if let expected = expectedFieldCount, record.count != expected {
                        throw DataError(.fieldCount, file: name, line: record.line,
                                        message: "expected \(expected) fields, found \(record.count)")
                    }
                    expectedFieldCount = record.count
                    try body(record)
                }
            } catch let error as DataError where badRows == .skip {
                report.record(error)
            }
        }
    }

    /// Number of fields of the next record (the header's, when there is one) without consuming it; nil for an
    /// empty or malformed input.
    public func peekFieldCount() throws -> Int? {
        if let header { return header.count }
        while true {
            if begin == end {
                if eof { return nil }
                try refill()
                continue
            }
            switch parse(from: begin) {
            case .incomplete: try refill()
            case .malformed: return nil
            case .complete(let next, let lines, let fields, let blank):
                guard blank else { return fields }
                begin = next
                line += lines
            }
        }
    }

    private enum Outcome {
        case record(CSVRecord)
        case malformed(DataError)
    }

    private enum Parse {
        case complete(next: Int, lines: Int, fields: Int, blank: Bool)
        case incomplete
        case malformed(DataError, resume: Int, lines: Int)
    }

    /// The next record or malformed record, or nil at the end of the input.
    private func nextRecord() throws -> Outcome? {
        while true {
            if begin == end {
                if eof { return nil }
                try refill()
                continue
            }
            switch parse(from: begin) {
            case .incomplete:
                try refill()
            case .malformed(let error, let resume, let lines):
                begin = resume
                line += lines
                return .malformed(error)
            case .complete(let next, let lines, let fields, let blank):
                let record = CSVRecord(line: line, count: fields, starts: starts, lengths: lengths)
                begin = next
                line += lines
                if blank { continue }
                return .record(record)
            }
        }
    }

    /// Moves the unread tail to the front, grows the buffer if one record fills it, and reads more bytes.
    private func refill() throws {
        if begin > 0 {
            buffer.update(from: buffer + begin, count: end - begin)
            end -= begin
            begin = 0
        }
        if end == capacity {
            let grown = capacity * 2
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            scratch.deallocate()
            buffer = bigger
            scratch = .allocate(capacity: grown)
            capacity = grown
        }
        let n = try stream.read(into: buffer + end, count: capacity - end)
        if n == 0 { eof = true } else { end += n; bytesRead += n }
    }

    /// Tokenizes one record starting at `start`; `.incomplete` when the buffer ends before the record does.
    @inline(__always)
    private func parse(from start: Int) -> Parse {
        let buf = buffer, stop = end, atEOF = eof
        var i = start, fields = 0, lines = 0, scratchUsed = 0
        while true {
            if dialect.skipInitialSpace { while i < stop && buf[i] == 0x20 { i &+= 1 } }
            if fields == fieldCapacity { growFields() }
            if let quote, i < stop, buf[i] == quote {
                i &+= 1
                let contentStart = i, linesBefore = lines
                var escaped = false
                while true {
                    if i == stop && !atEOF { return .incomplete }
                    if i == stop || lines &- linesBefore >= maxQuotedLines {
                        // A broken quote: skip to the end of the line it opened on and read on from there.
                        var resume = contentStart
                        while resume < stop && buf[resume] != 10 { resume &+= 1 }
                        let what = i == stop ? "unterminated quoted field" : "quoted field spans more than \(maxQuotedLines) lines"
                        return .malformed(DataError(.quoting, file: name, line: line, column: fields,
                                                    message: "\(what) (a broken quote?); skipped \(linesBefore &+ 1) physical line(s) "
                                                        + "from line \(line); format.maxQuotedLines bounds a quoted field"),
                                          resume: min(resume &+ 1, stop), lines: linesBefore &+ 1)
                    }
                    let c = buf[i]
                    if c == quote {
                        if i &+ 1 == stop && !atEOF { return .incomplete }
                        if i &+ 1 < stop && buf[i &+ 1] == quote {
                            escaped = true
                            i &+= 2
                            continue
                        }
                        break
                    }
                    if c == 10 { lines &+= 1 }
                    i &+= 1
                }
                if escaped {
                    let out = scratch + scratchUsed
                    var n = 0, j = contentStart
                    while j < i {
                        out[n] = buf[j]
                        n &+= 1
                        j &+= buf[j] == quote ? 2 : 1
                    }
                    starts[fields] = UnsafePointer(out)
                    lengths[fields] = n
                    scratchUsed &+= n
                } else {
                    starts[fields] = UnsafePointer(buf + contentStart)
                    lengths[fields] = i &- contentStart
                }
                fields &+= 1
                i &+= 1
                if i == stop {
                    if !atEOF { return .incomplete }
                    return .complete(next: stop, lines: lines, fields: fields, blank: false)
                }
                let c = buf[i]
                if c != delimiter && c != 10 && c != 13 {
                    var resume = i
                    while resume < stop && buf[resume] != 10 { resume &+= 1 }
                    if resume == stop && !atEOF { return .incomplete }
                    return .malformed(DataError(.quoting, file: name, line: line, column: fields - 1,
                                                message: "unexpected text after a closing quote"),
                                      resume: min(resume &+ 1, stop), lines: lines &+ 1)
                }
            } else {
                let fieldStart = i
                while i < stop && special[Int(buf[i])] == 0 { i &+= 1 }
                if i == stop && !atEOF { return .incomplete }
                starts[fields] = UnsafePointer(buf + fieldStart)
                lengths[fields] = i &- fieldStart
                fields &+= 1
                if i == stop {
                    return .complete(next: stop, lines: lines, fields: fields, blank: i == start)
                }
            }
            let c = buf[i]
            if c == delimiter {
                i &+= 1
                if i == stop && atEOF {
                    // A trailing delimiter at the very end of the input: one more, empty field.
                    if fields == fieldCapacity { growFields() }
                    starts[fields] = UnsafePointer(buf + i)
                    lengths[fields] = 0
                    return .complete(next: stop, lines: lines, fields: fields &+ 1, blank: false)
                }
                continue
            }
            // Line end: LF, CRLF or a lone CR. A line with no bytes at all is blank and skipped.
            let blank = i == start
            if c == 13 {
                if i &+ 1 == stop && !atEOF { return .incomplete }
                i &+= (i &+ 1 < stop && buf[i &+ 1] == 10) ? 2 : 1
            } else {
                i &+= 1
            }
            return .complete(next: i, lines: lines &+ 1, fields: fields, blank: blank)
        }
    }

    private func growFields() {
        let grown = fieldCapacity * 2
        let newStarts = UnsafeMutablePointer<UnsafePointer<UInt8>>.allocate(capacity: grown)
        let newLengths = UnsafeMutablePointer<Int>.allocate(capacity: grown)
        newStarts.moveInitialize(from: starts, count: fieldCapacity)
        newLengths.moveInitialize(from: lengths, count: fieldCapacity)
        starts.deallocate()
        lengths.deallocate()
        starts = newStarts
        lengths = newLengths
        fieldCapacity = grown
    }
}

/// One record of a `CSVReader`: its fields as byte slices (quotes removed, `""` unescaped, initial spaces
/// skipped when the dialect says so). Valid only inside the reader's callback.
public struct CSVRecord {
    /// 1-based line where the record starts.
    public let line: Int
    /// Number of fields.
    public let count: Int
    fileprivate let starts: UnsafeMutablePointer<UnsafePointer<UInt8>>
    fileprivate let lengths: UnsafeMutablePointer<Int>

    /// The bytes of field `index` (0-based).
    @inline(__always)
    public subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: starts[index], count: lengths[index])
    }

    /// Field `index` as a string (UTF-8, invalid bytes replaced).
    public func string(_ index: Int) -> String { String(decoding: self[index], as: UTF8.self) }

    /// Every field as a string.
    public var strings: [String] { (0..<count).map(string) }
}
