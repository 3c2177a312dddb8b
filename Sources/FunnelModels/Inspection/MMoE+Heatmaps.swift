import FunnelCore
import FunnelData
import FunnelNN

extension MMoE {
    /// Mean gate weight of every task over every expert.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] {
        let context = ForwardContext.inference()
        let e = embedding(batch, context)
        return [InspectionHeatmap(title: "MMoE gate weights", rowAxis: "task", columnAxis: "expert", rows: tasks.map(\.name),
                                  columns: numberedLabels("e", experts.count),
                                  values: gates.map { gate in gate(e, context).value.columnMeans.map(Optional.some) })]
    }
}
