import Foundation
import FunnelData
import FunnelTrain
import XCTest

/// Rule 4 of RELIABILITY.md: errors name the file, the line and column where there is one, and what to do.
final class ActionableErrorTests: XCTestCase {
    func testInvalidYAMLGivesLineAndColumn() throws {
        let text = "data:\n  synthetic: {generator: funnel\nmodels: [mmoe]\n"
        XCTAssertThrowsError(try RunConfiguration.decode(Data(text.utf8), name: "run.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("run.yaml: invalid YAML at line "), "\($0)")
            XCTAssertTrue("\($0)".contains("column"), "\($0)")
        }
        XCTAssertThrowsError(try DatasetSchema.decode(Data("name: t\nfiles: [a.csv\n".utf8), name: "t.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("t.yaml: invalid YAML at line "), "\($0)")
        }
    }

    func testFileSystemErrorsNameThePathWithoutFoundationDomains() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/run.yaml"
        XCTAssertThrowsError(try RunConfiguration.load(from: URL(fileURLWithPath: missing))) {
            XCTAssertFalse("\($0)".contains("NSCocoaErrorDomain"), "\($0)")
            XCTAssertTrue("\($0)".contains(missing), "\($0)")
        }
        XCTAssertThrowsError(try TrainedModel(contentsOf: URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)"))) {
            XCTAssertFalse("\($0)".contains("NSCocoaErrorDomain"), "\($0)")
            XCTAssertTrue("\($0)".contains("checkpoint.json"), "\($0)")
        }
        let error = CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: "/data/x.csv"])
        XCTAssertEqual(ErrorText.describe(error), "/data/x.csv: permission denied; check the file's permissions")
        XCTAssertEqual("\(OutputError.system("/out/x", "writing", errno: ENOSPC))",
                       "/out/x: writing failed: No space left on device; free disk space, or choose another location")
    }
}
