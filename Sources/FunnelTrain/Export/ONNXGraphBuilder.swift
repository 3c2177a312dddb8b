import FunnelCore

/// Why a model cannot be exported.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// `op` has no exact expression in standard ONNX ops (or the trace cannot bind it).
    case unsupported(op: String, detail: String)
    /// An output path exists and was not written by this export.
    case exists(path: String)

    public var description: String {
        switch self {
        case let .unsupported(op, detail): "cannot export to ONNX: op '\(op)': \(detail)"
        case let .exists(path): "\(path) already exists; remove it or choose another --out"
        }
    }
}

/// Nodes and initializers of the graph being written, fresh value names, and the shape tensors a dynamic batch
/// needs (`-1` in a reshape, or the batch size read from an input at run time).
struct ONNXGraphBuilder {
    private(set) var nodes: [ONNXNode] = []
    private(set) var initializers: [ONNXTensor] = []
    /// Op types used, for the README table.
    private(set) var opTypes: Set<String> = []
    private var counter = 0
    private var batchSizeName: String?
    /// The graph input whose leading extent is the batch size.
    let batchAnchor: String

    init(batchAnchor: String) {
        self.batchAnchor = batchAnchor
    }

    private mutating func fresh(_ hint: String) -> String {
        counter += 1
        return "\(hint)_\(counter)"
    }

    /// Appends a node with one output and returns the output's name.
    @discardableResult
    mutating func add(_ op: String, _ inputs: [String], _ attributes: [(name: String, value: ONNXAttributeValue)] = [],
                      output: String? = nil) -> String {
        let name = output ?? fresh(op.lowercased())
        nodes.append(ONNXNode(op: op, inputs: inputs, outputs: [name], attributes: attributes))
        opTypes.insert(op)
        return name
    }

    /// A float initializer (named `name`, or a fresh name).
    mutating func constant(_ tensor: Tensor, name: String? = nil) -> String {
        constant(tensor.scalars, dims: tensor.shape, name: name)
    }

    mutating func constant(_ values: [Float], dims: [Int], name: String? = nil) -> String {
        let name = name ?? fresh("const")
        initializers.append(ONNXTensor(name: name, floats: values, dims: dims))
        return name
    }

    /// A float scalar initializer.
    mutating func scalar(_ value: Float) -> String { constant([value], dims: []) }

    /// A double scalar initializer.
    mutating func double(_ value: Double) -> String {
        let name = fresh("double")
        initializers.append(ONNXTensor(name: name, doubles: [value], dims: []))
        return name
    }

    /// An int64 vector initializer.
    mutating func ints(_ values: [Int]) -> String {
        let name = fresh("ints")
        initializers.append(ONNXTensor(name: name, int64s: values, dims: [values.count]))
        return name
    }

    /// An int64 scalar initializer.
    mutating func intScalar(_ value: Int) -> String {
        let name = fresh("int")
        initializers.append(ONNXTensor(name: name, int64s: [value], dims: []))
        return name
    }

    /// The batch size as an int64 `[1]`, read once from the anchor input's shape.
    mutating func batchSize() -> String {
        if let batchSizeName { return batchSizeName }
        let shape = add("Shape", [batchAnchor])
        let name = add("Slice", [shape, ints([0]), ints([1])])
        batchSizeName = name
        return name
    }

    /// The shape `dims` as an int64 tensor computed at run time (batch extents from the batch size).
    mutating func runtimeShape(_ dims: [TracedDim]) -> String {
        guard dims.contains(where: { if case .batch = $0 { true } else { false } }) else { return ints(fixedExtents(dims)) }
        let pieces = dims.map { dim -> String in
            switch dim {
            case .fixed(let n): return ints([n])
            case .batch(let k): return k == 1 ? batchSize() : add("Mul", [batchSize(), ints([k])])
            }
        }
        return add("Concat", pieces, [("axis", .int(0))])
    }

    /// The target of a `Reshape` to `dims`: constant, with `-1` for the one batch extent when there is one.
    mutating func reshapeTarget(_ dims: [TracedDim]) -> String {
        let batchAxes = dims.indices.filter { if case .batch = dims[$0] { true } else { false } }
        guard batchAxes.count <= 1 else { return runtimeShape(dims) }
        return ints(dims.map { if case .fixed(let n) = $0 { n } else { -1 } })
    }

    private func fixedExtents(_ dims: [TracedDim]) -> [Int] {
        dims.map { if case .fixed(let n) = $0 { n } else { preconditionFailure("batch extent in a fixed shape") } }
    }
}
