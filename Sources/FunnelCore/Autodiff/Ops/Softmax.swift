#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax and log-softmax along any axis (numerically stable: the maximum is subtracted first).
extension Variable {
    /// `softmax(x)` along `axis` (default the last).
    public func softmax(alongAxis axis: Int = -1) -> Variable {
        let view = AxisView(shape, axis: axis)
        let y = Tensor(uninitialized: shape)
        if view.inner == 1 { return softmaxOfRows(y, length: view.length) }
        softmaxForward(value.pointer, y.pointer, view, log: false)
        return Variable.record(y, inputs: [self], op: .softmax(axis: axis)) { g, _ in
            // dx = y ⊙ (g − Σ_axis g ⊙ y)
            let dx = Tensor(uninitialized: y.shape)
            forEachLine(view) { base, stride in
                var s: Float = 0
                for l in 0..<view.length { s += g.pointer[base + l * stride] * y.pointer[base + l * stride] }
                for l in 0..<view.length {
                    let i = base + l * stride
                    dx.pointer[i] = y.pointer[i] * (g.pointer[i] - s)
                }
            }
            return [dx]
        }
    }

    /// `log(softmax(x))` along `axis`, computed as `x − max − log Σ e^{x − max}`.
    public func logSoftmax(alongAxis axis: Int = -1) -> Variable {
        let view = AxisView(shape, axis: axis)
        let y = Tensor(uninitialized: shape)
        softmaxForward(value.pointer, y.pointer, view, log: true)
        return Variable.record(y, inputs: [self], op: .logSoftmax(axis: axis)) { g, _ in
            // dx = g − softmax ⊙ Σ_axis g
            let dx = Tensor(uninitialized: y.shape)
            forEachLine(view) { base, stride in
                var s: Float = 0
                for l in 0..<view.length { s += g.pointer[base + l * stride] }
                for l in 0..<view.length {
                    let i = base + l * stride
                    dx.pointer[i] = g.pointer[i] - expf(y.pointer[i]) * s
                }
            }
            return [dx]
        }
    }
}

extension Variable {
    /// Softmax over contiguous rows of `length` (the last axis) into `y` with the selected kernels,
    /// rows spread over the pool when there are many (attention scores `[B, H, n, n]`).
    fileprivate func softmaxOfRows(_ y: Tensor, length: Int) -> Variable {
        let rows = value.count / max(length, 1)
        let (x, out) = (value.pointer, y.pointer)
        forEachRowRange(rows: rows, length: length) { range in
            for r in range { softmaxRow(x + r * length, out + r * length, length) }
        }
        return Variable.record(y, inputs: [self], op: .softmax(axis: -1)) { g, _ in
            // dx = y ⊙ (g − ⟨g, y⟩) per row
            let dx = Tensor(uninitialized: y.shape)
            let (gp, yp, dp) = (g.pointer, y.pointer, dx.pointer)
            forEachRowRange(rows: rows, length: length) { range in
                for r in range {
                    let o = r * length
                    let s = SIMD8<Float>(repeating: dot(gp + o, yp + o, length)), ss = s[0]
                    binaryMap(gp + o, yp + o, dp + o, length, { $1 * ($0 - s) }, { $1 * ($0 - ss) })
                }
            }
            return [dx]
        }
    }
}

/// `body(range)` over row ranges covering `0..<rows`, split across the pool for large tensors.
@inline(__always)
private func forEachRowRange(rows: Int, length: Int, _ body: @escaping (Range<Int>) -> Void) {
    if rows * length < parallelElementThreshold / 4 { body(0..<rows); return }
    ThreadPool.shared.parallelRanges(rows, grain: max(1, parallelElementThreshold / 8 / max(length, 1)), body)
}

/// One row of softmax with the selected kernels: maximum, `e^{x − max}` with the running sum, then 1 / sum.
@inline(__always)
private func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    KernelSet.selected.softmaxRow(x, y, n)
}

/// Calls `body(start, stride)` for each 1-D line along the axis of `view`.
@inline(__always)
private func forEachLine(_ view: AxisView, _ body: (_ start: Int, _ stride: Int) -> Void) {
    for o in 0..<view.outer {
        for i in 0..<view.inner { body(o * view.length * view.inner + i, view.inner) }
    }
}

private func softmaxForward(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ view: AxisView, log: Bool) {
    forEachLine(view) { base, stride in
        var top = -Float.infinity
        for l in 0..<view.length { top = max(top, x[base + l * stride]) }
        var total: Float = 0
        for l in 0..<view.length {
            let e = expf(x[base + l * stride] - top)
            y[base + l * stride] = e
            total += e
        }
        if log {
            let shift = top + logf(total)
            for l in 0..<view.length { y[base + l * stride] = x[base + l * stride] - shift }
        } else {
            let inverse = 1 / total
            for l in 0..<view.length { y[base + l * stride] *= inverse }
        }
    }
}
