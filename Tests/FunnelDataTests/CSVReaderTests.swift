import Foundation
import XCTest
@testable import FunnelData

final class CSVReaderTests: XCTestCase {
    /// Buffer sizes that force records to straddle refills and the buffer to grow, plus the default.
    private let bufferSizes = [2, 3, 5, 8, 13, 1 << 20]

    func testQuotedFieldsEscapedQuotesAndCRLF() throws {
        let text = "a,\"b,c\",\"say \"\"hi\"\"\"\r\n\"\",x,\"line\nbreak\"\r\nlast,row,\"q\""
        for size in bufferSizes {
            XCTAssertEqual(try TestData.records(text, bufferSize: size),
                           [["a", "b,c", "say \"hi\""], ["", "x", "line\nbreak"], ["last", "row", "q"]], "buffer \(size)")
        }
    }

    func testLineEndsBlankLinesAndTrailingDelimiter() throws {
        let text = "1,2\n\n3,4\r\n\r\n5,6\r7,\n8,9,"
        let dialect = CSVDialect(header: false)
        let reader = try CSVReader(bytes: Array(text.utf8), name: "t.csv", dialect: dialect)
        reader.expectedFieldCount = nil
        var rows: [[String]] = [], lines: [Int] = []
        do {
            try reader.forEachRecord { rows.append($0.strings); lines.append($0.line) }
        } catch let error as DataError {
            // "8,9," has three fields where every other record has two.
            XCTAssertEqual(error.description, "t.csv:7: expected 2 fields, found 3")
        }
        XCTAssertEqual(rows, [["1", "2"], ["3", "4"], ["5", "6"], ["7", ""]])
        XCTAssertEqual(lines, [1, 3, 5, 6])
    }

    func testSkipInitialSpaceMissingValuesAndHeader() throws {
        let dialect = CSVDialect(delimiter: ",", header: true, skipInitialSpace: true, missingValues: ["?"])
        let text = "age, name, city\n 73, Not in universe, ?\n58,  \"Smith, J\", Paris\n"
        for size in bufferSizes {
            let reader = try CSVReader(bytes: Array(text.utf8), name: "t.csv", dialect: dialect, bufferSize: size)
            XCTAssertEqual(reader.header, ["age", "name", "city"])
            var rows: [[String]] = []
            try reader.forEachRecord { rows.append($0.strings) }
            XCTAssertEqual(rows, [["73", "Not in universe", "?"], ["58", "Smith, J", "Paris"]], "buffer \(size)")
        }
    }

    func testTabSeparatedWithoutQuoting() throws {
        let rows = try TestData.records("a\t\"b\tc\n", dialect: CSVDialect(delimiter: "\t", quote: nil, header: false))
        XCTAssertEqual(rows, [["a", "\"b", "c"]])
    }

    func testDialectJSONKeepsNoQuoting() throws {
        let dialect = CSVDialect(delimiter: "\t", quote: nil, header: false, missingValues: ["NA"])
        let decoded = try JSONDecoder().decode(CSVDialect.self, from: JSONEncoder().encode(dialect))
        XCTAssertEqual(decoded, dialect)
        XCTAssertEqual(try JSONDecoder().decode(CSVDialect.self, from: Data("{}".utf8)), CSVDialect())
    }

    func testGzipInput() throws {
        let reader = try CSVReader(path: TestData.fixtures.appendingPathComponent("quoted.csv.gz").path)
        XCTAssertEqual(reader.header, ["id", "name", "score"])
        var rows: [[String]] = []
        try reader.forEachRecord { rows.append($0.strings) }
        XCTAssertEqual(rows, [["1", "Smith, John", "3.5"], ["2", "say \"hi\"", ""], ["3", "plain", "7"]])
        XCTAssertEqual(reader.bytesRead, 64)
    }

    func testConcatenatedGzipMembersAreOneStream() throws {
        let reader = try CSVReader(path: TestData.fixtures.appendingPathComponent("members.csv.gz").path, bufferSize: 4)
        var ids: [String] = []
        try reader.forEachRecord { ids.append($0.string(0)) }
        XCTAssertEqual(ids, ["1", "2", "3"])
    }

    func testTruncatedGzipIsAnError() throws {
        let full = try Data(contentsOf: TestData.fixtures.appendingPathComponent("quoted.csv.gz"))
        let directory = try TestData.directory(with: [:])
        let url = directory.appendingPathComponent("cut.csv.gz")
        try full.prefix(full.count - 12).write(to: url)
        let error = TestData.error {
            let reader = try CSVReader(path: url.path)
            try reader.forEachRecord { _ in }
        }
        XCTAssertEqual(error?.kind, .io)
        XCTAssertEqual(error?.description, "cut.csv.gz: gzip: unexpected end of compressed data")
    }

    func testUnterminatedQuoteNamesLineAndColumn() {
        let error = TestData.error { _ = try TestData.records("a,b\nc,\"open\nmore\n") }
        XCTAssertEqual(error?.kind, .quoting)
        XCTAssertEqual(error?.description, "t.csv:2: column 1: unterminated quoted field (a broken quote?); skipped 1 physical line(s) "
                       + "from line 2; format.maxQuotedLines bounds a quoted field")
    }

    func testTextAfterClosingQuoteNamesLineAndColumn() {
        let error = TestData.error { _ = try TestData.records("a,b,c\nd,\"e\"x,f\n") }
        XCTAssertEqual(error?.kind, .quoting)
        XCTAssertEqual(error?.description, "t.csv:2: column 1: unexpected text after a closing quote")
    }

    func testWrongFieldCountNamesLine() {
        let error = TestData.error { _ = try TestData.records("a,b,c\nd,e\n") }
        XCTAssertEqual(error?.kind, .fieldCount)
        XCTAssertEqual(error?.description, "t.csv:2: expected 3 fields, found 2")
    }

    func testSkipPolicyCountsMalformedRowsAndResyncs() throws {
        let text = "a,b\n1,2\n3\n\"x\"y,4\n5,6\n7,\"open"
        let reader = try CSVReader(bytes: Array(text.utf8), name: "t.csv", dialect: CSVDialect(), badRows: .skip, bufferSize: 3)
        var rows: [[String]] = []
        try reader.forEachRecord { rows.append($0.strings) }
        XCTAssertEqual(rows, [["1", "2"], ["5", "6"]])
        XCTAssertEqual(reader.report.count, 3)
        XCTAssertEqual(reader.report.countsByKind, [.fieldCount: 1, .quoting: 2])
        XCTAssertEqual(reader.report.examples.map(\.line), [3, 4, 6])
    }

    func testNumberParser() {
        let cases: [(String, Double?)] = [
            ("0", 0), ("-12", -12), ("+3.25", 3.25), (" 1700.09 ", 1700.09), (".5", 0.5), ("5.", 5), ("1e3", 1000),
            ("2.5E-3", 0.0025), ("0.1", 0.1), ("123456789012345678901234", 123456789012345678901234.0),
            ("3.141592653589793238462643", 3.141592653589793), ("1e400", nil),  // overflow is not a number
            ("abc", nil), ("", nil), ("-", nil), ("1e", nil), ("1,5", nil), ("nan", nil), ("inf", nil), ("0x10", nil), ("1 2", nil),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(NumberParser.parse(text), expected, text)
        }
        // Exact agreement with the C library on awkward decimal fractions.
        for text in ["0.30000000000000004", "1.7976931348623157e308", "4.9e-324", "9007199254740993", "0.000001234567"] {
            XCTAssertEqual(NumberParser.parse(text), strtod(text, nil), text)
        }
    }
}
