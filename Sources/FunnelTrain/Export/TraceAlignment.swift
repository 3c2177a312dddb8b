import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// An extent of a traced value: fixed, or `k` times the batch size.
enum TracedDim: Equatable {
    case fixed(Int)
    case batch(Int)
}

/// A constant operand of a traced op: a fixed tensor, or one value filling a batch-sized shape
/// (`Tensor(repeating: 1, shape: [batch, 1])` in a model).
enum TracedConstant {
    case tensor(Tensor)
    case filled(Float, dims: [TracedDim])
}

/// Two evaluation-mode traces of one model on batches of different sizes and contents, aligned node by node.
///
/// Why two: a single trace knows every value's shape but not which extents are the batch (a `[B·F, d]` gather, a
/// `[F, B·d]` fields-first layout); comparing a 2-row and a 3-row trace says exactly which extents grow with the
/// batch, so the graph gets a dynamic batch axis without any op having to declare it. The different contents also
/// expose values a model computed outside the traced ops from the batch's data (they differ between the traces),
/// which an exported graph would otherwise freeze as constants.
struct AlignedTrace {
    static let sizes = (2, 3)

    /// Every node as traced on the 2-row batch.
    let nodes: [(source: GraphTrace.Source, value: Tensor)]
    /// Each node's extents.
    let dims: [[TracedDim]]
    /// Whether each node depends on a graph input (otherwise it is a constant of the trained weights, folded).
    let dependsOnInput: [Bool]
    /// Constant operands per node and operand slot.
    let constants: [Int: [Int: TracedConstant]]
    /// The model's output on the 2-row batch (its heads point at nodes).
    let output: ModelOutput

    init(model: AnyMultiTaskModel, layout: FeatureLayout, taskCount: Int) throws {
        let (first, firstOutput) = Self.trace(model, batch: Self.batch(rows: Self.sizes.0, layout: layout, taskCount: taskCount, seed: 11))
        let (second, _) = Self.trace(model, batch: Self.batch(rows: Self.sizes.1, layout: layout, taskCount: taskCount, seed: 12))
        guard first.nodes.count == second.nodes.count else {
            throw ONNXExportError.unsupported(op: "forward pass", detail: "it records \(first.nodes.count) operations on one batch and \(second.nodes.count) on another (control flow depends on the data)")
        }
        var dims: [[TracedDim]] = [], depends: [Bool] = [], constants: [Int: [Int: TracedConstant]] = [:]
        for (index, (a, b)) in zip(first.nodes, second.nodes).enumerated() {
            dims.append(try Self.dims(a.value.shape, b.value.shape, what: "the value of node \(index)"))
            switch (a.source, b.source) {
            case (.parameter, .parameter):
                depends.append(false)
            case (.input, .input):
                depends.append(true)
            case (.op(let kind, let operands), .op(let otherKind, let otherOperands)):
                guard kind == otherKind else {
                    throw ONNXExportError.unsupported(op: kind.name, detail: "its attributes differ between batches (\(kind) vs \(otherKind))")
                }
                var dependent = false
                for (slot, (x, y)) in zip(operands, otherOperands).enumerated() {
                    switch (x, y) {
                    case (.node(let n), .node):
                        dependent = dependent || depends[n]
                    case (.constant(let u), .constant(let v)):
                        constants[index, default: [:]][slot] = try Self.constant(u, v, feeding: kind)
                    default:
                        throw ONNXExportError.unsupported(op: kind.name, detail: "an operand is tracked on one batch and constant on another")
                    }
                }
                depends.append(dependent)
            case (.leaf, _):
                throw ONNXExportError.unsupported(op: "tape.variable", detail: "a tracked leaf that is neither a parameter nor a model input")
            default:
                throw ONNXExportError.unsupported(op: "forward pass", detail: "node \(index) differs between batches")
            }
        }
        nodes = first.nodes
        self.dims = dims
        dependsOnInput = depends
        self.constants = constants
        output = firstOutput
    }

    /// Whether node `index` is folded into a constant (it depends on no input and has no batch extent).
    func isConstant(_ index: Int) -> Bool {
        !dependsOnInput[index] && !dims[index].contains { if case .batch = $0 { true } else { false } }
    }

    private static func trace(_ model: AnyMultiTaskModel, batch: Batch) -> (GraphTrace, ModelOutput) {
        let trace = GraphTrace()
        let output = model(batch, ForwardContext(tape: Tape(tracing: trace), mode: .evaluation))
        return (trace, output)
    }

    /// `rows` rows of seeded random ids (multi-valued fields with 0–3 ids, some padding), numerics and labels.
    static func batch(rows: Int, layout: FeatureLayout, taskCount: Int, seed: UInt64) -> Batch {
        var rng = SeededGenerator(seed: seed)
        let ids = (0..<rows).flatMap { _ in layout.vocabularySizes.map { Int32(rng.next() % UInt64(max($0, 1))) } }
        let bags = layout.multiValued.map { field -> MultiValuedIDs in
            var offsets: [Int32] = [0], values: [Int32] = []
            for _ in 0..<rows {
                for _ in 0..<Int(rng.next() % 4) { values.append(Int32(rng.next() % UInt64(max(field.vocabularySize, 1)))) }
                offsets.append(Int32(values.count))
            }
            return MultiValuedIDs(offsets: offsets, ids: values)
        }
        let numeric: Tensor? = layout.numericCount > 0 ? .normal([rows, layout.numericCount], using: &rng) : nil
        return Batch(count: rows, ids: ids, multiValued: bags, numeric: numeric, labels: Tensor(zeros: [rows, taskCount]))
    }

    private static func dims(_ a: [Int], _ b: [Int], what: String) throws -> [TracedDim] {
        guard a.count == b.count else {
            throw ONNXExportError.unsupported(op: "forward pass", detail: "\(what) has rank \(a.count) on one batch and \(b.count) on another")
        }
        let (n, m) = sizes
        return try zip(a, b).map { x, y in
            if x == y { return .fixed(x) }
            let k = (y - x) / (m - n)
            guard k * (m - n) == y - x, k * n == x else {
                throw ONNXExportError.unsupported(op: "forward pass", detail: "\(what): extent \(x) for \(n) rows and \(y) for \(m) is not a multiple of the batch")
            }
            return .batch(k)
        }
    }

    /// A constant operand seen on both traces: equal tensors, or one value filling a batch-sized shape.
    private static func constant(_ u: Tensor, _ v: Tensor, feeding kind: TracedOpKind) throws -> TracedConstant {
        if u.shape == v.shape {
            guard u.scalars == v.scalars else {
                throw ONNXExportError.unsupported(op: kind.name, detail: "an operand computed outside the traced ops from the batch's data (shape \(u.shape)) feeds it")
            }
            return .tensor(u)
        }
        let values = Set(u.scalars + v.scalars)
        guard values.count == 1, let value = values.first else {
            throw ONNXExportError.unsupported(op: kind.name, detail: "an operand computed outside the traced ops from the batch's data (shape \(u.shape) for \(sizes.0) rows) feeds it")
        }
        return .filled(value, dims: try dims(u.shape, v.shape, what: "a constant operand of \(kind.name)"))
    }
}
