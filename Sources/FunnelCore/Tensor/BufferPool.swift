#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide cache of 64-byte-aligned Float32 buffers, grouped in size classes.
///
/// A training step allocates the same tensor sizes every time; recycling their buffers means a steady-state
/// step maps no fresh memory (fresh mmaps cost ~2.8 µs per 4 KiB page in faults on these machines).
/// Size classes are four per doubling (×1, ×1.25, ×1.5, ×1.75 of a power of two), so a buffer wastes at most
/// 25 % of its bytes.
public final class BufferPool: @unchecked Sendable {
    /// The pool used by every `Tensor`.
    public static let shared = BufferPool()

    private var freeLists: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var mutex = pthread_mutex_t()
    /// Bytes held by live buffers plus cached ones; the figure a benchmark reports as pool footprint.
    public private(set) var reservedBytes = 0
    /// Bytes sitting in free lists, ready for reuse.
    public private(set) var cachedBytes = 0

    private init() { pthread_mutex_init(&mutex, nil) }

    /// The capacity (in floats) of the size class that holds `count` floats.
    @inline(__always)
    static func sizeClass(for count: Int) -> Int {
        if count <= 16 { return 16 }
        let top = Int.bitWidth - (count - 1).leadingZeroBitCount  // 2^top >= count
        let quarter = 1 << (top - 3)                               // (2^top / 2) / 4
        let base = 1 << (top - 1)
        return base + ((count - base + quarter - 1) / quarter) * quarter
    }

    /// A buffer with room for at least `count` floats, and its actual capacity. Contents are undefined.
    func take(count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let capacity = Self.sizeClass(for: count)
        pthread_mutex_lock(&mutex)
        if let pointer = freeLists[capacity]?.popLast() {
            cachedBytes -= capacity * 4
            pthread_mutex_unlock(&mutex)
            return (pointer, capacity)
        }
        reservedBytes += capacity * 4
        pthread_mutex_unlock(&mutex)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        return (raw.bindMemory(to: Float.self, capacity: capacity), capacity)
    }

    /// Returns a buffer obtained from `take(count:)`.
    func recycle(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        pthread_mutex_lock(&mutex)
        freeLists[capacity, default: []].append(pointer)
        cachedBytes += capacity * 4
        pthread_mutex_unlock(&mutex)
    }

    /// Frees every cached buffer (for example between experiments of very different sizes).
    public func trim() {
        pthread_mutex_lock(&mutex)
        for (_, list) in freeLists { for pointer in list { UnsafeMutableRawPointer(pointer).deallocate() } }
        reservedBytes -= cachedBytes
        cachedBytes = 0
        freeLists.removeAll()
        pthread_mutex_unlock(&mutex)
    }
}

/// The reference-counted buffer behind one or more `Tensor` values. Returned to the pool when released.
public final class TensorStorage: @unchecked Sendable {
    /// First float of the buffer (64-byte aligned).
    public let base: UnsafeMutablePointer<Float>
    /// Number of floats the buffer can hold.
    public let capacity: Int

    /// A buffer of at least `count` floats with undefined contents.
    public init(count: Int) {
        (base, capacity) = BufferPool.shared.take(count: count)
    }

    deinit { BufferPool.shared.recycle(base, capacity: capacity) }
}
