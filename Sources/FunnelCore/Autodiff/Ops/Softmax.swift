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
        softmaxForward(value.pointer, y.pointer, view, log: false)
        return Variable.record(y, inputs: [self]) { g, _ in
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
        return Variable.record(y, inputs: [self]) { g, _ in
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
