import FunnelCore
import FunnelData
import FunnelNN

extension FieldEmbedding {
    /// An embedding for every field of `layout`, `width` wide. Parameters `<name>.weight` and
    /// `<projectionName>.{weight,bias}` (the numeric field).
    public convenience init(layout: FeatureLayout, width: Int, name: String = "embedding",
                            projectionName: String = "dense_projection",
                            initializer: Initializer = .xavierUniform(gain: 1), using rng: inout SeededGenerator) {
        self.init(vocabularySizes: layout.vocabularySizes, bags: layout.bags, width: width, numericFeatures: layout.numericCount,
                  name: name, projectionName: projectionName, initializer: initializer, using: &rng)
    }

    /// The flattened field embeddings of `batch`, `[B, F·d]` (reshape to `[B, F, d]` for field-wise blocks).
    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> Variable {
        self(ids: batch.ids, bagIDs: batch.multiValued.map { ($0.offsets, $0.ids) }, numeric: batch.numeric, context)
    }
}

extension FeatureLayout {
    /// The multi-valued fields as `FieldEmbedding` bags.
    var bags: [FieldEmbedding.Bag] { multiValued.map { ($0.vocabularySize, $0.pooling == .sum ? .sum : .mean) } }
}

extension FirstOrderTerm {
    /// The first-order term of every field of `layout`.
    public convenience init(layout: FeatureLayout, bias: Bool = true, name: String, using rng: inout SeededGenerator) {
        self.init(vocabularySizes: layout.vocabularySizes, bags: layout.bags, numericFeatures: layout.numericCount, bias: bias,
                  name: name, using: &rng)
    }

    /// z_1 of `batch`, `[B]`.
    public func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> Variable {
        self(ids: batch.ids, bagIDs: batch.multiValued.map { ($0.offsets, $0.ids) }, numeric: batch.numeric, context)
    }
}
