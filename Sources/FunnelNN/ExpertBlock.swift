import FunnelCore

/// The expert interface (baselines.md §13.0): a block mapping the flattened field embeddings of a batch to a
/// representation. MMoE, PLE and DEPHN mix experts of any conforming kind.
///
/// Input `e` `[B, F·d]`, field-major (`e[b, f·d + k] = E[b, f, k]`); field-wise blocks reshape it to
/// `[B, F, d]` inside. Output `[B, outputWidth]`.
public protocol ExpertBlock: Module {
    /// Columns of the output.
    var outputWidth: Int { get }
    /// `e` `[B, F·d]` → `[B, outputWidth]`.
    func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable
}

/// An MLP is an expert when it has no output layer (with one it returns `[B]` logits).
extension MLP: ExpertBlock {}
