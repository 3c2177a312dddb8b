/// Tensor-level arithmetic (no autodiff): used by backward functions, optimizers and gradient surgery.
extension Tensor {
    /// `f(a, b)` elementwise with broadcasting (see `BroadcastRole`).
    @inline(__always)
    public static func broadcasting(
        _ a: Tensor, _ b: Tensor,
        _ vector: @escaping (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, _ scalar: @escaping (Float, Float) -> Float
    ) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitialized: shape)
        let columns = shape.last ?? 1
        let rows = out.count / max(columns, 1)
        guard let aRole = BroadcastRole.of(a.shape, in: shape), let bRole = BroadcastRole.of(b.shape, in: shape) else {
            preconditionFailure("cannot broadcast \(a.shape) with \(b.shape)")
        }
        if aRole == .full && bRole == .full {
            let (x, y, z) = (a.pointer, b.pointer, out.pointer)
            chunked(out.count) { s, n in binaryMap(x + s, y + s, z + s, n, vector, scalar) }
        } else {
            broadcastMap(a.pointer, aRole, b.pointer, bRole, out.pointer, rows: rows, columns: columns, vector, scalar)
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { broadcasting(a, b, { $0 + $1 }, { $0 + $1 }) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { broadcasting(a, b, { $0 - $1 }, { $0 - $1 }) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { broadcasting(a, b, { $0 * $1 }, { $0 * $1 }) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { broadcasting(a, b, { $0 / $1 }, { $0 / $1 }) }

    /// `f(x)` elementwise.
    @inline(__always)
    public func map(_ vector: @escaping (SIMD8<Float>) -> SIMD8<Float>, _ scalar: @escaping (Float) -> Float) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let (x, y) = (pointer, out.pointer)
        chunked(count) { s, n in unaryMap(x + s, y + s, n, vector, scalar) }
        return out
    }

    /// One of the selected kernels' elementwise functions (`KernelSet.exp`, `KernelSet.sigmoid`) over every
    /// element, split across the pool for large tensors. Results do not depend on where the split falls.
    public func applying(
        _ kernel: @escaping (KernelSet) -> (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let (x, y, f) = (UnsafePointer(pointer), out.pointer, kernel(.selected))
        chunked(count) { s, n in f(x + s, y + s, n) }
        return out
    }

    /// Every element times `factor`.
    public func scaled(by factor: Float) -> Tensor {
        let v = SIMD8<Float>(repeating: factor)
        return map({ $0 * v }, { $0 * factor })
    }

    /// `acc += g`, in place when `acc`'s buffer is not shared, otherwise into a new buffer.
    public static func accumulate(_ g: Tensor, into acc: inout Tensor) {
        precondition(g.count == acc.count, "accumulating \(g.shape) into \(acc.shape)")
        if acc.isUniquelyOwned() {
            let (x, y) = (acc.pointer, g.pointer)
            chunked(acc.count) { s, n in binaryMap(x + s, y + s, x + s, n, { $0 + $1 }, { $0 + $1 }) }
        } else {
            acc = (acc + g.reshaped(acc.shape))
        }
    }

    /// Sum of all elements.
    public func sum() -> Float { sumOf(pointer, count) }

    /// `Σ a[i]·b[i]`, accumulated in Float64.
    public func dot(_ other: Tensor) -> Double {
        precondition(count == other.count, "dot of \(shape) and \(other.shape)")
        var total = 0.0
        var i = 0
        while i < count {
            let n = Swift.min(4096, count - i)
            total += Double(FunnelCore.dot(pointer + i, other.pointer + i, n))
            i += n
        }
        return total
    }

    /// `Σ a[i]²` in Float64.
    public func squaredNorm() -> Double { dot(self) }

    /// Largest |a[i] − b[i]| / max(|b[i]|, floor): the relative error measure of parity tests.
    public func maxRelativeDifference(to reference: Tensor, floor: Float = 1e-6) -> Float {
        precondition(count == reference.count, "comparing \(shape) with \(reference.shape)")
        var worst: Float = 0
        for i in 0..<count {
            let d = abs(pointer[i] - reference.pointer[i]) / Swift.max(abs(reference.pointer[i]), floor)
            worst = Swift.max(worst, d)
        }
        return worst
    }
}

/// `[outer, length, inner]`: the view of a shape around one axis used by axis reductions and softmax.
public struct AxisView: Sendable {
    public let outer: Int, length: Int, inner: Int

    public init(_ shape: [Int], axis: Int) {
        let axis = axis < 0 ? shape.count + axis : axis
        precondition(axis >= 0 && axis < shape.count, "axis \(axis) out of range for \(shape)")
        outer = shape[..<axis].reduce(1, *)
        length = shape[axis]
        inner = shape[(axis + 1)...].reduce(1, *)
    }
}

/// Normalises a possibly negative axis.
@inline(__always)
public func resolvedAxis(_ axis: Int, rank: Int) -> Int { axis < 0 ? rank + axis : axis }
