/// Reverse-mode automatic differentiation by a tape of recorded operations.
///
/// One tape per forward pass: watch the parameters, run the forward pass on `Variable`s, then ask for gradients
/// as many times as needed (per task, per loss term) — the graph is kept until the tape is released, and
/// nothing outlives it. Inference mode is simply not creating a tape: operations on untracked variables record
/// nothing.
public final class Tape {
    struct Node {
        /// Node ids of the operands (nil for untracked operands).
        var inputs: [Int?]
        /// Maps the output's gradient to the operands'. nil for leaves.
        var backward: ((Tensor, [Bool]) -> [Tensor?])?
        /// The parameter this leaf stands for.
        var parameter: Parameter?
        /// Shape of the node's value.
        var shape: [Int]
        /// For a lookup: the rows it reads of `inputs[0]`; its backward then returns one gradient row per read.
        var reads: [Int32]?
        /// Every consumer of this node so far reads only some rows of it (`gatherRows`).
        var onlyRowReads = true
        /// Rows read by such consumers.
        var rowsRead: [Int32] = []
    }

    private(set) var nodes: [Node] = []
    private var parameterNodes: [ObjectIdentifier: Int] = [:]
    /// Also records what each node computes, for export; nil (the default) for training and gradient checks.
    public let trace: GraphTrace?

    public init(tracing trace: GraphTrace? = nil) {
        self.trace = trace
    }

    /// Number of recorded nodes.
    public var nodeCount: Int { nodes.count }

    /// The parameters watched on this tape, in first-watch order.
    public var watchedParameters: [Parameter] { nodes.compactMap { $0.parameter } }

    /// A tracked variable standing for `parameter` (the same node however often it is watched).
    public func watch(_ parameter: Parameter) -> Variable {
        let key = ObjectIdentifier(parameter)
        if let node = parameterNodes[key] { return Variable(value: parameter.value, node: node, tape: self) }
        nodes.append(Node(inputs: [], backward: nil, parameter: parameter, shape: parameter.value.shape))
        trace?.append(.parameter(parameter), value: parameter.value)
        parameterNodes[key] = nodes.count - 1
        return Variable(value: parameter.value, node: nodes.count - 1, tape: self)
    }

    /// A tracked leaf for a plain tensor (to take gradients with respect to inputs).
    public func variable(_ value: Tensor) -> Variable {
        nodes.append(Node(inputs: [], backward: nil, parameter: nil, shape: value.shape))
        trace?.append(.leaf, value: value)
        return Variable(value: value, node: nodes.count - 1, tape: self)
    }

    /// A tracked leaf for the model input `name` (a traced graph's input; otherwise as `variable(_:)`).
    public func input(_ value: Tensor, name: String) -> Variable {
        nodes.append(Node(inputs: [], backward: nil, parameter: nil, shape: value.shape))
        trace?.append(.input(name: name), value: value)
        return Variable(value: value, node: nodes.count - 1, tape: self)
    }

    func record(
        _ value: Tensor, inputs: [Variable], rowReads: [Int32]?, op: TracedOpKind, backward: @escaping (Tensor, [Bool]) -> [Tensor?]
    ) -> Variable {
        trace?.append(.op(op, operands: inputs.map { input in input.node.map { .node($0) } ?? .constant(input.value) }), value: value)
        let inputs = inputs.map(\.node)
        for (slot, input) in inputs.enumerated() {
            guard let input else { continue }
            if slot == 0, let rowReads { nodes[input].rowsRead.append(contentsOf: rowReads) } else { nodes[input].onlyRowReads = false }
        }
        nodes.append(Node(inputs: inputs, backward: backward, parameter: nil, shape: value.shape, reads: rowReads))
        return Variable(value: value, node: nodes.count - 1, tape: self)
    }

    // MARK: Gradients

    /// Gradients of `output` (weighted by `seed`, default all ones) with respect to `parameters`, in order, as
    /// dense tensors (row-sparse ones densified: O(table) for a table, meant for tests and small models).
    /// A parameter that `output` does not depend on gets a zero tensor. May be called repeatedly.
    public func gradients(of output: Variable, seed: Tensor? = nil, wrt parameters: [Parameter]) -> [Tensor] {
        zip(parameters, connectedGradients(of: output, seed: seed, wrt: parameters)).map { parameter, gradient in
            gradient ?? Tensor(zeros: parameter.value.shape)
        }
    }

    /// As `gradients(of:seed:wrt:)`, but nil for a parameter that `output` does not depend on (no zero tensor is
    /// allocated for it).
    public func connectedGradients(of output: Variable, seed: Tensor? = nil, wrt parameters: [Parameter]) -> [Tensor?] {
        zip(parameters, sparseGradients(of: output, seed: seed, wrt: parameters)).map { parameter, gradient in
            gradient?.densified(shape: parameter.value.shape)
        }
    }

    /// Gradients of `output` (weighted by `seed`) with respect to `parameters`, in order: `.rows` for a table read
    /// only by lookups (its size is the rows this output reached, not the table's), `.dense` otherwise, nil for a
    /// parameter that `output` does not depend on. What per-task gradient passes use. May be called repeatedly.
    public func sparseGradients(of output: Variable, seed: Tensor? = nil, wrt parameters: [Parameter]) -> [Gradient?] {
        let targets = parameters.map { parameterNodes[ObjectIdentifier($0)] }
        let found = propagate(from: output, seed: seed, targets: Set(targets.compactMap { $0 }))
        return targets.map { node in node.flatMap { found[$0] } }
    }

    /// The rows of the leading axis outside which every gradient with respect to `parameter` on this tape is zero,
    /// in increasing order, when `parameter` (rank ≥ 2) was read only by lookups (`gatherRows`, `embeddingBag`);
    /// nil when it is read densely, or not watched, or not read at all.
    public func rowsRead(by parameter: Parameter) -> [Int32]? {
        guard let node = parameterNodes[ObjectIdentifier(parameter)], parameter.value.rank >= 2,
              nodes[node].onlyRowReads, !nodes[node].rowsRead.isEmpty else { return nil }
        return uniqueSortedRows(nodes[node].rowsRead)
    }

    /// Gradients of `output` (weighted by `seed`) with respect to tracked `variables`, in order.
    public func gradients(of output: Variable, seed: Tensor? = nil, wrt variables: [Variable]) -> [Tensor] {
        let targets = variables.map { $0.tape === self ? $0.node : nil }
        let found = propagate(from: output, seed: seed, targets: Set(targets.compactMap { $0 }))
        return zip(variables, targets).map { variable, node in
            node.flatMap { found[$0] }?.densified(shape: variable.shape) ?? Tensor(zeros: variable.shape)
        }
    }

    /// Gradients of `output` (weighted by `seed`) with respect to every watched parameter it depends on, in
    /// first-watch order, as dense tensors; parameters it does not depend on are left out (no zero tensors are
    /// made). One backward pass over the part of the graph that leads to `output`. May be called repeatedly.
    public func parameterGradients(of output: Variable, seed: Tensor? = nil) -> [(parameter: Parameter, gradient: Tensor)] {
        let leaves = nodes.indices.filter { nodes[$0].parameter != nil }
        let found = propagate(from: output, seed: seed, targets: Set(leaves))
        return leaves.compactMap { node in
            found[node].map { (nodes[node].parameter!, $0.densified(shape: nodes[node].shape)) }
        }
    }

    /// Accumulates the gradient of `output` into the gradient of every parameter watched on this tape (row-sparse
    /// for tables read only by lookups).
    public func backward(_ output: Variable, seed: Tensor? = nil) {
        let leaves = nodes.indices.filter { nodes[$0].parameter != nil }
        let found = propagate(from: output, seed: seed, targets: Set(leaves))
        for node in leaves {
            guard let gradient = found[node], let parameter = nodes[node].parameter else { continue }
            parameter.accumulateGradient(gradient)
        }
    }

    /// One reverse pass from `output`. Dense operand gradients are summed as they arrive; a lookup's gradient rows
    /// are collected per operand and coalesced when the operand is reached: a node read only by lookups ends as a
    /// `.rows` gradient, one also read densely gets its rows scattered into the dense sum.
    private func propagate(from output: Variable, seed: Tensor?, targets: Set<Int>) -> [Int: Gradient] {
        guard let root = output.node, output.tape === self else { return [:] }
        if let seed { precondition(seed.shape == output.shape, "seed \(seed.shape) for output \(output.shape)") }
        var needed = [Bool](repeating: false, count: root + 1)
        for i in 0...root {
            needed[i] = targets.contains(i) || nodes[i].inputs.contains { $0.map { needed[$0] } ?? false }
        }
        guard needed[root] else { return [:] }
        var grads = [Tensor?](repeating: nil, count: root + 1)
        var rowParts = [[(reads: [Int32], values: Tensor)]](repeating: [], count: root + 1)
        grads[root] = seed ?? Tensor(repeating: 1, shape: output.shape)
        var result: [Int: Gradient] = [:]
        for i in stride(from: root, through: 0, by: -1) {
            guard let gradient = resolvedGradient(node: i, dense: grads[i], rows: rowParts[i]) else { continue }
            grads[i] = nil
            rowParts[i] = []
            if targets.contains(i) { result[i] = gradient }
            guard let backward = nodes[i].backward else { continue }
            let inputs = nodes[i].inputs
            let needs = inputs.map { $0.map { needed[$0] } ?? false }
            if !needs.contains(true) { continue }
            let inputGrads = backward(gradient.densified(shape: nodes[i].shape), needs)
            for (slot, input) in inputs.enumerated() {
                guard let input, needs[slot], let g = inputGrads[slot] else { continue }
                if slot == 0, let reads = nodes[i].reads {
                    rowParts[input].append((reads, g))
                } else if grads[input] == nil {
                    grads[input] = g
                } else {
                    Tensor.accumulate(g, into: &grads[input]!)
                }
            }
        }
        return result
    }

    /// The gradient of node `i` from its dense sum and its lookups' rows; nil when nothing reached it.
    private func resolvedGradient(node i: Int, dense: Tensor?, rows parts: [(reads: [Int32], values: Tensor)]) -> Gradient? {
        let shape = nodes[i].shape
        let width = shape.dropFirst().reduce(1, *)
        let reads = parts.count == 1 ? parts[0].reads : parts.flatMap(\.reads)
        let values: Tensor
        if parts.count == 1 {
            values = parts[0].values
        } else {
            values = Tensor(uninitialized: [reads.count, width])
            var at = values.pointer
            for part in parts {
                at.update(from: part.values.pointer, count: part.values.count)
                at += part.values.count
            }
        }
        guard var dense else {
            return parts.isEmpty ? nil : .rows(.coalescing(rows: reads, values: values, width: width))
        }
        guard !parts.isEmpty else { return .dense(dense) }
        if !dense.isUniquelyOwned() { dense = dense.copy() }
        RowSparseGradient.coalescing(rows: reads, values: values, width: width).add(into: dense)
        return .dense(dense)
    }
}

/// The distinct values of `rows` in increasing order (a sort of the rows read: O(n log n) in the reads, nothing
/// proportional to the table).
func uniqueSortedRows(_ rows: [Int32]) -> [Int32] {
    var result: [Int32] = []
    result.reserveCapacity(rows.count)
    for row in rows.sorted() where result.last != row { result.append(row) }
    return result
}
