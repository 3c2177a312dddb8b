/// Broadcasting a tensor shared by every sample (learned queries, inducing points) over a batch.
extension Variable {
    /// The value repeated `count` times along a new leading axis: shape `s` → `[count] + s` (PyTorch
    /// `x.unsqueeze(0).expand(count, …)`, materialised). The backward pass sums the gradient over that axis.
    public func expanded(toBatch count: Int) -> Variable {
        precondition(count > 0, "expanded to an empty batch")
        let source = value, width = value.count
        let out = Tensor(uninitialized: [count] + shape)
        for b in 0..<count { (out.pointer + b * width).update(from: source.pointer, count: width) }
        let inShape = shape
        return Variable.record(out, inputs: [self], op: .expandToBatch) { g, _ in
            let grad = Tensor(uninitialized: inShape)
            sumOverRows(g.pointer, rows: count, columns: width, into: grad.pointer)
            return [grad]
        }
    }
}
