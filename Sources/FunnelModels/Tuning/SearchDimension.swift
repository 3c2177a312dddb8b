import Foundation
import FunnelCore

/// The values one hyperparameter may take in a search (`funnel tune`), and how a random trial draws one.
///
/// A space file writes a dimension as a one-key mapping: `{logUniform: [0.0001, 0.01]}`, `{uniform: [0, 0.3]}`,
/// `{int: [4, 32]}` or `{choice: [false, true]}`; any other value pins the hyperparameter to that value.
public enum SearchDimension: Equatable, Sendable {
    /// A real number whose logarithm is uniform on `[log low, log high]` (learning rates, weight decay).
    case logUniform(low: Double, high: Double)
    /// A real number uniform on `[low, high]`.
    case uniform(low: Double, high: Double)
    /// An integer uniform on `low...high`.
    case integer(low: Int, high: Int)
    /// One of the listed values, each equally likely (a single value pins the hyperparameter).
    case choice([JSONValue])

    /// The spellings of the kinds in a space file.
    public static let kindNames = ["logUniform", "uniform", "int", "choice"]

    /// A dimension as a space file writes it; `key` names it in errors.
    public init(json: JSONValue, key: String) throws {
        guard case .object(let object) = json else {
            self = .choice([json])
            return
        }
        guard object.count == 1, let (kind, value) = object.first else {
            throw SearchSpaceError.invalid(key, "a dimension is one of \(Self.kindNames.map { "{\($0): …}" }.joined(separator: ", ")) or a fixed value")
        }
        func bounds() throws -> (Double, Double) {
            guard case .array(let items) = value, items.count == 2, case .number(let low) = items[0], case .number(let high) = items[1],
                  low <= high else {
                throw SearchSpaceError.invalid(key, "\(kind) expects [low, high] with low ≤ high")
            }
            return (low, high)
        }
        switch kind {
        case "logUniform":
            let (low, high) = try bounds()
            guard low > 0 else { throw SearchSpaceError.invalid(key, "logUniform needs a positive lower bound") }
            self = .logUniform(low: low, high: high)
        case "uniform":
            let (low, high) = try bounds()
            self = .uniform(low: low, high: high)
        case "int":
            let (low, high) = try bounds()
            guard low.rounded() == low, high.rounded() == high else { throw SearchSpaceError.invalid(key, "int expects integer bounds") }
            self = .integer(low: Int(low), high: Int(high))
        case "choice":
            guard case .array(let values) = value, !values.isEmpty else { throw SearchSpaceError.invalid(key, "choice expects a non-empty list") }
            self = .choice(values)
        default:
            throw SearchSpaceError.invalid(key, "unknown dimension kind '\(kind)' (\(Self.kindNames.joined(separator: ", ")))")
        }
    }

    /// One value drawn with `rng`. Real numbers keep 3 significant digits, so trials read (and run files write) short.
    public func sample(using rng: inout SeededGenerator) -> JSONValue {
        let unit = Double(rng.next() >> 11) * 0x1p-53
        switch self {
        case let .logUniform(low, high): return .number(Self.rounded(exp(log(low) + unit * (log(high) - log(low)))))
        case let .uniform(low, high): return .number(Self.rounded(low + unit * (high - low)))
        case let .integer(low, high): return .number(Double(low + Int(rng.next() % UInt64(high - low + 1))))
        case let .choice(values): return values[Int(rng.next() % UInt64(values.count))]
        }
    }

    /// Whether `value` is one this dimension can produce.
    public func contains(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case let (.logUniform(low, high), .number(x)), let (.uniform(low, high), .number(x)): return x >= low && x <= high
        case let (.integer(low, high), .number(x)): return x.rounded() == x && x >= Double(low) && x <= Double(high)
        case let (.choice(values), _): return values.contains(value)
        default: return false
        }
    }

    /// A short description for reports: `log[0.0001, 0.01]`, `[0, 0.3]`, `int[4, 32]`, `{false, true}`.
    public var summary: String {
        switch self {
        case let .logUniform(low, high): return "log[\(low), \(high)]"
        case let .uniform(low, high): return "[\(low), \(high)]"
        case let .integer(low, high): return "int[\(low), \(high)]"
        case let .choice(values): return "{" + values.map(\.compactText).joined(separator: ", ") + "}"
        }
    }

    private static func rounded(_ x: Double) -> Double {
        guard x != 0, x.isFinite else { return x }
        let scale = pow(10, 2 - floor(log10(abs(x))))
        return (x * scale).rounded() / scale
    }
}

extension JSONValue {
    /// One-line JSON text (keys sorted), for reports and log lines.
    public var compactText: String {
        (try? data()).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}

/// A search space or space file that cannot be used; the message names the key.
public struct SearchSpaceError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(message: String) {
        self.message = message
    }

    public static func invalid(_ key: String, _ reason: String) -> SearchSpaceError { SearchSpaceError(message: "'\(key)': \(reason)") }

    public var description: String { message }
}
