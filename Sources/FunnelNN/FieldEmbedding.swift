import FunnelCore

/// Categorical fields embedded through **one** concatenated table (row of field f, id c: `offset_f + c`),
/// multi-valued fields pooled from the same table, and the numeric features projected by
/// `Linear(numeric → width)` into one extra field; flattened field-major: `e[b, f·d + k] = E[b, f, k]`.
///
/// Field order: single-valued fields, multi-valued fields, numeric field. Width `D = F·d`.
/// Parameters `<name>.weight` (Xavier-uniform over the whole table, as the reference implementations) and
/// `dense_projection.*`.
public final class FieldEmbedding: Module {
    /// A multi-valued field's vocabulary size and pooling; id 0 is padding and is excluded from the pool.
    public typealias Bag = (vocabularySize: Int, pooling: Variable.BagPooling)

    public let table: Parameter
    public let denseProjection: Linear?
    /// Vocabulary size per single-valued categorical field.
    public let vocabularySizes: [Int]
    /// Multi-valued fields, pooled into one field each.
    public let bags: [Bag]
    /// First table row of each single-valued field, then of each multi-valued field.
    public let offsets: [Int32]
    /// Embedding width `d` per field.
    public let width: Int

    public init(
        vocabularySizes: [Int], bags: [Bag] = [], width: Int, numericFeatures: Int, name: String = "embedding",
        projectionName: String = "dense_projection", initializer: Initializer = .xavierUniform(gain: 1),
        using rng: inout SeededGenerator
    ) {
        self.vocabularySizes = vocabularySizes
        self.bags = bags
        self.width = width
        var running: Int32 = 0
        offsets = (vocabularySizes + bags.map(\.vocabularySize)).map { v in defer { running += Int32(v) }; return running }
        let rows = Int(running)
        table = Parameter(name: qualified(name, "weight"), value: initializer.make([rows, width], fanIn: rows, fanOut: width, using: &rng))
        denseProjection = numericFeatures > 0 ? Linear(numericFeatures, width, name: projectionName, using: &rng) : nil
    }

    public var parameters: [Parameter] { [table] + (denseProjection?.parameters ?? []) }

    /// Names of the model inputs as a traced forward pass (`GraphTrace`) sees them: the single-valued ids
    /// `[batch, F_cat]`, each multi-valued field's padded ids `[batch, length]` (0 = padding), the numeric features.
    public static let idsInput = "ids", denseInput = "dense"

    /// The padded-ids input of multi-valued field `index` (`multi_ids_0`, …).
    public static func bagInput(_ index: Int) -> String { "multi_ids_\(index)" }

    /// Number of fields after embedding (categorical, multi-valued, and the numeric field).
    public var fieldCount: Int { vocabularySizes.count + bags.count + (denseProjection == nil ? 0 : 1) }

    /// Flattened embedding width `D`.
    public var outputWidth: Int { fieldCount * width }

    /// - Parameters:
    ///   - ids: `[batch · F_cat]` per-field ids (0..<V_f), row-major by sample.
    ///   - bagIDs: one `(offsets [batch + 1], ids)` pair per multi-valued field; ids are per-field (0 = padding).
    ///   - numeric: `[batch, numericFeatures]`, or nil without numeric features.
    /// - Returns: `[batch, D]`.
    public func callAsFunction(ids: [Int32], bagIDs: [(offsets: [Int32], ids: [Int32])] = [], numeric: Tensor?,
                               _ context: ForwardContext) -> Variable {
        let fields = vocabularySizes.count
        precondition(bagIDs.count == bags.count, "\(bagIDs.count) multi-valued inputs for \(bags.count) fields")
        let batch = fields > 0 ? ids.count / fields : (bagIDs.first.map { $0.offsets.count - 1 } ?? numeric!.shape[0])
        precondition(ids.count == batch * fields, "\(ids.count) ids for \(fields) fields")
        let weights = context.use(table)
        var parts: [Variable] = []
        if fields > 0 {
            var global = ids
            for i in global.indices { global[i] &+= offsets[i % fields] }
            let source = TracedIndices(input: Self.idsInput, offsets: Array(offsets.prefix(fields)))
            parts.append(Variable.gatherRows(weights, indices: global, source: source).reshaped([batch, fields * width]))
        }
        for (index, bag) in bagIDs.enumerated() {
            let (globalIDs, globalOffsets) = withoutPadding(bag, offset: offsets[fields + index])
            let source = TracedIndices(input: Self.bagInput(index), offsets: [offsets[fields + index]])
            let pooled = Variable.embeddingBag(weights, indices: globalIDs, offsets: globalOffsets, pooling: bags[index].pooling,
                                               source: source)
            parts.append(pooled)
        }
        if let denseProjection, let numeric {
            parts.append(denseProjection(context.input(numeric, named: Self.denseInput), context))
        }
        return parts.count == 1 ? parts[0] : Variable.concat(parts, alongAxis: 1)
    }

    /// Drops padding ids (0) and shifts the rest to table rows.
    private func withoutPadding(_ bag: (offsets: [Int32], ids: [Int32]), offset: Int32) -> ([Int32], [Int32]) {
        var ids: [Int32] = [], offsets: [Int32] = [0]
        ids.reserveCapacity(bag.ids.count)
        offsets.reserveCapacity(bag.offsets.count)
        for b in 0..<(bag.offsets.count - 1) {
            for p in Int(bag.offsets[b])..<Int(bag.offsets[b + 1]) where bag.ids[p] != 0 { ids.append(bag.ids[p] + offset) }
            offsets.append(Int32(ids.count))
        }
        return (ids, offsets)
    }
}
