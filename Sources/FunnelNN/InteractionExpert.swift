import FunnelCore

/// An expert assembled from a block: `block(e)`, then optionally an MLP on the block's output, then optionally
/// `Linear(→ h)` to the width shared by the experts of a gate (baselines.md §13.0, `projectTo`).
/// Parameters: the block's, the MLP's (`<name>.mlp.*`) and the projection's (`<name>.projection.*`).
public final class InteractionExpert: ExpertBlock {
    public let block: any ExpertBlock
    public let mlp: MLP?
    public let projection: Linear?

    /// `mlp` must read `block.outputWidth` columns; `projectTo` adds the projection from the MLP's (or block's) width.
    public init(block: any ExpertBlock, mlp: MLP? = nil, projectTo width: Int? = nil, name: String, using rng: inout SeededGenerator) {
        self.block = block
        self.mlp = mlp
        let inner = mlp?.outputWidth ?? block.outputWidth
        projection = width.map { Linear(inner, $0, name: qualified(name, "projection"), using: &rng) }
    }

    public var children: [any Module] { block; mlp; projection }
    public var outputWidth: Int { projection?.outputWidth ?? mlp?.outputWidth ?? block.outputWidth }

    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable {
        var h = block(e, context)
        if let mlp { h = mlp(h, context) }
        if let projection { h = projection(h, context) }
        return h
    }
}
