import FunnelCore

/// Categorical fields embedded through **one** concatenated table (row of field f, id c: `offset_f + c`),
/// plus the numeric features projected by `Linear(numeric → width)` into one extra field, flattened field-major:
/// `e[b, f·d + k] = E[b, f, k]`, width `D = (F_cat + 1)·d` (or `F_cat·d` without numeric features).
/// Parameters `<name>.weight` (Xavier-uniform over the whole table, as the reference implementations) and
/// `dense_projection.*`.
public final class FieldEmbedding: Module {
    public let table: Parameter
    public let denseProjection: Linear?
    /// Vocabulary size per categorical field.
    public let vocabularySizes: [Int]
    /// First table row of each field.
    public let offsets: [Int32]
    /// Embedding width `d` per field.
    public let width: Int

    public init(
        vocabularySizes: [Int], width: Int, numericFeatures: Int, name: String = "embedding",
        projectionName: String = "dense_projection", initializer: Initializer = .xavierUniform(gain: 1),
        using rng: inout SeededGenerator
    ) {
        self.vocabularySizes = vocabularySizes
        self.width = width
        var running: Int32 = 0
        offsets = vocabularySizes.map { v in defer { running += Int32(v) }; return running }
        let rows = vocabularySizes.reduce(0, +)
        table = Parameter(name: qualified(name, "weight"), value: initializer.make([rows, width], fanIn: rows, fanOut: width, using: &rng))
        denseProjection = numericFeatures > 0 ? Linear(numericFeatures, width, name: projectionName, using: &rng) : nil
    }

    public var parameters: [Parameter] { [table] + (denseProjection?.parameters ?? []) }

    /// Number of fields after embedding (categorical fields plus the numeric field).
    public var fieldCount: Int { vocabularySizes.count + (denseProjection == nil ? 0 : 1) }

    /// Flattened embedding width `D`.
    public var outputWidth: Int { fieldCount * width }

    /// - Parameters:
    ///   - ids: `[batch · F_cat]` per-field ids (0..<V_f), row-major by sample.
    ///   - numeric: `[batch, numericFeatures]`, or nil without numeric features.
    /// - Returns: `[batch, D]`.
    public func callAsFunction(ids: [Int32], numeric: Tensor?, _ context: ForwardContext) -> Variable {
        let fields = vocabularySizes.count
        precondition(ids.count % max(fields, 1) == 0, "\(ids.count) ids for \(fields) fields")
        let batch = fields > 0 ? ids.count / fields : numeric!.shape[0]
        var global = ids
        for i in global.indices { global[i] &+= offsets[i % fields] }
        let categorical = Variable.gatherRows(context.use(table), indices: global).reshaped([batch, fields * width])
        guard let denseProjection, let numeric else { return categorical }
        let projected = denseProjection(Variable(numeric), context)
        return .concat([categorical, projected], alongAxis: 1)
    }
}
