import Foundation
import Logging

/// What `funnel serve` is told: the checkpoint, where to listen, limits and the admin token.
public struct ServerConfiguration: Sendable {
    /// The checkpoint directory to serve (and to reload from unless a reload names another).
    public var checkpoint: URL
    /// The name in `/v1/models/{name}`; nil: the checkpoint's registry model name (e.g. `mmoe`).
    public var name: String?
    public var host: String
    /// 0 picks a free port (reported through `onListening`).
    public var port: Int
    /// Bearer token the admin endpoints (`:reload`) require; nil: none.
    public var adminToken: String?
    /// Skip values of unknown feature names instead of answering 400.
    public var ignoresUnknownFeatures: Bool
    /// Largest request body accepted, bytes (413 above).
    public var maxBodyBytes: Int
    /// Most rows in one request (413 above).
    public var maxRows: Int
    /// Level of the per-request log lines (info) and everything else.
    public var logLevel: Logger.Level

    public init(checkpoint: URL, name: String? = nil, host: String = "127.0.0.1", port: Int = 8080, adminToken: String? = nil,
                ignoresUnknownFeatures: Bool = false, maxBodyBytes: Int = 8 << 20, maxRows: Int = 1000, logLevel: Logger.Level = .info) {
        self.checkpoint = checkpoint
        self.name = name
        self.host = host
        self.port = port
        self.adminToken = adminToken
        self.ignoresUnknownFeatures = ignoresUnknownFeatures
        self.maxBodyBytes = maxBodyBytes
        self.maxRows = maxRows
        self.logLevel = logLevel
    }
}
