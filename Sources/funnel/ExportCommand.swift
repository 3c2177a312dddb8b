import ArgumentParser
import Foundation
import FunnelTrain

/// `funnel export`: a checkpoint → an ONNX graph plus its feature map JSON.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint as an ONNX graph (opset 17, dynamic batch) with its feature map JSON beside it.")

    @Option(help: ArgumentHelp("Checkpoint directory (funnel train --checkpoint).", valueName: "dir"))
    var checkpoint: String

    @Option(help: ArgumentHelp("Export format (onnx).", valueName: "format"))
    var format = "onnx"

    @Option(help: ArgumentHelp("The model file to write (the feature map goes to NAME.features.json beside it).", valueName: "file"))
    var out: String

    func run() throws {
        guard format == "onnx" else { throw ValidationError("unknown --format '\(format)' (supported: onnx)") }
        let export = try ONNXExport(checkpoint: URL(fileURLWithPath: checkpoint))
        let url = URL(fileURLWithPath: out)
        try export.write(to: url)
        print("wrote \(url.path): inputs \(export.inputNames.joined(separator: ", ")); outputs \(export.outputNames.joined(separator: ", "))")
        print("      ops \(export.opTypes.joined(separator: ", "))")
        print("wrote \(ONNXExport.featuresURL(for: url).path) (categorical encoding happens outside the graph)")
    }
}
