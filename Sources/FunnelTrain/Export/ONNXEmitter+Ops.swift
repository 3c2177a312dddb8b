import FunnelCore

/// One ONNX mapping per `TracedOpKind` (opset 17). Reshapes keep the batch axis dynamic (`0` copies an extent, `-1`
/// infers the batch extent); lookups read the `ids` inputs with the fields' table offsets added in the graph.
extension ONNXEmitter {
    mutating func emit(_ kind: TracedOpKind, node: Int) throws -> String {
        let dims = trace.dims[node], rank = dims.count
        let x = { (emitter: inout ONNXEmitter, slot: Int) in emitter.operand(node, slot) }
        let unary = { (emitter: inout ONNXEmitter, op: String) in emitter.graph.add(op, [x(&emitter, 0)]) }
        switch kind {
        case .add: return graph.add("Add", [try broadcastOperand(node, 0, kind), try broadcastOperand(node, 1, kind)])
        case .subtract: return graph.add("Sub", [try broadcastOperand(node, 0, kind), try broadcastOperand(node, 1, kind)])
        case .multiply: return graph.add("Mul", [try broadcastOperand(node, 0, kind), try broadcastOperand(node, 1, kind)])
        case .divide: return graph.add("Div", [try broadcastOperand(node, 0, kind), try broadcastOperand(node, 1, kind)])
        case .scale(let factor): return graph.add("Mul", [x(&self, 0), graph.scalar(factor)])
        case .shift(let constant): return graph.add("Add", [x(&self, 0), graph.scalar(constant)])
        case .relu: return unary(&self, "Relu")
        case .sigmoid: return unary(&self, "Sigmoid")
        case .softplus: return unary(&self, "Softplus")
        case .tanh: return unary(&self, "Tanh")
        case .exp: return unary(&self, "Exp")
        case .log: return unary(&self, "Log")
        case .sin: return unary(&self, "Sin")
        case .cos: return unary(&self, "Cos")
        case .squareRoot: return unary(&self, "Sqrt")
        case .square:
            let input = x(&self, 0)
            return graph.add("Mul", [input, input])
        case .leakyRelu(let slope): return graph.add("LeakyRelu", [x(&self, 0)], [("alpha", .float(slope))])
        case .clamp(let lower, let upper): return graph.add("Clip", [x(&self, 0), graph.scalar(lower), graph.scalar(upper)])
        case .matmul(let transposeA, let transposeB):
            return graph.add("Gemm", [x(&self, 0), x(&self, 1)], [("transA", .int(transposeA ? 1 : 0)), ("transB", .int(transposeB ? 1 : 0))])
        case .linear(let relu):
            let out = linear(node)
            return relu ? graph.add("Relu", [out]) : out
        case .batchedMatmul(let transposeA, let transposeB):
            var (a, b) = (x(&self, 0), x(&self, 1))
            if transposeA { a = graph.add("Transpose", [a], [("perm", .ints([0, 2, 1]))]) }
            if transposeB { b = graph.add("Transpose", [b], [("perm", .ints([0, 2, 1]))]) }
            return graph.add("MatMul", [a, b])
        case .reshape: return graph.add("Reshape", [x(&self, 0), graph.reshapeTarget(dims)])
        case .concat(let axis): return graph.add("Concat", operands(of: node).indices.map { x(&self, $0) }, [("axis", .int(axis))])
        case .slice(let axis, let start, let end):
            return graph.add("Slice", [x(&self, 0), graph.ints([start]), graph.ints([end]), graph.ints([axis])])
        case .transposeLastTwo:
            var perm = Array(0..<rank)
            perm.swapAt(rank - 2, rank - 1)
            return graph.add("Transpose", [x(&self, 0)], [("perm", .ints(perm))])
        case .swapAxes(let a, let b):
            var perm = Array(0..<rank)
            perm.swapAt(a, b)
            return graph.add("Transpose", [x(&self, 0)], [("perm", .ints(perm))])
        case .sumAll: return graph.add("ReduceSum", [x(&self, 0)], [("keepdims", .int(0))])
        case .sumAlongAxis(let axis, let keep):
            return graph.add("ReduceSum", [x(&self, 0), graph.ints([axis])], [("keepdims", .int(keep ? 1 : 0))])
        case .expandToBatch:
            let unsqueezed = graph.add("Unsqueeze", [x(&self, 0), graph.ints([0])])
            return graph.add("Expand", [unsqueezed, graph.runtimeShape(dims)])
        case .gatherRows(let source):
            let source = try bound(source, kind)
            let rows = graph.add("Gather", [x(&self, 0), graph.add("Add", [try input(source.input, kind), graph.ints(source.offsets.map(Int.init))])])
            return graph.add("Reshape", [rows, graph.reshapeTarget(dims)])
        case .embeddingBag(let source, let pooling):
            return try bag(node, source: try bound(source, kind), pooling: pooling, kind)
        case .softmax(let axis): return graph.add("Softmax", [x(&self, 0)], [("axis", .int(axis < 0 ? rank + axis : axis))])
        case .logSoftmax(let axis): return graph.add("LogSoftmax", [x(&self, 0)], [("axis", .int(axis < 0 ? rank + axis : axis))])
        case .layerNorm(let epsilon):
            return graph.add("LayerNormalization", [x(&self, 0), x(&self, 1), x(&self, 2)], [("axis", .int(-1)), ("epsilon", .float(epsilon))])
        case .attentionScores(let heads, let scale):
            let scores = headScores(x(&self, 0), x(&self, 1), heads: heads, width: operandDims(node, 0)[2])
            return scale == 1 ? scores : graph.add("Mul", [scores, graph.scalar(scale)])
        case .attentionMix(let heads):
            return headMix(x(&self, 0), x(&self, 1), heads: heads, width: operandDims(node, 1)[2])
        case .scaledDotProductAttention(let heads):
            guard case .fixed(let width) = operandDims(node, 0)[2] else { throw unsupported(kind, "a batch-sized head width") }
            let scores = headScores(x(&self, 0), x(&self, 1), heads: heads, width: .fixed(width))
            let scaled = graph.add("Mul", [scores, graph.scalar(1 / Float(width / heads).squareRoot())])
            return headMix(graph.add("Softmax", [scaled], [("axis", .int(3))]), x(&self, 2), heads: heads, width: .fixed(width))
        case .pairwiseRowProducts:
            let a = graph.add("Unsqueeze", [x(&self, 0), graph.ints([1])]), b = graph.add("Unsqueeze", [x(&self, 1), graph.ints([0])])
            return graph.add("Reshape", [graph.add("Mul", [a, b]), graph.reshapeTarget(dims)])
        case .identity: return x(&self, 0)
        case .trainingOnly(let name): throw unsupported(kind, "'\(name)' is a training-mode op with no inference mapping")
        }
    }

    private func unsupported(_ kind: TracedOpKind, _ detail: String) -> ONNXExportError {
        .unsupported(op: kind.name, detail: detail)
    }

    private func bound(_ source: TracedIndices?, _ kind: TracedOpKind) throws -> TracedIndices {
        guard let source else { throw unsupported(kind, "a lookup whose ids are not a model input (no TracedIndices)") }
        return source
    }

    private func input(_ name: String, _ kind: TracedOpKind) throws -> String {
        guard let onnx = inputNames[name] else { throw unsupported(kind, "unknown model input '\(name)'") }
        return onnx
    }

    /// Operand `slot` of a binary op, reshaped to a scalar when it has one element but would not broadcast under
    /// ONNX's (NumPy's) right-aligned rules; Funnel's row, column and scalar roles are otherwise the same.
    private mutating func broadcastOperand(_ node: Int, _ slot: Int, _ kind: TracedOpKind) throws -> String {
        let dims = operandDims(node, slot), result = trace.dims[node]
        if dims.count <= result.count && zip(dims.reversed(), result.reversed()).allSatisfy({ $0 == $1 || $0 == .fixed(1) }) {
            return operand(node, slot)
        }
        guard dims.allSatisfy({ $0 == .fixed(1) }) else { throw unsupported(kind, "operand extents \(dims) do not broadcast to \(result)") }
        if let value = constantValue(node, slot) { return graph.scalar(value.scalars[0]) }
        return graph.add("Reshape", [operand(node, slot), graph.ints([])])
    }

    /// `Gemm(x, W, b, transB)`; an evaluation-mode batch norm right after it (`y · a + c`, constant `[out]` a and c,
    /// the layer's only consumer) folded in: `W' = diag(a)·W`, `b' = a ⊙ b + c`.
    private mutating func linear(_ node: Int) -> String {
        let hasBias = operands(of: node).count == 3
        if let (scale, shift, last) = foldableAffine(after: node), let w = constantValue(node, 1) {
            let (outWidth, inWidth) = (w.shape[0], w.shape[1])
            var weights = w.scalars, bias = [Float](repeating: 0, count: outWidth)
            let b = hasBias ? constantValue(node, 2)?.scalars : nil
            for o in 0..<outWidth {
                for i in 0..<inWidth { weights[o * inWidth + i] *= scale[o] }
                bias[o] = (b?[o] ?? 0) * scale[o] + shift[o]
            }
            let out = graph.add("Gemm", [operand(node, 0), graph.constant(weights, dims: w.shape), graph.constant(bias, dims: [outWidth])],
                                [("transB", .int(1))])
            for folded in last { alias(folded, to: out) }
            return out
        }
        return graph.add("Gemm", (0..<operands(of: node).count).map { operand(node, $0) }, [("transB", .int(1))])
    }

    /// When `node`'s only consumer multiplies it by a constant `[out]` and that product's only consumer adds a
    /// constant `[out]`: the two vectors and the two nodes.
    private func foldableAffine(after node: Int) -> (scale: [Float], shift: [Float], nodes: [Int])? {
        guard case .fixed(let width)? = trace.dims[node].last, let m = soleConsumer(of: node), kind(of: m) == .multiply,
              let scale = otherConstant(of: m, besides: node, width: width),
              let a = soleConsumer(of: m), kind(of: a) == .add, let shift = otherConstant(of: a, besides: m, width: width) else { return nil }
        return (scale, shift, [m, a])
    }

    private func otherConstant(of node: Int, besides input: Int, width: Int) -> [Float]? {
        let slots = operands(of: node)
        guard slots.count == 2 else { return nil }
        let slot: Int
        if case .node(input) = slots[0] { slot = 1 } else if case .node(input) = slots[1] { slot = 0 } else { return nil }
        guard let value = constantValue(node, slot), value.shape == [width] else { return nil }
        return value.scalars
    }

    /// Per-head scores `[B, H, n_q, n_k]` of `[B, n, H·d_k]` queries and keys.
    private mutating func headScores(_ q: String, _ k: String, heads: Int, width: TracedDim) -> String {
        guard case .fixed(let w) = width else { preconditionFailure("batch-sized head width") }
        let split = { (emitter: inout ONNXEmitter, v: String, perm: [Int]) in
            emitter.graph.add("Transpose", [emitter.graph.add("Reshape", [v, emitter.graph.ints([0, 0, heads, w / heads])])], [("perm", .ints(perm))])
        }
        return graph.add("MatMul", [split(&self, q, [0, 2, 1, 3]), split(&self, k, [0, 2, 3, 1])])
    }

    /// Per-head weighted sums of `[B, n_k, H·d_v]` values by `[B, H, n_q, n_k]` weights, heads concatenated.
    private mutating func headMix(_ weights: String, _ v: String, heads: Int, width: TracedDim) -> String {
        guard case .fixed(let w) = width else { preconditionFailure("batch-sized head width") }
        let values = graph.add("Transpose", [graph.add("Reshape", [v, graph.ints([0, 0, heads, w / heads])])], [("perm", .ints([0, 2, 1, 3]))])
        let mixed = graph.add("Transpose", [graph.add("MatMul", [weights, values])], [("perm", .ints([0, 2, 1, 3]))])
        return graph.add("Reshape", [mixed, graph.ints([0, 0, w])])
    }

    /// A pooled multi-valued field from padded ids `[B, L]` and lengths `[B]`: rows at positions below the length
    /// whose id is not 0 (padding), summed, or averaged over their count (an empty bag pools to zeros).
    private mutating func bag(_ node: Int, source: TracedIndices, pooling: Variable.BagPooling, _ kind: TracedOpKind) throws -> String {
        let ids = try input(source.input, kind), lengths = try input(ONNXExport.lengthsInput(of: source.input), kind)
        let rows = graph.add("Gather", [operand(node, 0), graph.add("Add", [ids, graph.ints([Int(source.offsets[0])])])])
        let length = graph.add("Gather", [graph.add("Shape", [ids]), graph.intScalar(1)])
        let positions = graph.add("Range", [graph.intScalar(0), length, graph.intScalar(1)])
        let inside = graph.add("Less", [graph.add("Unsqueeze", [positions, graph.ints([0])]), graph.add("Unsqueeze", [lengths, graph.ints([1])])])
        let notPadding = graph.add("Not", [graph.add("Equal", [ids, graph.ints([0])])])
        let mask = graph.add("Cast", [graph.add("And", [inside, notPadding])], [("to", .int(ONNXElementType.float.rawValue))])
        let masked = graph.add("Mul", [rows, graph.add("Unsqueeze", [mask, graph.ints([2])])])
        let sum = graph.add("ReduceSum", [masked, graph.ints([1])], [("keepdims", .int(0))])
        guard pooling == .mean else { return sum }
        let count = graph.add("ReduceSum", [mask, graph.ints([1])], [("keepdims", .int(1))])
        return graph.add("Div", [sum, graph.add("Max", [count, graph.scalar(1)])])
    }
}
