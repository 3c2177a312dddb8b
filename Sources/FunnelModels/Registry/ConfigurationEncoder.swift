import Foundation

extension JSONValue {
    /// The JSON of a configuration with every property present: an optional that is nil is written as `null`
    /// (`JSONEncoder` leaves it out). A registry's defaults are encoded this way, so that a partial configuration
    /// may set an optional option (`{"expertKinds": ["mlp", "dcn"]}`) while merging still rejects unknown keys.
    public init<T: Encodable>(configuration value: T) throws {
        let encoder = ConfigurationEncoder()
        try value.encode(to: encoder)
        self = encoder.slot.resolved()
    }
}

/// A value under construction: a container writes into its slot, nested containers into child slots.
private final class Slot {
    var value: JSONValue = .null
    private var objectChildren: [(String, Slot)]?
    private var arrayChildren: [Slot]?

    /// The finished value (children collected into their object or array).
    func resolved() -> JSONValue {
        if let objectChildren { return .object(Dictionary(objectChildren.map { ($0, $1.resolved()) }, uniquingKeysWith: { $1 })) }
        if let arrayChildren { return .array(arrayChildren.map { $0.resolved() }) }
        return value
    }

    func child(forKey key: String) -> Slot {
        let slot = Slot()
        objectChildren = (objectChildren ?? []) + [(key, slot)]
        return slot
    }

    func appendedChild() -> Slot {
        let slot = Slot()
        arrayChildren = (arrayChildren ?? []) + [slot]
        return slot
    }

    func makeObject() { if objectChildren == nil { objectChildren = [] } }
    func makeArray() { if arrayChildren == nil { arrayChildren = [] } }
    var arrayCount: Int { arrayChildren?.count ?? 0 }
}

/// Encodes any `Encodable` straight into a `JSONValue`, nil optionals as `null`.
private struct ConfigurationEncoder: Encoder {
    let slot: Slot
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(slot: Slot = Slot(), codingPath: [CodingKey] = []) {
        self.slot = slot
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        slot.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        slot.makeArray()
        return UnkeyedContainer(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleValueContainer(slot: slot, codingPath: codingPath) }
}

/// The JSON of one encodable value written into `slot`: numbers and strings directly, anything else through its
/// own `encode(to:)`.
private func write<T: Encodable>(_ value: T, into slot: Slot, codingPath: [CodingKey]) throws {
    switch value {
    case let v as Bool: slot.value = .bool(v)
    case let v as String: slot.value = .string(v)
    // Through the shortest decimal text, so that a Float 0.1 stays 0.1 rather than 0.10000000149011612.
    case let v as Float: slot.value = .number(Double("\(v)") ?? Double(v))
    case let v as any BinaryInteger: slot.value = .number(Double(v))
    case let v as any BinaryFloatingPoint: slot.value = .number(Double(v))
    default: try value.encode(to: ConfigurationEncoder(slot: slot, codingPath: codingPath))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    var codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.child(forKey: key.stringValue).value = .null }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try write(value, into: slot.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }

    /// The point of this encoder: a nil optional is kept as `null`.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeOptional(value, key) }

    private mutating func encodeOptional<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ConfigurationEncoder(slot: slot.child(forKey: key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        ConfigurationEncoder(slot: slot.child(forKey: key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { ConfigurationEncoder(slot: slot.child(forKey: "super"), codingPath: codingPath) }

    mutating func superEncoder(forKey key: Key) -> Encoder {
        ConfigurationEncoder(slot: slot.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let slot: Slot
    var codingPath: [CodingKey]
    var count: Int { slot.arrayCount }

    mutating func encodeNil() throws { slot.appendedChild().value = .null }

    mutating func encode<T: Encodable>(_ value: T) throws { try write(value, into: slot.appendedChild(), codingPath: codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        ConfigurationEncoder(slot: slot.appendedChild(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        ConfigurationEncoder(slot: slot.appendedChild(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { ConfigurationEncoder(slot: slot.appendedChild(), codingPath: codingPath) }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let slot: Slot
    var codingPath: [CodingKey]

    mutating func encodeNil() throws { slot.value = .null }

    mutating func encode<T: Encodable>(_ value: T) throws { try write(value, into: slot, codingPath: codingPath) }
}
