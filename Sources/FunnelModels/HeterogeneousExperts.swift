import FunnelCore
import FunnelNN

/// Which of DEPHN/MT-PHN's expert families are public (shared by all tasks) and which exist once per task
/// (dephn.md §4.7; the placements of the paper's Table I).
public enum ExpertPlacement: String, Codable, CaseIterable, Sendable {
    /// K public DNN experts; one Cross + Field module per task (the paper's choice, default).
    case dnnPublicCFPrivate
    /// The DNN experts and a single Cross + Field module, all public.
    case dnnPublicCFPublic
    /// One set of K DNN experts per task; one public Cross + Field module.
    case dnnPrivateCFPublic

    public var dnnIsPublic: Bool { self != .dnnPrivateCFPublic }
    public var crossFieldIsPublic: Bool { self != .dnnPublicCFPrivate }
}

/// The heterogeneous interaction layer of PHN/DEPHN (dephn.md §4.2–4.4, Fig. 2), fed by the field embeddings:
/// ```
/// per branch b (DNN; Cross + Field), public or per task:  E_sg^b = SSG^b(E)                     [B, D]
/// DNN experts   o_k = LeakyMLP_k(E_sg^dnn)                                                      [B, h]
/// Cross         x_{l+1} = x_0 ⊙ (Ω_l x_l) + x_0 · (ω_lᵀ x_l) + b_l + ρ_l x_l,  x_0 = E_sg^cf   [B, D]
/// Field         V_{l+1} = V_0 ⊙ (Ω'_l V_l) + ω'_l ⊗ V_l,                    V_0 = E_sg^cf   [B, D]
/// ```
/// Parameter names, with `{t}` present only for per-task branches: `attention.*` (shared MSA) or
/// `ssg.<branch>.attention.*` (one MSA per branch), `ssg.dnn[.{t}].gate`, `ssg.cf[.{t}].gate`,
/// `dnn[.{t}].{k}.linears.{j}.*`, `cross[.{t}].layers.{l}.*` (`CrossNetwork`, combined form) and
/// `field[.{t}].layers.{l}.*` (`FieldInteraction`, PHN mixing). Without SSG (`useSSG: false`) E_sg = E and
/// there is no attention or gate.
public final class HeterogeneousExperts: Module {
    public struct Options: Equatable, Sendable {
        public var placement = ExpertPlacement.dnnPublicCFPrivate
        public var useSSG = true
        public var sharedAttention = true
        public var attentionHeads = 2
        public var dnnExperts = 3
        public var dnnWidths = [256, 128]
        public var leakySlope: Float = 0.01
        public var crossLayers = 3
        public var crossResidual = CrossNetwork.Residual.gated
        public var fieldLayers = 3

        public init() {}
    }

    /// Expert outputs of one forward pass.
    public struct Output {
        /// Per DNN branch (one if public, one per task otherwise): the K expert outputs `[B, h]`.
        public var dnn: [[Variable]]
        /// Per Cross + Field branch: x_{L_c} and flatten(V_{L_f}), each `[B, D]`.
        public var crossField: [(cross: Variable, field: Variable)]
        /// The SSG view of the public branch (the DNN one when both are public) `[B, D]`, input of DEPHN's
        /// mapping gates.
        public var publicView: Variable
    }

    public let options: Options
    public let fieldCount: Int, embeddingWidth: Int, tasks: Int
    /// The MSA shared by every SSG (nil without SSG or with one MSA per branch).
    public let attention: MultiHeadAttention?
    /// SSG per DNN branch and per Cross + Field branch (empty without SSG).
    public let dnnGating: [SoftSelectionGating], crossFieldGating: [SoftSelectionGating]
    /// Per DNN branch, its K experts.
    public let dnn: [[LeakyMLP]]
    /// Per Cross + Field branch.
    public let cross: [CrossNetwork], field: [FieldInteraction]

    public init(fieldCount: Int, embeddingWidth d: Int, tasks: Int, options o: Options, using rng: inout SeededGenerator) {
        precondition(o.dnnExperts > 0 && !o.dnnWidths.isEmpty, "DNN experts need a count and widths")
        options = o
        self.fieldCount = fieldCount
        embeddingWidth = d
        self.tasks = tasks
        let width = fieldCount * d
        let dnnBranches = o.placement.dnnIsPublic ? ["dnn"] : (0..<tasks).map { "dnn.\($0)" }
        let cfBranches = o.placement.crossFieldIsPublic ? [""] : (0..<tasks).map { ".\($0)" }
        let shared = o.useSSG && o.sharedAttention
            ? SoftSelectionGating.makeAttention(embeddingWidth: d, heads: o.attentionHeads, name: "attention", using: &rng) : nil
        attention = shared
        func gating(_ branch: String, _ rng: inout SeededGenerator) -> SoftSelectionGating {
            let name = "ssg.\(branch)"
            if let shared { return SoftSelectionGating(fieldCount: fieldCount, embeddingWidth: d, attention: shared, name: name) }
            return SoftSelectionGating(fieldCount: fieldCount, embeddingWidth: d, heads: o.attentionHeads, name: name, using: &rng)
        }
        dnnGating = o.useSSG ? dnnBranches.map { gating($0, &rng) } : []
        crossFieldGating = o.useSSG ? cfBranches.map { gating("cf" + $0, &rng) } : []
        dnn = dnnBranches.map { branch in
            (0..<o.dnnExperts).map { k in
                LeakyMLP(inputWidth: width, hiddenWidths: o.dnnWidths, slope: o.leakySlope, name: "\(branch).\(k)", using: &rng)
            }
        }
        var cross: [CrossNetwork] = [], field: [FieldInteraction] = []
        for suffix in cfBranches {
            cross.append(CrossNetwork(width: width, options: .init(layers: o.crossLayers, form: .combined, residual: o.crossResidual),
                                      name: "cross" + suffix, using: &rng))
            field.append(FieldInteraction(fieldCount: fieldCount, embeddingWidth: d,
                                          options: .init(layers: o.fieldLayers, mixing: .current), name: "field" + suffix, using: &rng))
        }
        self.cross = cross
        self.field = field
    }

    public var children: [any Module] {
        attention; dnnGating; crossFieldGating; dnn
        for (crossExpert, fieldExpert) in zip(cross, field) { crossExpert; fieldExpert }
    }

    /// Parameters of the public branches and experts (the shared MSA included).
    public var sharedParameters: [Parameter] {
        let placement = options.placement
        var result = attention?.parameters ?? []
        if placement.dnnIsPublic { result += dnnGating.flatMap(\.parameters) + dnn.joined().flatMap(\.parameters) }
        if placement.crossFieldIsPublic {
            result += crossFieldGating.flatMap(\.parameters) + zip(cross, field).flatMap { $0.parameters + $1.parameters }
        }
        return result
    }

    /// Width h of a DNN expert's output.
    public var dnnWidth: Int { options.dnnWidths.last! }

    /// Width D = F·d of a cross or field output.
    public var crossFieldWidth: Int { fieldCount * embeddingWidth }

    /// `e` `[B, F·d]` → every expert's output.
    public func callAsFunction(_ e: Variable, _ context: ForwardContext) -> Output {
        let difference = attention.map { SoftSelectionGating.attentionDifference(e, attention: $0, fieldCount: fieldCount, context) }
        func view(_ gatings: [SoftSelectionGating], _ branch: Int) -> Variable {
            guard branch < gatings.count else { return e }
            let gating = gatings[branch]
            return difference.map { gating.mixing(e, difference: $0, context) } ?? gating(e, context)
        }
        let dnnViews = dnn.indices.map { view(dnnGating, $0) }
        let cfViews = cross.indices.map { view(crossFieldGating, $0) }
        let dnnOutputs = zip(dnn, dnnViews).map { experts, input in experts.map { $0(input, context) } }
        let crossField = cfViews.indices.map { b in (cross: cross[b](cfViews[b], context), field: field[b](cfViews[b], context)) }
        return Output(dnn: dnnOutputs, crossField: crossField,
                      publicView: options.placement.dnnIsPublic ? dnnViews[0] : cfViews[0])
    }
}
