import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 file server on 127.0.0.1 (ephemeral port) for download tests: serves `files` by path,
/// honours `Range: bytes=N-` (206, or 416 past the end) unless `ignoresRange`, answers 404 otherwise, and can
/// be told to drop the connection after a number of body bytes. One connection at a time, `Connection: close`.
final class LoopbackHTTPServer: @unchecked Sendable {
    struct Request {
        var path: String
        /// Header values by lowercased name.
        var headers: [String: String]
    }

    let port: UInt16
    private let listener: Int32
    private let files: [String: [UInt8]]
    private let lock = NSLock()
    private var received: [Request] = []
    private var dropAfter: [Int] = []
    private var ignoringRange = false
    private let stopped = DispatchSemaphore(value: 0)

    init(files: [String: [UInt8]]) throws {
        self.files = files
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(listener, socketAddress, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, socketAddress, &length) == 0
            }
        }
        guard listener >= 0, bound else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// The URL of `path` on this server.
    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    /// Requests received so far, in order.
    var requests: [Request] { lock.withLock { received } }

    /// The next responses (one per element) close the connection after that many body bytes.
    func dropConnections(afterBytes counts: [Int]) { lock.withLock { dropAfter = counts } }

    /// Answer every request with the whole file (200), as servers without range support do.
    func ignoreRange() { lock.withLock { ignoringRange = true } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        stopped.wait()
        close(listener)
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            respond(on: client)
            close(client)
        }
        stopped.signal()
    }

    private func respond(on client: Int32) {
        guard let request = readRequest(client) else { return }
        let (drop, ignoring) = lock.withLock { () -> (Int?, Bool) in
            received.append(request)
            return (dropAfter.isEmpty ? nil : dropAfter.removeFirst(), ignoringRange)
        }
        guard let body = files[request.path] else {
            return send(client, status: "404 Not Found", headers: [:], body: Array("no such file\n".utf8), dropAfter: nil)
        }
        var start = 0
        if !ignoring, let range = request.headers["range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
           let first = Int(range.dropFirst(6).dropLast()) {
            guard first < body.count else {
                return send(client, status: "416 Range Not Satisfiable", headers: ["Content-Range": "bytes */\(body.count)"],
                            body: [], dropAfter: nil)
            }
            start = first
        }
        let headers = start > 0 ? ["Content-Range": "bytes \(start)-\(body.count - 1)/\(body.count)"] : [:]
        send(client, status: start > 0 ? "206 Partial Content" : "200 OK", headers: headers, body: Array(body[start...]), dropAfter: drop)
    }

    private func readRequest(_ client: Int32) -> Request? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !bytes.ends(with: Array("\r\n\r\n".utf8)) {
            let count = recv(client, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            bytes += chunk[..<count]
        }
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Request(path: String(requestLine[1]), headers: headers)
    }

    private func send(_ client: Int32, status: String, headers: [String: String], body: [UInt8], dropAfter: Int?) {
        var head = "HTTP/1.1 \(status)\r\nContent-Length: \(body.count)\r\nAccept-Ranges: bytes\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + body[..<min(body.count, dropAfter ?? body.count)]
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
