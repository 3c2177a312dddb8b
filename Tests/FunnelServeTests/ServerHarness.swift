import Foundation
import FunnelServe
import XCTest

/// A `ScoringServer` running in this process on an ephemeral loopback port, shut down by `stop()`.
final class ServerHarness {
    let server: ScoringServer
    let port: Int
    private let task: Task<Void, any Error>

    /// Starts a server over `checkpoint` and waits until it listens and, when `waitUntilReady`, has loaded.
    init(checkpoint: URL, waitUntilReady: Bool = true, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        var configuration = ServerConfiguration(checkpoint: checkpoint, port: 0, logLevel: .warning)
        configure(&configuration)
        let server = ScoringServer(configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        task = Task { try await server.run { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HTTPClientError("the server did not start") }
        self.server = server
        self.port = port
        if waitUntilReady {
            for _ in 0..<600 where !server.isReady { try await Task.sleep(nanoseconds: 10_000_000) }
            XCTAssertTrue(server.isReady, "the model loaded within 6 s")
        }
    }

    /// Shuts the server down gracefully and waits until `run` has returned.
    func stop() async {
        await server.shutdown()
        _ = await task.result
    }
}
