import FunnelCore
import FunnelNN

extension DEPHN {
    /// How the public-expert outputs are gated per task (dephn.md §4.6, the paper's TVG vs MG comparison).
    public enum Gating: String, Codable, CaseIterable, Sendable {
        /// Trainable-value gates: one global scalar per (expert, mapping) and task (default).
        case trainableValue
        /// Mapping gating: softmax(Linear(D → K·P)(E_sg^pub)) per row and task, MMoE-style.
        case mapping
    }

    /// How the public and private parts of a binary task's output combine (dephn.md §4.6).
    public enum OutputCombination: String, Codable, CaseIterable, Sendable {
        /// ŷ = σ(z^pub + z^pri), head `.logit` ([DECISION] default).
        case sumLogits
        /// ŷ = ½(σ(z^pub) + σ(z^pri)), head `.probability` (the printed sum of sigmoids, halved).
        case averageProbabilities
    }

    /// Initial distribution of the embedding table (dephn.md §4.1).
    public enum EmbeddingInitialization: String, Codable, CaseIterable, Sendable {
        /// N(0, 1e-4²), FuxiCTR's default ([DECISION] default).
        case smallNormal
        /// Xavier-uniform over the whole table (Funnel's other models).
        case xavierUniform

        public var initializer: Initializer {
            self == .smallNormal ? .normal(mean: 0, std: 1e-4) : .xavierUniform(gain: 1)
        }
    }

    /// Every switch of dephn.md §8 plus the sizes of §7. A partial JSON configuration is
    /// merged over these defaults by the registry.
    public struct Configuration: Codable, Equatable, Sendable {
        public var embeddingWidth = 16
        public var embeddingInit = EmbeddingInitialization.smallNormal
        /// Heads H of the SSG self-attention (must divide `embeddingWidth`).
        public var attentionHeads = 2
        /// SSG on (false: E_sg = E for every branch).
        public var useSSG = true
        /// One MSA shared by all SSG branches (false: one per branch).
        public var sharedAttention = true
        public var placement = ExpertPlacement.dnnPublicCFPrivate
        /// Number of DNN experts K per DNN branch.
        public var publicExperts = 3
        /// Hidden widths of a DNN expert; the last is h.
        public var expertWidths = [256, 128]
        /// Negative slope of the DNN experts' and towers' LeakyReLU.
        public var leakySlope: Float = 0.01
        /// Cross layers L_c and field-interaction layers L_f.
        public var crossLayers = 3
        public var fieldLayers = 3
        /// The cross layer's residual ρ_l x_l: `.gated` (ρ trainable, init 1), `.plain` (ρ ≡ 1), `.none`.
        public var residual = CrossNetwork.Residual.gated
        public var mappings = MappingSet.rmTm
        public var gating = Gating.trainableValue
        /// Trainable-value gates raw (`.none`) or softmax-normalised per task.
        public var gateNormalization = TrainableValueGate.Normalization.none
        /// Hidden widths of a LeakyReLU MLP per task and public (expert, mapping) stream before the linear
        /// readout; empty: the readout is linear (the paper's dot product).
        public var towerHidden: [Int] = []
        public var outputCombination = OutputCombination.sumLogits
        /// Rescale the gates' gradients by Γ (dephn.md §5).
        public var virtualGradient = true
        public var vgFunction = VirtualGradientFunction.addSqrt
        public var vgSimilarity = LabelSimilarity.pearson
        public var constantLabelPolicy = ConstantLabelPolicy.zeroCorrelation
        /// Clip Γ to [0, c]; nil: no clipping.
        public var virtualGradientClip: Float?

        public init() {}

        /// The heterogeneous interaction layer these settings describe.
        public var expertOptions: HeterogeneousExperts.Options {
            var o = HeterogeneousExperts.Options()
            o.placement = placement
            o.useSSG = useSSG
            o.sharedAttention = sharedAttention
            o.attentionHeads = attentionHeads
            o.dnnExperts = publicExperts
            o.dnnWidths = expertWidths
            o.leakySlope = leakySlope
            o.crossLayers = crossLayers
            o.crossResidual = residual
            o.fieldLayers = fieldLayers
            return o
        }

        /// The virtual-gradient settings, nil when it is off.
        public var virtualGradientSettings: VirtualGradient? {
            virtualGradient ? VirtualGradient(function: vgFunction, similarity: vgSimilarity,
                                              constantLabelPolicy: constantLabelPolicy, clip: virtualGradientClip) : nil
        }
    }
}
