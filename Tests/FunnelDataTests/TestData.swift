import Foundation
import XCTest
@testable import FunnelData

/// Paths and small helpers shared by the data tests.
enum TestData {
    /// The repository root (three levels above this file).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let recipes = repository.appendingPathComponent("recipes")
    static let fixtures = repository.appendingPathComponent("Tests/Fixtures/data")
    /// The shared real data: `$FUNNEL_DATA_DIR`, else `../shared/data` beside the repository.
    static let shared = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FUNNEL_DATA_DIR"]
        ?? repository.deletingLastPathComponent().appendingPathComponent("shared/data").path)

    /// `shared/relative`, or an XCTSkip naming what is missing.
    static func sharedFile(_ relative: String) throws -> URL {
        let url = shared.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("real data not present: \(url.path) (set FUNNEL_DATA_DIR to the shared data folder)")
        }
        return url
    }

    /// Every record of `text` as strings.
    static func records(_ text: String, dialect: CSVDialect = CSVDialect(header: false), bufferSize: Int = 1 << 20) throws -> [[String]] {
        let reader = try CSVReader(bytes: Array(text.utf8), name: "t.csv", dialect: dialect, bufferSize: bufferSize)
        var rows: [[String]] = []
        try reader.forEachRecord { rows.append($0.strings) }
        return rows
    }

    /// The `DataError` thrown by `body`, failing the test if none is.
    static func error(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> DataError? {
        do {
            try body()
            XCTFail("expected a DataError", file: file, line: line)
        } catch let error as DataError {
            return error
        } catch {
            XCTFail("expected a DataError, got \(error)", file: file, line: line)
        }
        return nil
    }

    /// Writes `text` to a fresh temporary directory as `name`; returns the directory.
    static func directory(with files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }
}
