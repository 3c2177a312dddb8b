import FunnelCore
import FunnelData

extension DEPHN {
    /// The gate value of every task over every (public expert, mapping) pair.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] {
        let inspection = inspection(on: batch)
        let columns = inspection.experts.flatMap { expert in inspection.mappings.map { "\(expert) \($0)" } }
        let values = inspection.tasks.map { task in
            task.values.map { $0.flatMap { $0.map { Double($0) as Double? } } } ?? Array(repeating: nil, count: columns.count)
        }
        return [InspectionHeatmap(title: "DEPHN gate values (\(inspection.gating))", rowAxis: "task", columnAxis: "expert × mapping",
                                  rows: inspection.tasks.map(\.task), columns: columns, values: values)]
    }
}

extension MTPHN {
    /// Mean gate weight of every task over its experts: the public ones, then its own.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] {
        let placement = configuration.placement, dnn = numberedLabels("dnn.", configuration.dnnExperts)
        let columns = (placement.dnnIsPublic ? dnn : []) + (placement.crossFieldIsPublic ? ["cross-field"] : [])
            + (placement.dnnIsPublic ? [] : dnn.map { "own " + $0 }) + (placement.crossFieldIsPublic ? [] : ["own cross-field"])
        return [InspectionHeatmap(title: "MT-PHN gate weights", rowAxis: "task", columnAxis: "expert", rows: tasks.map(\.name),
                                  columns: columns, values: gateWeights(batch).map { $0.columnMeans.map(Optional.some) })]
    }
}

extension APEMReconstruction {
    /// Mean pattern-selection weights per task (`own.j`: the task's own patterns) and mean SE weight per field.
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] {
        let inspection = inspection(batch)
        var maps: [InspectionHeatmap] = []
        if let patterns = inspection.selections.first?.patterns {
            let columns = patterns.map { $0.hasPrefix("task_patterns.") ? "own." + ($0.split(separator: ".").last ?? "") : $0 }
            maps.append(InspectionHeatmap(title: "APEM-reconstruction pattern selector", rowAxis: "task", columnAxis: "pattern",
                                          rows: inspection.selections.map(\.task), columns: columns,
                                          values: inspection.selections.map { $0.weights.map(Optional.some) }))
        }
        if !inspection.fieldWeights.isEmpty {
            maps.append(InspectionHeatmap(title: "APEM-reconstruction SE field weights", rowAxis: "SE block", columnAxis: "field",
                                          rows: numberedLabels("block ", inspection.fieldWeights.count), columns: inspection.fields,
                                          values: inspection.fieldWeights.map { $0.map(Optional.some) }))
        }
        return maps
    }
}
