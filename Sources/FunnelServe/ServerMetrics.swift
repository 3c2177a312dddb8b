import CoreMetrics
import FunnelTrain
import Prometheus

/// The server's metrics, recorded through swift-metrics into a Prometheus registry of this server's own (so
/// several servers in one process, as in tests, do not share counts) and rendered by `GET /metrics`.
///
/// Names: `funnel_requests_total{endpoint,status}`, `funnel_request_duration_ms{endpoint}` (histogram, ms),
/// `funnel_rows_scored_total`, `funnel_inference_duration_ms` (histogram, ms), `funnel_score{output}`
/// (probabilities, histogram over [0, 1]), `funnel_score_value{output}` (continuous outputs, label scale),
/// `funnel_out_of_vocabulary_total{feature}`, `funnel_missing_values_total{feature}`,
/// `funnel_model_info{name,version,model}` (1 for the model served), `funnel_reloads_total{result}`.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let rows: CoreMetrics.Counter
    private let inference: CoreMetrics.Recorder

    private static let milliseconds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000]
    private static let probabilities: [Double] = [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]
    private static let values: [Double] = [0, 0.01, 0.1, 1, 10, 100, 1000, 10000]

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets = ["funnel_request_duration_ms": Self.milliseconds, "funnel_inference_duration_ms": Self.milliseconds,
                                         "funnel_score": Self.probabilities, "funnel_score_value": Self.values]
        self.factory = factory
        rows = CoreMetrics.Counter(label: "funnel_rows_scored_total", factory: factory)
        inference = CoreMetrics.Recorder(label: "funnel_inference_duration_ms", aggregate: true, factory: factory)
    }

    /// One answered request.
    func request(endpoint: String, status: Int, milliseconds: Double) {
        CoreMetrics.Counter(label: "funnel_requests_total", dimensions: [("endpoint", endpoint), ("status", String(status))], factory: factory).increment()
        CoreMetrics.Recorder(label: "funnel_request_duration_ms", dimensions: [("endpoint", endpoint)], aggregate: true, factory: factory)
            .record(milliseconds)
    }

    /// The counters of one model's scoring, made once per load (a lookup per request would lock the registry).
    func scoring(for scorer: Scorer) -> ScoringMetrics {
        let binary = Set(scorer.trained.tasks.filter { $0.kind == .binary }.map(\.name))
        return ScoringMetrics(
            rows: rows, inference: inference,
            scores: scorer.outputNames.map { output in
                let probability = binary.contains(output) || output.hasSuffix(".conditional")
                return CoreMetrics.Recorder(label: probability ? "funnel_score" : "funnel_score_value", dimensions: [("output", output)],
                                aggregate: true, factory: factory)
            },
            outOfVocabulary: scorer.inputs.map { CoreMetrics.Counter(label: "funnel_out_of_vocabulary_total", dimensions: [("feature", $0.name)], factory: factory) },
            missing: scorer.inputs.map { CoreMetrics.Counter(label: "funnel_missing_values_total", dimensions: [("feature", $0.name)], factory: factory) })
    }

    /// Marks `model` as the one served (1) and `previous`, if any, as no longer served (0).
    func serving(_ model: ServedModel, replacing previous: ServedModel?) {
        if let previous { info(previous).record(0) }
        info(model).record(1)
    }

    private func info(_ model: ServedModel) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: "funnel_model_info", dimensions: [("name", model.name), ("version", model.version),
                                                         ("model", model.scorer.trained.metadata.model)], factory: factory)
    }

    func reload(succeeded: Bool) {
        CoreMetrics.Counter(label: "funnel_reloads_total", dimensions: [("result", succeeded ? "success" : "failure")], factory: factory).increment()
    }

    /// The Prometheus text exposition of everything recorded.
    func render() -> String { registry.emitToString() }
}

/// One model's scoring metrics (see `ServerMetrics.scoring(for:)`).
struct ScoringMetrics: Sendable {
    let rows: CoreMetrics.Counter
    let inference: CoreMetrics.Recorder
    /// Per output (`Scorer.outputNames` order).
    let scores: [CoreMetrics.Recorder]
    /// Per input (`Scorer.inputs` order).
    let outOfVocabulary: [CoreMetrics.Counter]
    let missing: [CoreMetrics.Counter]

    func record(_ result: Scorer.Scores, outputs: [String], allOutputs: [String]) {
        rows.increment(by: result.values.first?.count ?? 0)
        inference.record(result.inferenceSeconds * 1000)
        for (name, values) in zip(outputs, result.values) {
            guard let index = allOutputs.firstIndex(of: name) else { continue }
            for value in values { scores[index].record(Double(value)) }
        }
        for (i, count) in result.outOfVocabulary.enumerated() where count > 0 { outOfVocabulary[i].increment(by: count) }
        for (i, count) in result.missing.enumerated() where count > 0 { missing[i].increment(by: count) }
    }
}
