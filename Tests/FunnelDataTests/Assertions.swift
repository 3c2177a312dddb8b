import XCTest

/// Element-wise `XCTAssertEqual(_:_:accuracy:)` for Double arrays of equal length.
func assertElementsEqual(_ actual: [Double], _ expected: [Double], accuracy: Double, _ message: String = "",
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, message, file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        XCTAssertEqual(a, e, accuracy: accuracy, "\(message) [\(i)]", file: file, line: line)
    }
}

/// Floats of the Python twin (`bench/funnel_synth.py`) agree to 1e-9 relative (synthetic-data.md: libm vs NumPy
/// exp/log/sin/cos and summation order differ in the last bits), absolute below 1e-3. Reports the first miss.
func assertMatchesPython(_ actual: [Double], _ expected: [Double], _ label: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= 1e-9 * max(abs(e), 1e-3)) {
        XCTFail("\(label)[\(i)]: \(a) vs Python \(e)", file: file, line: line)
        return
    }
}
