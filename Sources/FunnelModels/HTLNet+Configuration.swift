import FunnelNN

extension HTLNet {
    /// Which tower layer is passed on to later tasks as rep_t.
    public enum RepresentationLayer: String, Codable, Sendable { case first, last }
    /// How earlier tasks' vectors are fused.
    public enum Fusion: String, Codable, Sendable { case attention, concat }
    /// The network body: HTLNet's towers with transfer, or a shared bottom with plain towers ("w/o Architecture").
    public enum Backbone: String, Codable, Sendable { case htlnet, sharedBottom }
    /// Output activation of the core (continuous) head.
    public enum CoreActivation: String, Codable, Sendable { case identity, softplus }

    /// Every switch of `htlnet.md` §8 that belongs to the model (the gradient-adjustment switches belong to the
    /// training step, the core loss and target transform to the core task's `TaskSpec`). The registry merges a
    /// partial configuration over these defaults.
    public struct Configuration: Codable, Equatable, Sendable {
        /// Embedding width d per field.
        public var embeddingWidth = 10
        /// Tower hidden widths (each tower ends in Linear(→ 1), or → 3 for a ZILN core).
        public var towerWidths = [128, 64, 32]
        public var batchNorm = false
        public var dropout: Float = 0
        /// Label-embedding width d_l.
        public var labelEmbeddingWidth = 10
        /// Fusion-unit width d_h.
        public var fusionWidth = 128
        public var repLayer = RepresentationLayer.first
        /// "w/o label embedding" when false: no LEUs, h_t drops f^le_t.
        public var transferLabels = true
        /// "w/o IFU representation path" when false: h_t drops f^rep_t.
        public var transferRepresentations = true
        public var fusion = Fusion.attention
        /// The representation IFU of task t also attends over t's own representation, ReLU(Linear(D → rep width))
        /// of the embedding (`own_representations.t`; AITM-style).
        public var ifuIncludesOwn = false
        /// Stop-gradient on the transferred inputs p_t and rep_t (the paper's Eq. 15).
        public var stopGradientOnTransfer = true
        public var labelSampling = LabelEmbedding.Sampling.gumbelSoftmax
        public var labelInference = LabelEmbedding.Inference.expected
        public var temperature = TemperatureSchedule()
        public var coreActivation = CoreActivation.identity
        public var backbone = Backbone.htlnet
        /// Shared bottom widths for `backbone == .sharedBottom`.
        public var sharedBottomWidths = [256, 128]

        public init() {}
    }
}
