import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP GET streamed into a `.part` file, asking for the bytes from `offset` on (`Range: bytes=offset-`)
/// when the file already holds some. A server that ignores the range (status 200) restarts the file.
/// `run` blocks until the request ends; the progress callback runs on the session's delegate queue.
final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome: Equatable {
        /// The response body was received in full.
        case complete
        /// 416: the `.part` file already holds the whole file (or more); verification decides.
        case rangeNotSatisfiable
        case httpStatus(Int)
        /// Connection or file-system failure; what is on disk is kept for the next attempt.
        case failed(String)
    }

    private let file: RemoteFile
    private let part: URL
    private let progress: (@Sendable (DownloadProgress) -> Void)?
    private let handle: FileHandle
    private var offset: Int64
    private var written: Int64
    private var total: Int64?
    private var outcome: Outcome?
    private let finished = DispatchSemaphore(value: 0)

    /// Opens (or creates) `part` and cuts it to `offset` bytes.
    init(file: RemoteFile, part: URL, offset: Int64, progress: (@Sendable (DownloadProgress) -> Void)?) throws {
        self.file = file
        self.part = part
        self.progress = progress
        self.offset = offset
        written = offset
        total = file.byteCount
        if !FileManager.default.fileExists(atPath: part.path) {
            guard FileManager.default.createFile(atPath: part.path, contents: nil) else {
                throw DownloadError.fileSystem(path: part.path, detail: "cannot create the file")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: part)
            try handle.truncate(atOffset: UInt64(offset))
        } catch {
            throw DownloadError.fileSystem(path: part.path, detail: "cannot open for writing: \(error.localizedDescription)")
        }
    }

    func run(idleTimeout: TimeInterval) -> Outcome {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        var request = URLRequest(url: file.url)
        // The checksum is of the bytes as stored: no transparent decompression of .gz files.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        session.dataTask(with: request).resume()
        finished.wait()
        session.finishTasksAndInvalidate()
        try? handle.synchronize()
        try? handle.close()
        return outcome ?? .failed("no response")
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            outcome = .failed("not an HTTP response")
            return completionHandler(.cancel)
        }
        switch http.statusCode {
        case 206:
            guard let range = Self.contentRange(http), range.start == offset else {
                // A different range than asked for: start over on the next attempt.
                try? handle.truncate(atOffset: 0)
                outcome = .failed("server sent an unexpected Content-Range")
                return completionHandler(.cancel)
            }
            total = range.total ?? total
        case 200:
            if offset > 0 {
                do { try handle.truncate(atOffset: 0) } catch {
                    outcome = .failed("cannot truncate \(part.path): \(error.localizedDescription)")
                    return completionHandler(.cancel)
                }
                offset = 0
                written = 0
            }
            if http.expectedContentLength >= 0 { total = http.expectedContentLength }
        case 416:
            outcome = .rangeNotSatisfiable
            return completionHandler(.cancel)
        default:
            outcome = .httpStatus(http.statusCode)
            return completionHandler(.cancel)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard outcome == nil else { return }
        do {
            try handle.write(contentsOf: data)
        } catch {
            outcome = .failed("cannot write \(part.path): \(error.localizedDescription)")
            return dataTask.cancel()
        }
        written += Int64(data.count)
        progress?(DownloadProgress(fileName: file.fileName, receivedBytes: written, totalBytes: total, resumedFrom: offset))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if outcome == nil {
            outcome = error.map { .failed("\($0.localizedDescription) [code \(($0 as NSError).code)]") } ?? .complete
        }
        finished.signal()
    }

    /// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
    private static func contentRange(_ response: HTTPURLResponse) -> (start: Int64, total: Int64?)? {
        guard let value = response.value(forHTTPHeaderField: "Content-Range"), value.hasPrefix("bytes ") else { return nil }
        let parts = value.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let start = parts[0].split(separator: "-").first.flatMap({ Int64($0) }) else { return nil }
        return (start, Int64(parts[1]))
    }
}
