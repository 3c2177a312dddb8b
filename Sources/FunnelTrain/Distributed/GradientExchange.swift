import FunnelCore

/// Sums the gradients of one data-parallel step over the ranks, so every rank then takes the identical optimizer
/// step (DistributedDataParallel's rule). Each rank's gradient is first weighted by its share of the global batch
/// (local rows / global rows), so for a loss that is a mean over the batch the result is the gradient of the
/// single-process batch made of all ranks' rows.
///
/// - Dense gradients (every parameter without a row-sparse gradient, including balancer parameters) are packed
///   into one buffer and summed by **one** allreduce per step.
/// - Row-sparse table gradients are exchanged sparsely: an allgatherv of each table's row ids and of its rows,
///   then the same coalescing sum on every rank (rank order), so a step moves O(rows read · ranks), never the table.
///
/// Losses averaged over a masked space (CVR over clicked rows) are averaged per rank: exact only when every rank's
/// slice holds the same share of that space (documented in ARCHITECTURE.md, "Data parallelism").
public final class GradientExchange {
    public let group: DataParallelGroup
    /// Seconds spent in the dense allreduce and in the sparse exchange, summed over steps.
    public private(set) var denseSeconds = 0.0, sparseSeconds = 0.0
    /// Steps exchanged so far.
    public private(set) var steps = 0

    public init(group: DataParallelGroup) { self.group = group }

    /// Replaces the gradient of every parameter in `parameters` by the weighted sum over ranks (`share`: this
    /// rank's rows / all ranks' rows). A parameter without a gradient on this rank takes part with zeros, so ranks
    /// whose batches reached different parameters stay in step.
    public func synchronize(_ parameters: [Parameter], share: Float) {
        steps += 1
        let tables = parameters.filter(isTable), dense = parameters.filter { !isTable($0) }
        var start = monotonicSeconds()
        exchangeDense(dense, share: share)
        denseSeconds += monotonicSeconds() - start
        start = monotonicSeconds()
        for table in tables { exchangeRows(table, share: share) }
        sparseSeconds += monotonicSeconds() - start
    }

    /// An embedding table (`….embedding.weight`, rank 2), decided by name so that every rank agrees whatever its
    /// batch reached.
    private func isTable(_ p: Parameter) -> Bool { p.value.rank == 2 && p.name.hasSuffix("embedding.weight") }

    /// One allreduce of every dense gradient, times `share`, plus one flag per parameter (whether any rank has a
    /// gradient for it: a parameter no rank's batch reached keeps no gradient, as in a single process).
    private func exchangeDense(_ parameters: [Parameter], share: Float) {
        let total = parameters.reduce(0) { $0 + $1.count } + parameters.count
        guard !parameters.isEmpty else { return }
        let packed = Tensor(zeros: [total])
        var offset = 0
        for (i, p) in parameters.enumerated() {
            if let g = p.gradient?.densified(shape: p.value.shape) {
                let factor = share, v = SIMD8<Float>(repeating: share)
                unaryMap(g.pointer, packed.pointer + offset, p.count, { $0 * v }, { $0 * factor })
                packed.pointer[total - parameters.count + i] = 1
            }
            offset += p.count
        }
        group.sumInPlace(UnsafeMutableBufferPointer(start: packed.pointer, count: total))
        offset = 0
        for (i, p) in parameters.enumerated() {
            let reached = packed.pointer[total - parameters.count + i] > 0
            p.gradient = reached ? .dense(packed.rows(offset..<(offset + p.count)).reshaped(p.value.shape)) : nil
            offset += p.count
        }
    }

    private func exchangeRows(_ table: Parameter, share: Float) {
        let width = table.value.count / max(table.value.shape[0], 1)
        let local: RowSparseGradient
        switch table.gradient {
        case .rows(let r)?: local = r
        case .dense(let t)?:  // a table this model also reads densely: every row (O(table), such models only)
            local = RowSparseGradient(rows: (0..<Int32(table.value.shape[0])).map { $0 }, values: t.reshaped([table.value.shape[0], width]))
        case nil: local = .empty(width: width)
        }
        let rows = group.gather(local.rows)
        let values = group.gather(local.values.scaled(by: share).scalars)
        table.gradient = .rows(.coalescing(rows: rows, values: Tensor(shape: [rows.count, width], values: values), width: width))
    }
}

/// Seconds per step spent exchanging gradients, dense (the fused allreduce) and sparse (the tables' allgathervs).
public struct CommunicationTimes: Codable, Sendable {
    public var steps: Int
    public var denseSecondsPerStep: Double
    public var sparseSecondsPerStep: Double

    public init(_ exchange: GradientExchange) {
        steps = exchange.steps
        denseSecondsPerStep = exchange.denseSeconds / Double(max(exchange.steps, 1))
        sparseSecondsPerStep = exchange.sparseSeconds / Double(max(exchange.steps, 1))
    }
}
