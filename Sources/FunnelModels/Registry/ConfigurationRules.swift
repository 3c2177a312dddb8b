import FunnelData

/// The allowed range of every numeric key of the registry models' configurations, checked by `ModelRegistry` on
/// the merged configuration before a model is built, so no configuration value reaches a layer that would trap on
/// it. Keys are the configurations' JSON keys (nested options such as `cross.layers` use their last key), so one
/// table covers all 21 models and their shared blocks; a test checks that every numeric key of every registered
/// default configuration has a rule here, so a new field cannot skip the check.
public enum ConfigurationRules {
    /// What a numeric value (or each number of an array, nested arrays included) must be.
    public enum Rule: Sendable {
        /// An integer ≥ 1 (widths, counts, layers, heads).
        case positiveInteger
        /// A number in [0, 1) (dropout rates).
        case dropout
        /// A finite number > 0 (temperatures, clips).
        case positive
        /// A finite number ≥ 0 (loss weights, penalties, slopes).
        case nonNegative
        /// A number in (0, 1] (minimum propensities).
        case positiveFraction
    }

    /// The rule of each key.
    public static let rules: [String: Rule] = {
        var rules: [String: Rule] = [:]
        for key in ["embeddingWidth", "labelEmbeddingWidth", "fusionWidth", "feedForwardWidth", "headWidth",
                    "expertWidths", "towerWidths", "bottomWidths", "sharedBottomWidths", "headWidths", "deepWidths", "patternWidths",
                    "nfmWidths", "layerSizes", "towerHidden", "expertDimsPerLevel",
                    "experts", "taskExperts", "sharedExperts", "publicExperts", "dnnExperts", "numPatterns", "taskSpecificPatterns",
                    "heads", "attentionHeads", "inducingPoints", "seReduction", "rank",
                    "layers", "crossLayers", "fieldLayers", "dgtLayers", "interval"] {
            rules[key] = .positiveInteger
        }
        for key in ["dropout", "towerDropouts", "transferDropout", "headDropout"] { rules[key] = .dropout }
        for key in ["initial", "minimum", "decay", "virtualGradientClip"] { rules[key] = .positive }
        for key in ["calibratorWeight", "counterfactualWeight", "l2Penalty", "leakySlope"] { rules[key] = .nonNegative }
        rules["minimumPropensity"] = .positiveFraction
        return rules
    }()

    /// Throws a `RangeError` (`mmoe: dropout must be in [0, 1), got 1.0`) for the first numeric value of
    /// `configuration` outside its key's range, or for a numeric key without a rule.
    public static func validate(_ configuration: JSONValue, model: String) throws {
        try check(configuration, path: "", rule: nil, model: model)
    }

    private static func check(_ value: JSONValue, path: String, rule: Rule?, model: String) throws {
        switch value {
        case .object(let object):
            for key in object.keys.sorted() {
                try check(object[key]!, path: path.isEmpty ? key : "\(path).\(key)", rule: rules[key], model: model)
            }
        case .array(let items):
            for (i, item) in items.enumerated() { try check(item, path: "\(path)[\(i)]", rule: rule, model: model) }
        case .number(let number):
            let option = "\(model): \(path)"
            guard let rule else { throw RangeError(option: option, requirement: "a known setting (no range is declared for it)", value: "\(number)") }
            switch rule {
            case .positiveInteger:
                guard number.isFinite, number == number.rounded(), number >= 1, number <= Double(Int32.max) else {
                    throw RangeError(option: option, requirement: "an integer ≥ 1", value: "\(number)")
                }
            case .dropout: try RangeCheck.fraction(number, option)
            case .positive: try RangeCheck.positive(number, option)
            case .nonNegative: try RangeCheck.nonNegative(number, option)
            case .positiveFraction:
                guard number > 0, number <= 1 else { throw RangeError(option: option, requirement: "in (0, 1]", value: "\(number)") }
            }
        case .null, .bool, .string:
            break
        }
    }
}
