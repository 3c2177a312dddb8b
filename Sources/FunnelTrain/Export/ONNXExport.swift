import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// A trained model as an ONNX graph (opset 17, dynamic batch) that ONNX Runtime runs with Funnel's own numbers.
///
/// How: the evaluation-mode forward pass is traced (`GraphTrace`: every op records its kind and operands) on two
/// small batches, and `ONNXEmitter` maps the traced ops to ONNX nodes. One mechanism covers every registry model,
/// since models are compositions of the same few dozen ops; an op without an ONNX mapping fails naming it. Then
/// each head becomes one output named after its task, read as `funnel predict` reads it (`predictions(of:)`):
/// σ(z), the chain product Π σ(z_s), the probability, the value with its target scaling inverted, or the ZILN mean;
/// and the model's named extras (conditional probabilities of chains) become outputs too.
///
/// Inputs: `ids` int64 `[batch, F_cat]` (ids after the feature map), per multi-valued field k `multi_ids_k` int64
/// `[batch, length]` (0 = padding) with `multi_ids_k_lengths` int64 `[batch]`, and `dense` float `[batch, numeric]`.
/// Categorical encoding stays outside the graph: `<name>.features.json` beside the model holds the feature map.
public struct ONNXExport {
    /// The `.onnx` file's bytes.
    public let model: Data
    /// The feature map JSON written beside it (or, for synthetic data, the recipe and layout).
    public let features: Data
    /// The ONNX op types the graph uses, sorted.
    public let opTypes: [String]
    /// Graph inputs and outputs by name, in order.
    public let inputNames: [String], outputNames: [String]

    /// The graph input of padded ids `input`'s lengths.
    static func lengthsInput(of input: String) -> String { "\(input)_lengths" }

    /// Exports `trained`; `checkpointDigest` identifies the weights (SHA-256 of `model.safetensors`).
    public init(_ trained: TrainedModel, checkpointDigest: String) throws {
        let layout = trained.metadata.features, tasks = trained.tasks
        let trace = try AlignedTrace(model: trained.model, layout: layout, taskCount: tasks.count)
        let inputs = Self.inputs(of: layout)
        guard let anchor = inputs.first else { throw ONNXExportError.unsupported(op: "input", detail: "the model has no inputs") }
        var emitter = ONNXEmitter(trace: trace, inputs: Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.name) }),
                                  batchAnchor: anchor.name)
        let extras = trace.output.extras.filter { key, _ in !tasks.contains { $0.name == key } }.sorted { $0.key < $1.key }
        var outputNodes: [Int] = []
        for variable in trace.output.heads.flatMap(\.variables) + extras.map(\.value) {
            guard let node = variable.node else { throw ONNXExportError.unsupported(op: "output", detail: "a head that depends on no input") }
            outputNodes.append(node)
        }
        try emitter.emit(outputs: outputNodes)
        var outputs: [ONNXValueInfo] = []
        for (t, head) in trace.output.heads.enumerated() {
            let scaling = trained.metadata.targetScalings.isEmpty ? .identity : trained.metadata.targetScalings[t]
            try emitter.prediction(of: head, scaling: scaling, named: tasks[t].name)
            outputs.append(ONNXValueInfo(name: tasks[t].name, type: .float, dims: [.parameter("batch")]))
        }
        for (key, variable) in extras {
            emitter.graph.add("Identity", [emitter.name(of: variable.node!)], output: key)
            outputs.append(ONNXValueInfo(name: key, type: .float, dims: [.parameter("batch")]))
        }
        let file = ONNXModelFile(graphName: trained.metadata.model, nodes: emitter.graph.nodes, initializers: emitter.graph.initializers,
                                 inputs: inputs, outputs: outputs,
                                 metadata: try Self.metadata(trained, inputs: inputs, digest: checkpointDigest),
                                 producerVersion: CheckpointMetadata.currentFunnelVersion)
        model = file.serialized()
        features = try Self.featuresJSON(trained)
        opTypes = emitter.graph.opTypes.sorted()
        inputNames = inputs.map(\.name)
        outputNames = outputs.map(\.name)
    }

    /// Exports the checkpoint at `directory` (its weights' digest: SHA-256 of `model.safetensors`).
    public init(checkpoint directory: URL, registry: ModelRegistry = .standard) throws {
        let digest = try SHA256.hexDigest(ofFile: directory.appendingPathComponent(Checkpoint.modelFile))
        try self.init(try TrainedModel(contentsOf: directory, registry: registry), checkpointDigest: digest)
    }

    /// Writes the model to `url` and the features JSON beside it (`featuresURL(for:)`), each through a temporary file
    /// in the same directory renamed into place. Refuses to replace existing files.
    public func write(to url: URL) throws {
        let targets = [(url, model), (Self.featuresURL(for: url), features)]
        for (target, _) in targets where FileManager.default.fileExists(atPath: target.path) {
            throw ONNXExportError.exists(path: target.path)
        }
        for (target, data) in targets {
            let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(getpid()).tmp")
            try DurableFiles.write(data, to: temporary.path)
            try DurableFiles.rename(temporary.path, to: target.path)
        }
        try DurableFiles.syncDirectory(url.deletingLastPathComponent().path)
    }

    /// `model.onnx` → `model.features.json`.
    public static func featuresURL(for url: URL) -> URL {
        url.deletingPathExtension().appendingPathExtension("features.json")
    }

    private static func inputs(of layout: FeatureLayout) -> [ONNXValueInfo] {
        var inputs: [ONNXValueInfo] = []
        if !layout.vocabularySizes.isEmpty {
            inputs.append(ONNXValueInfo(name: FieldEmbedding.idsInput, type: .int64,
                                        dims: [.parameter("batch"), .value(layout.vocabularySizes.count)]))
        }
        for k in layout.multiValued.indices {
            let name = FieldEmbedding.bagInput(k)
            inputs.append(ONNXValueInfo(name: name, type: .int64, dims: [.parameter("batch"), .parameter("\(name)_length")]))
            inputs.append(ONNXValueInfo(name: lengthsInput(of: name), type: .int64, dims: [.parameter("batch")]))
        }
        if layout.numericCount > 0 {
            inputs.append(ONNXValueInfo(name: FieldEmbedding.denseInput, type: .float, dims: [.parameter("batch"), .value(layout.numericCount)]))
        }
        return inputs
    }

    private static func metadata(_ trained: TrainedModel, inputs: [ONNXValueInfo], digest: String) throws -> [(key: String, value: String)] {
        let layout = trained.metadata.features
        let singleNames = layout.fieldNames.isEmpty ? [] : Array(layout.fieldNames.prefix(layout.vocabularySizes.count))
        let multiNames = layout.fieldNames.isEmpty ? [] : Array(layout.fieldNames.dropFirst(layout.vocabularySizes.count))
        let featureOrder: JSONValue = .object([
            "ids": .array(singleNames.map(JSONValue.string)),
            "multi_valued": .array(layout.multiValued.indices.map { k in
                .object(["input": .string(FieldEmbedding.bagInput(k)), "field": .string(k < multiNames.count ? multiNames[k] : ""),
                         "pooling": .string(layout.multiValued[k].pooling.rawValue)])
            }),
            "dense": .number(Double(layout.numericCount)),
        ])
        let tasks: JSONValue = .array(trained.tasks.map { .object(["name": .string($0.name), "kind": .string($0.kind.rawValue)]) })
        return [
            ("funnel.model", trained.metadata.model),
            ("funnel.version", CheckpointMetadata.currentFunnelVersion),
            ("funnel.checkpoint_digest", "sha256:\(digest)"),
            ("funnel.feature_order", String(decoding: try featureOrder.data(), as: UTF8.self)),
            ("funnel.tasks", String(decoding: try tasks.data(), as: UTF8.self)),
            ("funnel.inputs", inputs.map(\.name).joined(separator: ",")),
            ("funnel.encoding", "categorical values are mapped to ids outside the graph, by the feature map beside this file (*.features.json)"),
        ]
    }

    private static func featuresJSON(_ trained: TrainedModel) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if let featureMap = trained.featureMap { return try encoder.encode(featureMap) }
        struct Synthetic: Encodable { var synthetic: SyntheticRecipe?; var layout: FeatureLayout }
        return try encoder.encode(Synthetic(synthetic: trained.metadata.synthetic, layout: trained.metadata.features))
    }
}

extension TaskHead {
    /// The variables the head reads.
    var variables: [Variable] {
        switch self {
        case .logit(let v), .probability(let v), .value(let v), .zeroInflatedLognormal(let v): [v]
        case .chain(let steps): steps
        }
    }
}
