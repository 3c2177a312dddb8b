import FunnelCore

/// Whether layers behave as in training (batch statistics, dropout) or evaluation (running statistics, no
/// dropout).
public enum ForwardMode: String, Sendable {
    case training, evaluation
}

/// Everything a forward pass needs besides its inputs: the tape (nil = inference, nothing recorded), the mode,
/// and the random stream for dropout and other noise.
public final class ForwardContext {
    /// Records operations for differentiation; nil in inference.
    public let tape: Tape?
    /// Training or evaluation behaviour.
    public let mode: ForwardMode
    /// Random stream for dropout and sampling noise.
    public var rng: SeededGenerator

    public init(tape: Tape?, mode: ForwardMode, rng: SeededGenerator = SeededGenerator(seed: 0)) {
        self.tape = tape
        self.mode = mode
        self.rng = rng
    }

    /// An inference context: evaluation mode, no tape.
    public static func inference() -> ForwardContext { ForwardContext(tape: nil, mode: .evaluation) }

    /// Whether layers should use training behaviour.
    public var isTraining: Bool { mode == .training }

    /// `parameter` as a variable: tracked when there is a tape, constant otherwise.
    public func use(_ parameter: Parameter) -> Variable {
        tape?.watch(parameter) ?? Variable(parameter.value)
    }

    /// The model input `name` (`FieldEmbedding.denseInput`): a graph input on a traced tape (`GraphTrace`), a
    /// constant otherwise (gradients never flow into inputs).
    public func input(_ value: Tensor, named name: String) -> Variable {
        guard let tape, tape.trace != nil else { return Variable(value) }
        return tape.input(value, name: name)
    }
}

/// A component with named trainable parameters and (optionally) named state buffers.
///
/// Names are dotted paths fixed at construction (`experts.3.linears.0.weight`), the same as the
/// corresponding PyTorch `state_dict` keys, so checkpoints and parity fixtures line up.
///
/// A leaf (`Linear`, `BatchNorm`, …) lists its own `parameters` (and `buffers`). A composite declares its
/// sub-modules once, in order, as `children`; its parameters and buffers are theirs, concatenated:
/// ```swift
/// public var children: [any Module] { embedding; experts; gates; towers }   // optionals and arrays allowed
/// ```
public protocol Module: AnyObject {
    /// The sub-modules whose parameters and buffers make up this module's, in a stable order (a leaf: none).
    @ModuleChildren var children: [any Module] { get }
    /// Trainable tensors, in a stable order (default: the children's).
    var parameters: [Parameter] { get }
    /// State that is saved but not trained (batch-norm running statistics), in a stable order (default: the
    /// children's).
    var buffers: [Parameter] { get }
}

extension Module {
    public var children: [any Module] { [] }
    public var parameters: [Parameter] { children.flatMap(\.parameters) }
    public var buffers: [Parameter] { children.flatMap(\.buffers) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Parameters and buffers by name.
    public var namedTensors: [String: Parameter] {
        Dictionary(uniqueKeysWithValues: (parameters + buffers).map { ($0.name, $0) })
    }
}

/// Builds a module's `children` from one line per part: a module, an optional module (absent: nothing), or an
/// array of modules (nested arrays are joined), with `if`/`switch` for parts that depend on the configuration.
@resultBuilder
public enum ModuleChildren {
    public static func buildExpression(_ module: any Module) -> [any Module] { [module] }
    public static func buildExpression(_ module: (any Module)?) -> [any Module] { module.map { [$0] } ?? [] }
    public static func buildExpression(_ modules: [any Module]) -> [any Module] { modules }
    public static func buildExpression(_ modules: [[any Module]]) -> [any Module] { modules.flatMap { $0 } }
    public static func buildBlock(_ parts: [any Module]...) -> [any Module] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [any Module]?) -> [any Module] { part ?? [] }
    public static func buildEither(first part: [any Module]) -> [any Module] { part }
    public static func buildEither(second part: [any Module]) -> [any Module] { part }
    public static func buildArray(_ parts: [[any Module]]) -> [any Module] { parts.flatMap { $0 } }
}

/// Joins a name prefix and a component (`"experts.0" + "linears"` → `experts.0.linears`).
public func qualified(_ prefix: String, _ component: String) -> String {
    prefix.isEmpty ? component : "\(prefix).\(component)"
}
