/// `value` after `change`: a configuration with a few options set, in one expression
/// (`configured(MMoE.Configuration()) { $0.experts = 2 }`). Configurations have only `init()` and their defaults.
public func configured<Value>(_ value: Value, _ change: (inout Value) -> Void) -> Value {
    var value = value
    change(&value)
    return value
}
