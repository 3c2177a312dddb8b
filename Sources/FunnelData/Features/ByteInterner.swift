#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stable 64-bit FNV-1a hash of bytes: the hash of `hashBuckets` features and of non-numeric group ids.
/// Stable across runs, platforms and languages (Python: the usual FNV-1a with offset 0xcbf29ce484222325 and
/// prime 0x100000001b3 over the UTF-8 bytes).
public func fnv1a64(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}

/// Stable 64-bit FNV-1a hash of a string's UTF-8 bytes.
public func fnv1a64(_ text: String) -> UInt64 {
    var copy = text
    return copy.withUTF8 { fnv1a64($0) }
}

/// A byte-keyed hash set that numbers distinct keys 0, 1, 2, … in first-seen order: what a categorical column is
/// reduced to while reading (one lookup per field, no `String`), and the lookup table of a fitted vocabulary.
/// Keys live in one growing byte arena; the table is open addressing with linear probing at load ≤ 1/2.
struct ByteInterner {
    private var arena: [UInt8] = []
    /// Start of key k in the arena; `offsets[k + 1]` is its end.
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    /// Slot → key index + 1 (0 = empty).
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    /// Number of distinct keys.
    var count: Int { hashes.count }

    /// The index of `key`, inserting it if new.
    @inline(__always)
    mutating func intern(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
        let hash = Self.hash(key)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            let index = Int(entry &- 1)
            if hashes[index] == hash && equals(index, key) { return entry &- 1 }
            slot = (slot &+ 1) & mask
        }
        let index = Int32(hashes.count)
        hashes.append(hash)
        arena.append(contentsOf: key)
        offsets.append(arena.count)
        slots[slot] = index &+ 1
        if hashes.count * 2 > slots.count { grow() }
        return index
    }

    /// Interns a string's UTF-8 bytes.
    @discardableResult
    mutating func intern(_ key: String) -> Int32 {
        var copy = key
        return copy.withUTF8 { intern($0) }
    }

    /// The index of `key`, or nil when absent.
    @inline(__always)
    func index(of key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let hash = Self.hash(key)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            let index = Int(entry &- 1)
            if hashes[index] == hash && equals(index, key) { return entry &- 1 }
            slot = (slot &+ 1) & mask
        }
    }

    /// Calls `body` with the bytes of key `index`.
    func withKey<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try arena.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[offsets[index]..<offsets[index + 1]]))
        }
    }

    /// Key `index` as a string.
    func key(_ index: Int) -> String { withKey(index) { String(decoding: $0, as: UTF8.self) } }

    @inline(__always)
    private func equals(_ index: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[index], length = offsets[index + 1] - start
        guard length == key.count else { return false }
        return arena.withUnsafeBufferPointer { all in
            length == 0 || memcmp(all.baseAddress! + start, key.baseAddress!, length) == 0
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for (index, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }

    /// A fast hash for the table (not stable across versions; see `fnv1a64` for stored hashes): 8 bytes at a
    /// time, multiply-xorshift mixing.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        guard let base = key.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i &+ 8 <= key.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i &+= 8
        }
        if i < key.count {
            var tail: UInt64 = 0
            for k in i..<key.count { tail |= UInt64(base[k]) << (8 * UInt64(k - i)) }
            h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }
}
