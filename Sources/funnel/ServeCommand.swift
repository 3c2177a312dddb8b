import ArgumentParser
import Foundation
import FunnelServe
import Logging

/// `funnel serve`: the HTTP scoring server (FunnelServe) over a checkpoint.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a checkpoint over HTTP: POST /v1/models/{name}:predict, reload, health, Prometheus metrics.",
        discussion: "Binds to loopback unless --host says otherwise. SIGTERM stops accepting and drains requests in flight; "
            + "SIGHUP reloads the checkpoint (the old model serves until the new one has loaded and warmed up).")

    @Option(help: ArgumentHelp("Checkpoint directory.", valueName: "dir"))
    var checkpoint: String

    @Option(help: "Model name in the URLs (default: the checkpoint's registry model name).")
    var name: String?

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0: any free port, printed on start).")
    var port = 8080

    @Option(help: "Bearer token required by the admin endpoints (reload).")
    var adminToken: String?

    @Flag(help: "Skip values of unknown feature names instead of answering 400.")
    var ignoreUnknownFeatures = false

    @Option(help: "Largest request body, bytes (413 above).")
    var maxBodyBytes = 8 << 20

    @Option(help: "Most rows per request (413 above).")
    var maxRows = 1000

    @Option(help: "Log level: trace, debug, info (one line per request), notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let server = ScoringServer(configuration: ServerConfiguration(
            checkpoint: URL(fileURLWithPath: checkpoint), name: name, host: host, port: port, adminToken: adminToken,
            ignoresUnknownFeatures: ignoreUnknownFeatures, maxBodyBytes: maxBodyBytes, maxRows: maxRows, logLevel: level))
        try await server.run { port in
            print("funnel serve: listening on http://\(host):\(port)")
            fflush(stdout)
        }
    }
}
