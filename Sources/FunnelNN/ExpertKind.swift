import FunnelCore

/// The kinds of expert a mixture model can be built from (baselines.md §13.0–13.6).
public enum ExpertKind: String, Codable, CaseIterable, Sendable {
    /// MLP(D, expert widths): the classic MMoE/PLE expert.
    case mlp
    /// DCN's cross network (vector form) on e.
    case dcn
    /// DCN-V2's cross network (full, low-rank or mixture form) on e.
    case dcnV2
    /// NFM: bi-interaction pooling, then an MLP.
    case nfm
    /// AutoInt's interacting layers, flattened.
    case autoInt
    /// FINT's field-aware interaction layers, flattened.
    case fint
    /// xDeepFM's compressed interaction network, sum-pooled maps.
    case cin
}

/// Hyperparameters of the non-MLP expert kinds; every field is optional in JSON (defaults as below).
public struct ExpertSettings: Codable, Equatable, Sendable {
    /// dcn uses `layers` and `residual` (its form is always `.vector`); dcnV2 all options.
    public var cross = CrossNetwork.Options()
    /// Hidden widths of the MLP on NFM's bi-interaction vector ([DECISION] one layer of 64, baselines.md §13.3).
    public var nfmWidths = [64]
    public var autoInt = AutoInt.Options()
    public var fint = FieldInteraction.Options()
    public var cin = CIN.Options()

    public init(cross: CrossNetwork.Options = .init(), nfmWidths: [Int] = [64], autoInt: AutoInt.Options = .init(),
                fint: FieldInteraction.Options = .init(), cin: CIN.Options = .init()) {
        self.cross = cross
        self.nfmWidths = nfmWidths
        self.autoInt = autoInt
        self.fint = fint
        self.cin = cin
    }

}

extension ExpertKind {
    /// Builds an expert of this kind reading `e` `[B, F·d]`.
    ///
    /// - `.mlp`: `MLP(F·d, mlpWidths)` named `<name>` (parameters `<name>.linears.{i}.*`, `<name>.norms.{i}.*`).
    /// - other kinds: an `InteractionExpert` whose block is named `<name>.cross` (dcn, dcnV2), `<name>.autoint`,
    ///   `<name>.fint` or `<name>.cin`; NFM's parameter-free pooling is followed by `<name>.mlp` (`nfmWidths`).
    /// - `projectTo`: when the expert's natural width differs from it, a `Linear(→ projectTo)` named
    ///   `<name>.projection` follows (an MLP expert is then wrapped, its layers under `<name>.mlp`).
    /// `batchNorm` and `dropout` apply to every MLP built here.
    public func makeExpert(fieldCount: Int, embeddingWidth: Int, mlpWidths: [Int], batchNorm: Bool, dropout: Float,
                           settings: ExpertSettings = ExpertSettings(), projectTo width: Int? = nil, name: String,
                           using rng: inout SeededGenerator) -> any ExpertBlock {
        let input = fieldCount * embeddingWidth
        let projected = { (natural: Int) in width.flatMap { $0 == natural ? nil : $0 } }
        switch self {
        case .mlp:
            let natural = mlpWidths.last ?? input
            guard let target = projected(natural) else {
                return MLP(inputWidth: input, hiddenWidths: mlpWidths, batchNorm: batchNorm, dropout: dropout, name: name, using: &rng)
            }
            let mlp = MLP(inputWidth: input, hiddenWidths: mlpWidths, batchNorm: batchNorm, dropout: dropout,
                          name: qualified(name, "mlp"), using: &rng)
            return InteractionExpert(block: Identity(width: input), mlp: mlp, projectTo: target, name: name, using: &rng)
        case .nfm:
            let pooling = BiInteraction(fieldCount: fieldCount, embeddingWidth: embeddingWidth)
            let mlp = MLP(inputWidth: embeddingWidth, hiddenWidths: settings.nfmWidths, batchNorm: batchNorm, dropout: dropout,
                          name: qualified(name, "mlp"), using: &rng)
            return InteractionExpert(block: pooling, mlp: mlp, projectTo: projected(mlp.outputWidth), name: name, using: &rng)
        case .dcn, .dcnV2:
            var options = settings.cross
            if self == .dcn { options.form = .vector }
            let block = CrossNetwork(width: input, options: options, name: qualified(name, "cross"), using: &rng)
            return InteractionExpert(block: block, projectTo: projected(block.outputWidth), name: name, using: &rng)
        case .autoInt:
            let block = AutoInt(fieldCount: fieldCount, embeddingWidth: embeddingWidth, options: settings.autoInt,
                                name: qualified(name, "autoint"), using: &rng)
            return InteractionExpert(block: block, projectTo: projected(block.outputWidth), name: name, using: &rng)
        case .fint:
            let block = FieldInteraction(fieldCount: fieldCount, embeddingWidth: embeddingWidth, options: settings.fint,
                                         name: qualified(name, "fint"), using: &rng)
            return InteractionExpert(block: block, projectTo: projected(block.outputWidth), name: name, using: &rng)
        case .cin:
            let block = CIN(fieldCount: fieldCount, embeddingWidth: embeddingWidth, options: settings.cin,
                            name: qualified(name, "cin"), using: &rng)
            return InteractionExpert(block: block, projectTo: projected(block.outputWidth), name: name, using: &rng)
        }
    }
}

/// The input unchanged (the block of an MLP expert that needs a projection).
final class Identity: ExpertBlock {
    let outputWidth: Int
    init(width: Int) { outputWidth = width }
    var parameters: [Parameter] { [] }
    func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Variable { e }
}
