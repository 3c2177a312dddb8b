#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element counts below this run on the calling thread: splitting memory-bound loops costs more than it gains.
let parallelElementThreshold = 1 << 17

/// Runs `body(start, count)` over `0..<n`, split across the pool when `n` is large. The body should call an
/// `@inline(__always)` kernel with literal closures so that the loop is fully specialised.
@inline(__always)
public func chunked(_ n: Int, _ body: @escaping (_ start: Int, _ count: Int) -> Void) {
    if n < parallelElementThreshold || ThreadPool.shared.activeThreads == 1 {
        body(0, n)
    } else {
        ThreadPool.shared.parallelRanges(n, grain: parallelElementThreshold / 2) { body($0.lowerBound, $0.count) }
    }
}

/// `y[i] = f(x[i])`, eight lanes at a time.
@inline(__always)
public func unaryMap(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
    _ vector: (SIMD8<Float>) -> SIMD8<Float>, _ scalar: (Float) -> Float
) {
    var i = 0
    while i &+ 8 <= n { store8(vector(load8(x + i)), y + i); i &+= 8 }
    while i < n { y[i] = scalar(x[i]); i &+= 1 }
}

/// `z[i] = f(x[i], y[i])`, eight lanes at a time.
@inline(__always)
public func binaryMap(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int,
    _ vector: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, _ scalar: (Float, Float) -> Float
) {
    var i = 0
    while i &+ 8 <= n { store8(vector(load8(x + i), load8(y + i)), z + i); i &+= 8 }
    while i < n { z[i] = scalar(x[i], y[i]); i &+= 1 }
}

/// `w[i] = f(x[i], y[i], z[i])`, eight lanes at a time.
@inline(__always)
public func ternaryMap(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>, _ w: UnsafeMutablePointer<Float>,
    _ n: Int, _ vector: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, _ scalar: (Float, Float, Float) -> Float
) {
    var i = 0
    while i &+ 8 <= n { store8(vector(load8(x + i), load8(y + i), load8(z + i)), w + i); i &+= 8 }
    while i < n { w[i] = scalar(x[i], y[i], z[i]); i &+= 1 }
}

/// Sum of `n` floats (Float64 accumulation in 8 lanes of Float32 partial sums of 64 elements, so long sums stay
/// accurate).
@inline(__always)
public func sumOf(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var total = 0.0
    var i = 0
    while i &+ 64 <= n {
        var s = load8(x + i)
        var j = 8
        while j < 64 { s += load8(x + (i &+ j)); j &+= 8 }
        total += Double(s.sum())
        i &+= 64
    }
    while i < n { total += Double(x[i]); i &+= 1 }
    return Float(total)
}

/// `out[j] = Σ_i x[i, j]` for a row-major `[rows, columns]` matrix (sum over the leading axis).
public func sumOverRows(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
    out.update(repeating: 0, count: columns)
    for i in 0..<rows {
        binaryMap(out, x + i * columns, out, columns, { $0 + $1 }, { $0 + $1 })
    }
}

/// `out[i] = Σ_j x[i, j]` for a row-major `[rows, columns]` matrix (sum over the trailing axis).
public func sumOverColumns(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<rows { out[i] = sumOf(x + i * columns, columns) }
}

/// Scalar math applied lane by lane (transcendentals have no SIMD form in the standard library).
@inline(__always)
func lanewise(_ v: SIMD8<Float>, _ f: (Float) -> Float) -> SIMD8<Float> {
    SIMD8(f(v[0]), f(v[1]), f(v[2]), f(v[3]), f(v[4]), f(v[5]), f(v[6]), f(v[7]))
}

/// The logistic function, computed without overflow for large |x|.
@inline(__always)
public func stableSigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}

/// `log(1 + e^x)` without overflow: `max(x, 0) + log1p(e^{−|x|})`.
@inline(__always)
public func stableSoftplus(_ x: Float) -> Float { max(x, 0) + log1pf(expf(-abs(x))) }
