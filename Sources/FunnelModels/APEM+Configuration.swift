import FunnelNN

extension APEMReconstruction {
    /// Which patterns each task's selector sees (`apem.md` §3.3).
    public enum PatternSharing: String, Codable, Sendable {
        /// K shared patterns only.
        case shared
        /// K shared patterns plus `taskSpecificPatterns` of the task's own (CGC-style).
        case sharedPlusTaskSpecific
    }

    /// What the adaptive task indicators read (`apem.md` §3.4).
    public enum AdaptiveSource: String, Codable, Sendable {
        /// The flattened DGT output r `[B, F·d]` (U_t ∈ R^{h×D}).
        case flat
        /// The field mean of the DGT output `[B, d]` (U_t ∈ R^{h×d}; cheaper for large D).
        case pooled
    }

    /// What the binary heads mean (`apem.md` §3.5).
    public enum OutputMode: String, Codable, Sendable {
        /// Independent heads: ŷ_t = σ(z_t) is the entire-space probability of reaching step t.
        case entireSpace
        /// ESMM-style chain over the binary tasks in funnel order: q_t = σ(z_t) conditional, ŷ_t = Π_{s≤t} q_s.
        case chain
    }

    /// Every hyperparameter and ablation switch of APEM-reconstruction (`apem.md` §5–6); defaults are the spec's.
    /// The registry merges a partial configuration over these defaults, so a configuration file names only what it
    /// changes.
    public struct Configuration: Codable, Equatable, Sendable {
        /// Embedding width d per field.
        public var embeddingWidth = 16
        /// Switch `useDGT`: false feeds r = flatten(E) straight to the patterns.
        public var useDGT = true
        /// Switch `attention`: `.isab` (modified set attention, default), `.sab` (full self-attention), `.none`.
        public var attention = DeepAutoGroupTransformer.Attention.isab
        /// Inducing points m of `.isab`.
        public var inducingPoints = 4
        /// Attention heads H (must divide d).
        public var heads = 2
        /// Switch `dgtLayers`: DGT blocks L.
        public var dgtLayers = 2
        /// rFF hidden width; nil = 2d.
        public var feedForwardWidth: Int?
        /// Switch `useSE`.
        public var useSE = true
        /// SE reduction ratio r.
        public var seReduction = 3
        /// Switch `seActivation`: `.sigmoid` (default) or FiBiNET's `.relu`.
        public var seActivation = SqueezeExcitation.Activation.sigmoid
        /// Switch `sePlacement`: `.afterAttention` (default) or `.beforeAttention`.
        public var sePlacement = DeepAutoGroupTransformer.SEPlacement.afterAttention
        /// Switch `numPatterns`: shared pattern extractors K.
        public var numPatterns = 6
        /// Hidden widths of each pattern MLP; the last is the pattern and indicator width h.
        public var patternWidths = [256, 128]
        /// Switch `patternSharing`.
        public var patternSharing = PatternSharing.shared
        /// Task-specific patterns K_t per task under `.sharedPlusTaskSpecific`.
        public var taskSpecificPatterns = 2
        /// Switch `patternSelector`: `.adaptive` (default), `.static`, `.mmoeGate`, `.uniform`.
        public var patternSelector = PatternSelector.Mode.adaptive
        /// Switch `adaptiveSource`: `.flat` (default) or `.pooled`.
        public var adaptiveSource = AdaptiveSource.flat
        /// Tower hidden widths (then an output layer).
        public var towerWidths = [64]
        /// Batch norm in pattern MLPs and towers.
        public var batchNorm = true
        /// Dropout after every hidden layer of pattern MLPs and towers (training only).
        public var dropout: Float = 0.1
        /// Switch `outputMode`.
        public var outputMode = OutputMode.entireSpace
        /// Switch `calibratorWeight` β of the AITM-style calibrator (0 = off; AITM uses 0.6).
        public var calibratorWeight: Float = 0

        public init() {}

        /// The DGT structure these switches select.
        public var transformerOptions: DeepAutoGroupTransformer.Options {
            .init(layers: dgtLayers, attention: attention, inducingPoints: inducingPoints, heads: heads,
                  feedForwardWidth: feedForwardWidth, squeezeExcitation: useSE, seReduction: seReduction,
                  seActivation: seActivation, sePlacement: sePlacement)
        }

        /// Pattern and indicator width h.
        public var patternWidth: Int { patternWidths.last! }

        /// A one-line statement of every switch, for logs and reports (which must name the options used).
        public var summary: String {
            let dgt = useDGT
                ? "DGT L=\(dgtLayers) attention=\(attention.rawValue)\(attention == .isab ? "(m=\(inducingPoints))" : "") H=\(heads) "
                    + "SE=\(useSE ? "\(seActivation.rawValue)/r=\(seReduction)/\(sePlacement.rawValue)" : "off")"
                : "DGT off"
            let sharing = patternSharing == .shared ? "" : "+\(taskSpecificPatterns)/task"
            return "\(APEMReconstruction.displayName): d=\(embeddingWidth) \(dgt); patterns K=\(numPatterns)\(sharing) "
                + "\(patternWidths); selector=\(patternSelector.rawValue)"
                + (patternSelector == .adaptive ? "(\(adaptiveSource.rawValue))" : "")
                + "; towers \(towerWidths); output=\(outputMode.rawValue); calibrator β=\(calibratorWeight)"
        }
    }
}
