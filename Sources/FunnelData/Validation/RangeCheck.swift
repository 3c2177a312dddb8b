/// A numeric setting outside its allowed range: `batch size must be ≥ 1, got 0`, `mmoe: dropout must be in [0, 1),
/// got 1.0`. `option` names the setting as the person wrote it (a flag, a run-file key, a model and key).
public struct RangeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var option: String
    /// The allowed range in words: `≥ 1`, `in [0, 1)`, `> 0 and finite`.
    public var requirement: String
    public var value: String

    public init(option: String, requirement: String, value: String) {
        self.option = option
        self.requirement = requirement
        self.value = value
    }

    public var description: String { "\(option) must be \(requirement), got \(value)" }
}

/// The range checks every numeric option goes through (CLI flags, run files, model configurations, schemas), so
/// that each range has one wording. Each throws a `RangeError` naming `option`.
public enum RangeCheck {
    /// `value ≥ minimum` (counts, sizes, widths).
    public static func atLeast<Value: BinaryInteger>(_ minimum: Value, _ value: Value, _ option: String) throws {
        guard value >= minimum else { throw RangeError(option: option, requirement: "≥ \(minimum)", value: "\(value)") }
    }

    /// `value > 0` and finite (learning rates, temperatures, scales).
    public static func positive<Value: BinaryFloatingPoint>(_ value: Value, _ option: String) throws {
        guard value.isFinite, value > 0 else { throw RangeError(option: option, requirement: "> 0 and finite", value: "\(Double(value))") }
    }

    /// `value ≥ 0` and finite (weight decay, momentum, margins).
    public static func nonNegative<Value: BinaryFloatingPoint>(_ value: Value, _ option: String) throws {
        guard value.isFinite, value >= 0 else { throw RangeError(option: option, requirement: "≥ 0 and finite", value: "\(Double(value))") }
    }

    /// `0 ≤ value < 1` (dropout rates).
    public static func fraction<Value: BinaryFloatingPoint>(_ value: Value, _ option: String) throws {
        guard value >= 0, value < 1 else { throw RangeError(option: option, requirement: "in [0, 1)", value: "\(Double(value))") }
    }

    /// `0 ≤ value ≤ 1` (probabilities, rates, mixing weights).
    public static func unitInterval<Value: BinaryFloatingPoint>(_ value: Value, _ option: String) throws {
        guard value >= 0, value <= 1 else { throw RangeError(option: option, requirement: "in [0, 1]", value: "\(Double(value))") }
    }

    /// A finite number.
    public static func finite<Value: BinaryFloatingPoint>(_ value: Value, _ option: String) throws {
        guard value.isFinite else { throw RangeError(option: option, requirement: "a finite number", value: "\(Double(value))") }
    }
}
