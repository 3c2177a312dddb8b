import FunnelCore
import FunnelData
import FunnelNN

extension PLE {
    /// Per extraction level, the mean weight each task gate gives its own experts (`own.i`) and the shared ones.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] {
        let context = ForwardContext.inference()
        let e = embedding(batch, context)
        var taskInputs = Array(repeating: e, count: towers.count)
        var sharedInput: Variable? = e
        var maps: [InspectionHeatmap] = []
        for (j, level) in levels.enumerated() {
            let columns = numberedLabels("own.", configuration.taskExperts) + numberedLabels("shared.", configuration.sharedExperts)
            let values = zip(level.taskGates, taskInputs).map { gate, x in gate(x, context).value.columnMeans.map(Optional.some) }
            maps.append(InspectionHeatmap(title: "PLE gate weights, level \(j + 1)", rowAxis: "task", columnAxis: "expert",
                                          rows: towers.map(\.task.name), columns: columns, values: values))
            (taskInputs, sharedInput) = level(taskInputs: taskInputs, sharedInput: sharedInput!, context)
        }
        return maps
    }
}
