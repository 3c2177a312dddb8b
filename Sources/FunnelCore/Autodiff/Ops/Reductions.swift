/// Sums and means, over everything or along one axis.
extension Variable {
    /// Sum of all elements, as a scalar (shape `[]`).
    public func sum() -> Variable {
        let shape = self.shape
        return Variable.record(Tensor(scalar: value.sum()), inputs: [self], op: .sumAll) { g, _ in
            [Tensor(repeating: g.scalar, shape: shape)]
        }
    }

    /// Mean of all elements, as a scalar.
    public func mean() -> Variable { sum() * (1 / Float(max(value.count, 1))) }

    /// Sum along `axis`; the axis is kept with extent 1 when `keepingAxis`, removed otherwise.
    public func sum(alongAxis axis: Int, keepingAxis: Bool = false) -> Variable {
        let view = AxisView(shape, axis: axis)
        let axis = resolvedAxis(axis, rank: shape.count)
        var outShape = shape
        if keepingAxis { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        let out = Tensor(zeros: outShape)
        let (x, y) = (value.pointer, out.pointer)
        let lastAxis = view.inner == 1
        if lastAxis {  // one contiguous row per output element
            sumOverColumns(x, rows: view.outer, columns: view.length, into: y)
        } else {
            for o in 0..<view.outer {
                for l in 0..<view.length {
                    let source = x + (o * view.length + l) * view.inner, target = y + o * view.inner
                    binaryMap(target, source, target, view.inner, { $0 + $1 }, { $0 + $1 })
                }
            }
        }
        let inShape = shape
        return Variable.record(out, inputs: [self], op: .sumAlongAxis(axis, keepingAxis: keepingAxis)) { g, _ in
            let grad = Tensor(uninitialized: inShape)
            for o in 0..<view.outer {
                if lastAxis {
                    (grad.pointer + o * view.length).update(repeating: g.pointer[o], count: view.length)
                    continue
                }
                for l in 0..<view.length {
                    (grad.pointer + (o * view.length + l) * view.inner).update(from: g.pointer + o * view.inner, count: view.inner)
                }
            }
            return [grad]
        }
    }

    /// Mean along `axis`.
    public func mean(alongAxis axis: Int, keepingAxis: Bool = false) -> Variable {
        let length = shape[resolvedAxis(axis, rank: shape.count)]
        return sum(alongAxis: axis, keepingAxis: keepingAxis) * (1 / Float(max(length, 1)))
    }
}
