import FunnelCore

/// Updates parameters from their `grad` (PyTorch semantics). Parameters without a gradient are skipped.
public protocol Optimizer: AnyObject {
    /// Learning rate; schedules change it between steps.
    var learningRate: Float { get set }
    /// Applies one update to every parameter in `parameters` that has a gradient.
    func step(_ parameters: [Parameter])
    /// A copy of the optimizer's state for `parameters` (for checkpoints and resuming).
    func snapshot(for parameters: [Parameter]) -> OptimizerSnapshot
    /// Replaces the state of `parameters` with `snapshot`, taken from the same kind of optimizer for parameters of
    /// the same names and shapes; throws without changing anything when it does not fit.
    func restore(_ snapshot: OptimizerSnapshot, for parameters: [Parameter]) throws
}

/// An optimizer's state: its step count and its per-parameter buffers, named `<parameter name>.<slot>` with
/// PyTorch's slot names (`exp_avg`, `exp_avg_sq`, `momentum_buffer`, `sum`). Parameters never updated have none.
public struct OptimizerSnapshot: Equatable {
    /// The optimizer type (`Adam`, `SGD`, `Adagrad`).
    public var kind: String
    /// Updates applied so far.
    public var step: Int
    public var tensors: [String: Tensor]

    public init(kind: String, step: Int, tensors: [String: Tensor]) {
        self.kind = kind
        self.step = step
        self.tensors = tensors
    }

    public static func == (a: OptimizerSnapshot, b: OptimizerSnapshot) -> Bool {
        a.kind == b.kind && a.step == b.step && a.tensors.keys == b.tensors.keys
            && a.tensors.allSatisfy { name, t in b.tensors[name].map { $0.shape == t.shape && $0.scalars == t.scalars } ?? false }
    }
}

/// Why an optimizer snapshot cannot be restored.
public enum OptimizerRestoreError: Error, Equatable, CustomStringConvertible {
    case wrongKind(expected: String, found: String)
    case unknownTensor(String)
    case incompleteState(parameter: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .wrongKind(expected, found): return "optimizer state of a \(found) optimizer cannot be loaded into \(expected)"
        case let .unknownTensor(name): return "optimizer state '\(name)' belongs to no parameter being restored"
        case let .incompleteState(parameter): return "optimizer state of '\(parameter)' is missing some of its buffers"
        case let .shapeMismatch(name, expected, found):
            return "optimizer state '\(name)': shape \(found) in the checkpoint, \(expected) for the parameter"
        }
    }
}

/// Per-parameter optimizer state (moment buffers), created on first use.
final class OptimizerState {
    private var slots: [ObjectIdentifier: [Tensor]] = [:]

    /// The `count` state tensors of `parameter`, zero-initialised on first access.
    func tensors(for parameter: Parameter, count: Int, initial: Float = 0) -> [Tensor] {
        let key = ObjectIdentifier(parameter)
        if let existing = slots[key] { return existing }
        let created = (0..<count).map { _ in Tensor(repeating: initial, shape: parameter.value.shape) }
        slots[key] = created
        return created
    }

    /// Whether `parameter` has state yet.
    func has(_ parameter: Parameter) -> Bool { slots[ObjectIdentifier(parameter)] != nil }

    /// Copies of the state of `parameters`, named `<parameter>.<slot name>`.
    func snapshot(of parameters: [Parameter], slotNames: [String]) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for parameter in parameters {
            guard let tensors = slots[ObjectIdentifier(parameter)] else { continue }
            for (name, tensor) in zip(slotNames, tensors) { result["\(parameter.name).\(name)"] = tensor.copy() }
        }
        return result
    }

    /// Replaces the state of `parameters` with copies from `tensors` (as made by `snapshot`), after checking that
    /// every tensor belongs to a parameter, has its shape, and that each parameter's slots are all present.
    func restore(_ tensors: [String: Tensor], of parameters: [Parameter], slotNames: [String]) throws {
        var restored: [ObjectIdentifier: [Tensor]] = [:], used = 0
        for parameter in parameters {
            let found = slotNames.compactMap { tensors["\(parameter.name).\($0)"] }
            if found.isEmpty { continue }
            guard found.count == slotNames.count else { throw OptimizerRestoreError.incompleteState(parameter: parameter.name) }
            for (slot, tensor) in zip(slotNames, found) where tensor.shape != parameter.value.shape {
                throw OptimizerRestoreError.shapeMismatch(name: "\(parameter.name).\(slot)", expected: parameter.value.shape,
                                                          found: tensor.shape)
            }
            restored[ObjectIdentifier(parameter)] = found.map { $0.copy() }
            used += found.count
        }
        if used < tensors.count {
            let known = Set(parameters.flatMap { p in slotNames.map { "\(p.name).\($0)" } })
            throw OptimizerRestoreError.unknownTensor(tensors.keys.sorted().first { !known.contains($0) }!)
        }
        for parameter in parameters { slots[ObjectIdentifier(parameter)] = restored[ObjectIdentifier(parameter)] }
    }
}

extension Optimizer {
    /// Throws unless `snapshot` was taken from an optimizer of `kind`.
    func checkKind(_ snapshot: OptimizerSnapshot, _ kind: String) throws {
        guard snapshot.kind == kind else { throw OptimizerRestoreError.wrongKind(expected: kind, found: snapshot.kind) }
    }
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`:
/// factor `min(1, maxNorm / (norm + 1e-6))`). Returns the norm before clipping. A row-sparse gradient costs its
/// rows only (the rows outside are zero and add nothing to the norm).
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    let norm = Float(parameters.reduce(0.0) { $0 + ($1.gradient?.squaredNorm ?? 0) }.squareRoot())
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for parameter in parameters { parameter.gradient = parameter.gradient?.scaled(by: factor) }
    }
    return norm
}

/// Runs `body(start, gradient, count)` over the elements a parameter's update should touch: `start` indexes the
/// parameter (and its state), `gradient` points at the gradient of element `start`. A dense gradient visits every
/// element; a row-sparse one only its rows when `lazy`, and otherwise is densified first (every row moves, as
/// dense PyTorch optimizers do: O(table)).
@inline(__always)
func forEachUpdateRange(_ parameter: Parameter, _ gradient: Gradient, lazy: Bool,
                        _ body: @escaping (Int, UnsafePointer<Float>, Int) -> Void) {
    if lazy, case .rows(let sparse) = gradient {
        let width = sparse.width
        for (i, row) in sparse.rows.enumerated() { body(Int(row) * width, sparse.values.pointer + i * width, width) }
    } else {
        let dense = gradient.densified(shape: parameter.value.shape)
        withExtendedLifetime(dense) {
            let g = UnsafePointer(dense.pointer)
            chunked(parameter.count) { start, count in body(start, g + start, count) }
        }
    }
}
