import FunnelCore
import FunnelData
import FunnelNN

extension HTLNet {
    /// The mean attention of each later task's information fusion units over its sources: earlier tasks'
    /// representations (and its own projection, `own`), and earlier tasks' label embeddings.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] {
        var representation: [Int: [Double]] = [:], label: [Int: [Double]] = [:]
        _ = forward(batch, .inference(), labelNoise: nil) { task, labels, weights in
            if labels { label[task] = weights.columnMeans } else { representation[task] = weights.columnMeans }
        }
        let names = tasks.map(\.name), earlier = Array(names.dropLast())
        /// Row t: weight j < t on earlier task j; weight t (representations only) on task t's own projection.
        func map(_ title: String, _ weights: [Int: [Double]], own: Bool) -> InspectionHeatmap? {
            let fused = weights.keys.sorted()
            guard !fused.isEmpty else { return nil }
            let values = fused.map { t in
                earlier.indices.map { $0 < t ? weights[t]![$0] : nil } + (own ? [weights[t]!.count > t ? weights[t]![t] : nil] : [])
            }
            return InspectionHeatmap(title: title, rowAxis: "task", columnAxis: "source", rows: fused.map { names[$0] },
                                     columns: earlier + (own ? ["own"] : []), values: values)
        }
        return [map("HTLNet representation fusion attention", representation, own: configuration.ifuIncludesOwn),
                map("HTLNet label fusion attention", label, own: false)].compactMap { $0 }
    }
}
