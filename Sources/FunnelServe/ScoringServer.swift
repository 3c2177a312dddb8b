import Foundation
import FunnelCore
import FunnelData
import FunnelTrain
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `funnel serve`: a Hummingbird 2 HTTP server over a `Scorer`. Endpoints (README, "funnel serve"):
/// `GET /v1/models`, `GET /v1/models/{name}`, `POST /v1/models/{name}:predict`, `POST /v1/models/{name}:reload`
/// (admin), `GET /healthz`, `GET /readyz`, `GET /metrics`. Errors are JSON `{"error": {kind, message, row,
/// feature}}`: 400 refused values, 401 admin token, 404 unknown model or path, 413 body or row cap, 415 not
/// JSON, 503 no model ready.
///
/// The served model is swapped atomically: a request holds the `ServedModel` it started with, a reload
/// (endpoint or SIGHUP) loads and warms up the new checkpoint completely first and keeps the old one on failure.
public final class ScoringServer: Sendable {
    public let configuration: ServerConfiguration
    let metrics = ServerMetrics()
    private let logger: Logger
    private let state = Mutex(State())
    private let requestCount = Atomic<Int>(0)
    private let group = Mutex<ServiceGroup?>(nil)

    private struct State: Sendable {
        var model: ServedModel?
        var scoring: ScoringMetrics?
        var isReloading = false
    }

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
        var logger = Logger(label: "funnel.serve")
        logger.logLevel = configuration.logLevel
        self.logger = logger
    }

    /// Whether a model is loaded and warmed up.
    public var isReady: Bool { state.withLock { $0.model != nil } }

    /// Serves until SIGTERM or SIGINT (or cancellation), then stops accepting and drains requests in flight.
    /// The configured checkpoint is loaded once the socket listens (until then predictions answer 503);
    /// `onListening` receives the bound port. SIGHUP reloads.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        var serverLogger = logger
        serverLogger.logLevel = max(configuration.logLevel, .notice)
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "funnel"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? 0)
                _ = await self.reload(from: nil)
            },
            logger: serverLogger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: HangupReloads(server: self), successTerminationBehavior: .ignore)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: serverLogger))
        self.group.withLock { $0 = group }
        try await group.run()
    }

    /// What SIGTERM does: stop accepting connections, let the requests in flight finish, then `run` returns.
    public func shutdown() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// Loads `directory` (default: the current model's, else the configured checkpoint), validates and warms it
    /// up, then swaps it in. On failure the served model, if any, stays. Returns the model served or the error.
    public func reload(from directory: URL?) async -> Result<String, ReloadError> {
        let source = directory ?? state.withLock { $0.model?.checkpoint } ?? configuration.checkpoint
        let claimed = state.withLock { state -> Bool in
            if state.isReloading { return false }
            state.isReloading = true
            return true
        }
        guard claimed else { return .failure(ReloadError(message: "a reload is already in progress")) }
        defer { state.withLock { $0.isReloading = false } }
        do {
            let model = try await ServedModel.load(from: source, name: configuration.name,
                                                   options: .init(ignoresUnknownFeatures: configuration.ignoresUnknownFeatures))
            let scoring = metrics.scoring(for: model.scorer)
            let previous = state.withLock { state -> ServedModel? in
                defer { (state.model, state.scoring) = (model, scoring) }
                return state.model
            }
            metrics.serving(model, replacing: previous)
            metrics.reload(succeeded: true)
            logger.notice("serving \(model.name) version \(model.version) from \(source.path) (loaded in \(Int(model.loadSeconds * 1000)) ms)")
            return .success("\(model.name) \(model.version)")
        } catch {
            metrics.reload(succeeded: false)
            let message = "cannot load \(source.path): \(ErrorText.describe(error))"
            logger.error("reload refused, \(isReady ? "still serving the previous model" : "no model ready"): \(message)")
            return .failure(ReloadError(message: message))
        }
    }

    // MARK: Routes

    private func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in self.logged("healthz", Self.json(.ok, #"{"status":"ok"}"#)) }
        router.get("/readyz") { _, _ in
            self.logged("readyz", self.isReady ? Self.json(.ok, #"{"status":"ready"}"#) : Self.error(.serviceUnavailable, "unavailable", "no model ready"))
        }
        router.get("/metrics") { _, _ in
            self.logged("metrics", Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.render()))))
        }
        router.get("/v1/models") { _, _ in
            let models = self.state.withLock { $0.model }.map { [$0] } ?? []
            var json = JSONText()
            json.array(models) { json, model in json.object { $0.field("name", model.name); $0.field("version", model.version) } }
            return self.logged("models", Self.json(.ok, json.text))
        }
        router.get("/v1/models/{target}") { _, context in
            let name = try context.parameters.require("target")
            guard let model = self.state.withLock({ $0.model }) else {
                return self.logged("model", Self.error(.serviceUnavailable, "unavailable", "no model ready"))
            }
            guard model.name == name else { return self.logged("model", Self.error(.notFound, "notFound", "no model named '\(name)'")) }
            return self.logged("model", Self.json(.ok, model.descriptionJSON))
        }
        router.post("/v1/models/{target}") { request, context in
            let target = try context.parameters.require("target")
            if target.hasSuffix(":predict") { return await self.predict(request, model: String(target.dropLast(":predict".count))) }
            if target.hasSuffix(":reload") { return await self.reload(request, model: String(target.dropLast(":reload".count))) }
            return self.logged("unknown", Self.error(.notFound, "notFound", "no endpoint POST /v1/models/\(target) (use {name}:predict or {name}:reload)"))
        }
        return router
    }

    private func predict(_ request: Request, model name: String) async -> Response {
        let start = monotonicSeconds()
        let number = requestCount.wrappingAdd(1, ordering: .relaxed).newValue
        var requestID = request.headers[.init("X-Request-ID")!] ?? "r\(number)"
        var rows = 0
        let response = await { () async -> Response in
            guard let (model, scoring) = state.withLock({ state in state.model.map { ($0, state.scoring!) } }) else {
                return Self.error(.serviceUnavailable, "unavailable", "no model ready")
            }
            guard model.name == name else { return Self.error(.notFound, "notFound", "no model named '\(name)' (serving '\(model.name)')") }
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
                return Self.error(.unsupportedMediaType, "unsupportedMediaType",
                                  "content type \(request.headers[.contentType].map { "'\($0)'" } ?? "(none)") is not application/json")
            }
            let limit = configuration.maxBodyBytes
            let tooLarge = Self.error(.contentTooLarge, "bodyTooLarge", "the body is over \(limit) bytes")
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { return tooLarge }
            guard let body = try? await request.body.collect(upTo: limit) else { return tooLarge }
            do throws(ScoringError) {
                let decoded = try ScoringRequest.decode(json: Array(body.readableBytesView), rowLimit: configuration.maxRows)
                if let id = decoded.requestID { requestID = id }
                rows = decoded.rows.count
                let scores = try model.scorer.score(decoded)
                scoring.record(scores, outputs: scores.names, allOutputs: model.scorer.outputNames)
                var json = JSONText()
                json.object {
                    $0.field("model", model.name)
                    $0.field("version", model.version)
                    $0.field("request_id", requestID)
                    $0.field("scores") {
                        $0.object { object in
                            for (output, values) in zip(scores.names, scores.values) { object.field(output) { $0.array(values) { $0.float($1) } } }
                        }
                    }
                }
                return Self.json(.ok, json.text)
            } catch {
                return Self.error(error.kind == .tooManyRows ? .contentTooLarge : .badRequest, error.kind.rawValue, error.message,
                                  row: error.row, feature: error.feature)
            }
        }()
        return logged("predict", response, requestID: requestID, rows: rows, since: start)
    }

    private func reload(_ request: Request, model name: String) async -> Response {
        let start = monotonicSeconds()
        if let token = configuration.adminToken, request.headers[.authorization] != "Bearer \(token)" {
            return logged("reload", Self.error(.unauthorized, "unauthorized", "the admin endpoints need 'Authorization: Bearer <token>'"), since: start)
        }
        if let served = state.withLock({ $0.model }), served.name != name {
            return logged("reload", Self.error(.notFound, "notFound", "no model named '\(name)'"), since: start)
        }
        var directory: URL?
        if let body = try? await request.body.collect(upTo: 1 << 16), body.readableBytes > 0 {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  object.keys.allSatisfy({ $0 == "checkpoint" }), let path = object["checkpoint"] as? String? else {
                return logged("reload", Self.error(.badRequest, "malformedJSON", #"the reload body is {"checkpoint"?: "DIR"}"#), since: start)
            }
            directory = path.map { URL(fileURLWithPath: $0) }
        }
        switch await reload(from: directory) {
        case .success(let served):
            return logged("reload", Self.json(.ok, #"{"status":"reloaded","serving":"\#(served)"}"#), since: start)
        case .failure(let error):
            return logged("reload", Self.error(.internalServerError, "reloadFailed", error.message + (isReady ? " (the previous model keeps serving)" : "")),
                          since: start)
        }
    }

    // MARK: Responses

    /// Counts and logs one answered request (one line: endpoint, request id, rows, status, ms).
    private func logged(_ endpoint: String, _ response: Response, requestID: String? = nil, rows: Int? = nil,
                        since start: Double? = nil) -> Response {
        let milliseconds = start.map { (monotonicSeconds() - $0) * 1000 } ?? 0
        metrics.request(endpoint: endpoint, status: Int(response.status.code), milliseconds: milliseconds)
        var metadata: Logger.Metadata = ["status": "\(response.status.code)", "ms": "\(String(format: "%.3f", milliseconds))"]
        if let requestID { metadata["request_id"] = "\(requestID)" }
        if let rows { metadata["rows"] = "\(rows)" }
        logger.info("\(endpoint)", metadata: metadata)
        return response
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func error(_ status: HTTPResponse.Status, _ kind: String, _ message: String, row: Int? = nil, feature: String? = nil) -> Response {
        var json = JSONText()
        json.object {
            $0.field("error") {
                $0.object {
                    $0.field("kind", kind)
                    $0.field("message", message)
                    $0.field("row", row)
                    $0.field("feature", feature)
                }
            }
        }
        return Self.json(status, json.text)
    }
}

/// Why a reload was refused.
public struct ReloadError: Error, Sendable {
    public var message: String
}

/// Reloads the served checkpoint on each SIGHUP until the server shuts down.
private struct HangupReloads: Service {
    let server: ScoringServer

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            _ = await server.reload(from: nil)
        }
    }
}
