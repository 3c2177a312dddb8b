import FunnelData
import FunnelModels

/// The inspection report a model offers, as Markdown: DEPHN's gates, mappings and virtual-gradient
/// coefficients (`DEPHN.inspection(on:)`), APEM-reconstruction's pattern selection, SE field weights and field
/// grouping (`APEMReconstruction.inspection(_:)`). Other models have none. Heat maps (for the run report) come from
/// any `HeatmapInspectable` model.
public enum ModelInspection {
    /// The report of `model` (unwrapping `AnyMultiTaskModel`) over the rows of `batch`, or nil when the model
    /// offers no inspection.
    public static func markdown(of model: any MultiTaskModel, batch: Batch) -> String? {
        switch (model as? AnyMultiTaskModel)?.model ?? model {
        case let dephn as DEPHN: return dephn.inspection(on: batch).markdown
        case let apem as APEMReconstruction: return apem.inspection(batch).report
        default: return nil
        }
    }

    /// The heat maps of `model` (unwrapping `AnyMultiTaskModel`) over the rows of `batch`; empty for a model that
    /// is not `HeatmapInspectable`.
    public static func heatmaps(of model: any MultiTaskModel, batch: Batch) -> [InspectionHeatmap] {
        (((model as? AnyMultiTaskModel)?.model ?? model) as? HeatmapInspectable)?.inspectionHeatmaps(on: batch) ?? []
    }
}
