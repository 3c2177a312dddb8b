#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decimal numbers parsed straight from bytes: `[blanks][+|-]digits[.digits][(e|E)[+|-]digits][blanks]`, or a
/// leading `.` (`.5`). Anything else — `abc`, `1,5`, `0x10`, `nan`, `inf`, an empty field, a number too large for
/// a Double (`1e999`) — is not a number.
///
/// Up to 19 significant digits with a decimal exponent within ±22 are converted exactly (one correctly rounded
/// multiplication or division of two exact doubles); longer numbers go through `strtod`, so every result is the
/// correctly rounded double of the text.
public enum NumberParser {
    private static let powers: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// The number in `bytes`, or nil when the text is not a decimal number.
    @inline(__always)
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard var p = bytes.baseAddress else { return nil }
        var stop = p + bytes.count
        while p < stop && (p.pointee == 0x20 || p.pointee == 0x09) { p += 1 }
        while stop > p && (stop[-1] == 0x20 || stop[-1] == 0x09) { stop -= 1 }
        guard p < stop else { return nil }
        let textStart = p
        var negative = false
        if p.pointee == 0x2D || p.pointee == 0x2B {
            negative = p.pointee == 0x2D
            p += 1
        }
        var mantissa: UInt64 = 0, digits = 0, significant = 0, exponent = 0
        while p < stop, case let d = p.pointee &- 0x30, d < 10 {
            if significant < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa > 0 { significant += 1 }
            } else {
                exponent += 1
            }
            digits += 1
            p += 1
        }
        if p < stop && p.pointee == 0x2E {
            p += 1
            while p < stop, case let d = p.pointee &- 0x30, d < 10 {
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa > 0 { significant += 1 }
                    exponent -= 1
                }
                digits += 1
                p += 1
            }
        }
        guard digits > 0 else { return nil }
        if p < stop && (p.pointee | 0x20) == 0x65 {
            p += 1
            var exponentNegative = false
            if p < stop && (p.pointee == 0x2D || p.pointee == 0x2B) {
                exponentNegative = p.pointee == 0x2D
                p += 1
            }
            var value = 0, exponentDigits = 0
            while p < stop, case let d = p.pointee &- 0x30, d < 10 {
                value = min(value * 10 + Int(d), 100_000)
                exponentDigits += 1
                p += 1
            }
            guard exponentDigits > 0 else { return nil }
            exponent += exponentNegative ? -value : value
        }
        guard p == stop else { return nil }
        if significant < 19 && mantissa < (1 << 53) && exponent >= -22 && exponent <= 22 {
            let magnitude = exponent >= 0 ? Double(mantissa) * powers[exponent] : Double(mantissa) / powers[-exponent]
            return negative ? -magnitude : magnitude
        }
        let value = slowPath(textStart, stop)
        return value.isFinite ? value : nil  // `1e999` overflows: not a number, as `inf` is not
    }

    /// Correctly rounded conversion of already validated text through the C library.
    private static func slowPath(_ start: UnsafePointer<UInt8>, _ stop: UnsafePointer<UInt8>) -> Double {
        let count = stop - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { text in
            for k in 0..<count { text[k] = CChar(bitPattern: start[k]) }
            text[count] = 0
            return strtod(text.baseAddress!, nil)
        }
    }

    /// The number in `text`, or nil.
    public static func parse(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }
}
