import FunnelCore

/// Maps the nodes of an `AlignedTrace` that the outputs need to ONNX nodes, in trace order (already topological).
/// Parameters become initializers named as in the checkpoint; nodes that depend on no input are folded into
/// initializers (batch norm's `γ/√(σ² + ε)`, sigmoid-of-parameter gates); a linear layer followed by a per-column
/// affine map of constants (evaluation-mode batch norm) is folded into one `Gemm`. Each op kind's mapping is in
/// `ONNXEmitter+Ops.swift`; an op without one fails naming it.
struct ONNXEmitter {
    let trace: AlignedTrace
    var graph: ONNXGraphBuilder
    /// The ONNX value of each emitted or folded node.
    private var names: [Int: String] = [:]
    /// Consumers of each node among the live nodes.
    private var consumers: [Int: [Int]] = [:]
    private var live: Set<Int> = []
    /// ONNX names of the graph inputs by trace input name.
    let inputNames: [String: String]

    init(trace: AlignedTrace, inputs: [String: String], batchAnchor: String) {
        self.trace = trace
        inputNames = inputs
        graph = ONNXGraphBuilder(batchAnchor: batchAnchor)
    }

    /// Emits everything `outputs` (trace nodes) depend on; afterwards `name(of:)` gives their ONNX values.
    mutating func emit(outputs: [Int]) throws {
        for node in outputs { consumers[node, default: []].append(-1) }  // a graph output is a consumer too
        var stack = outputs
        while let node = stack.popLast() {
            guard live.insert(node).inserted else { continue }
            if case .op(_, let operands) = trace.nodes[node].source, !trace.isConstant(node) {
                for case .node(let n) in operands {
                    consumers[n, default: []].append(node)
                    stack.append(n)
                }
            }
        }
        for node in live.sorted() where names[node] == nil && !trace.isConstant(node) {
            switch trace.nodes[node].source {
            case .input(let name):
                guard let onnx = inputNames[name] else { throw ONNXExportError.unsupported(op: "input", detail: "unknown model input '\(name)'") }
                names[node] = onnx
            case .op(let kind, _):
                names[node] = try emit(kind, node: node)
            case .parameter, .leaf:
                preconditionFailure("node \(node) is a leaf that depends on the batch")
            }
        }
    }

    /// The ONNX value of trace node `node` (emitted by `emit(outputs:)`, or folded now).
    mutating func name(of node: Int) -> String {
        if let name = names[node] { return name }
        precondition(trace.isConstant(node), "node \(node) was not emitted")
        let value = trace.nodes[node].value
        let name: String
        if case .parameter(let parameter) = trace.nodes[node].source { name = graph.constant(value, name: parameter.name) } else {
            name = graph.constant(value)
        }
        names[node] = name
        return name
    }

    /// Marks `node` as computed by `name` (an op folded into an earlier node's ONNX op).
    mutating func alias(_ node: Int, to name: String) { names[node] = name }

    // MARK: Operands

    func operands(of node: Int) -> [GraphTrace.Operand] {
        guard case .op(_, let operands) = trace.nodes[node].source else { return [] }
        return operands
    }

    /// The ONNX value of operand `slot` of `node`.
    mutating func operand(_ node: Int, _ slot: Int) -> String {
        switch operands(of: node)[slot] {
        case .node(let n): return name(of: n)
        case .constant:
            switch trace.constants[node]![slot]! {
            case .tensor(let t): return graph.constant(t)
            case .filled(let value, let dims): return graph.add("Expand", [graph.scalar(value), graph.runtimeShape(dims)])
            }
        }
    }

    /// The extents of operand `slot` of `node`.
    func operandDims(_ node: Int, _ slot: Int) -> [TracedDim] {
        switch operands(of: node)[slot] {
        case .node(let n): return trace.dims[n]
        case .constant:
            switch trace.constants[node]![slot]! {
            case .tensor(let t): return t.shape.map(TracedDim.fixed)
            case .filled(_, let dims): return dims
            }
        }
    }

    /// The value of operand `slot` of `node` when it is a constant (folded node or captured tensor), else nil.
    func constantValue(_ node: Int, _ slot: Int) -> Tensor? {
        switch operands(of: node)[slot] {
        case .node(let n): return trace.isConstant(n) ? trace.nodes[n].value : nil
        case .constant:
            if case .tensor(let t)? = trace.constants[node]?[slot] { return t }
            return nil
        }
    }

    /// The single live consumer of `node`, if it has exactly one and it is an op (not a graph output).
    func soleConsumer(of node: Int) -> Int? {
        guard let list = consumers[node], list.count == 1, list[0] >= 0 else { return nil }
        return list[0]
    }

    /// The op kind of `node`.
    func kind(of node: Int) -> TracedOpKind? {
        if case .op(let kind, _) = trace.nodes[node].source { return kind }
        return nil
    }
}
