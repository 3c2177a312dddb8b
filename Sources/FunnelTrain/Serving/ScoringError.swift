// Foundation-free on purpose: compiled into the libFuzzer harness with ScoringRequest.swift.

/// Why a scoring request was refused, and where: the row index (0-based, nil for the request as a whole or its
/// `common` block) and the feature. `message` says both in words.
public struct ScoringError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Not JSON, or not the request's shape.
        case malformedJSON
        /// A value of the wrong JSON type (a boolean, object or array where a feature value belongs).
        case wrongType
        /// A number that does not parse, or is not finite.
        case invalidNumber
        /// A feature the model does not read (unless unknown features are ignored).
        case unknownFeature
        /// A required feature (numeric, no fill value) is absent or null.
        case missingFeature
        /// A requested task (output) the model does not have.
        case unknownTask
        /// More rows than the row cap.
        case tooManyRows
    }

    public var kind: Kind
    public var row: Int?
    public var feature: String?
    public var message: String

    public init(_ kind: Kind, row: Int? = nil, feature: String? = nil, _ message: String) {
        self.kind = kind
        self.row = row
        self.feature = feature
        self.message = message
    }

    public var description: String { message }
}
