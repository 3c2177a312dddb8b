import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Progress of one file's download.
public struct DownloadProgress: Sendable, Equatable {
    public var fileName: String
    /// Bytes of the file on disk so far, including those kept from an earlier, interrupted download.
    public var receivedBytes: Int64
    /// Length of the whole file, when the server or the registry says.
    public var totalBytes: Int64?
    /// Bytes kept from an earlier attempt when this request started (0 for a fresh download).
    public var resumedFrom: Int64
}

extension DownloadProgress: CustomStringConvertible {
    /// `census-income.data.gz  2.4 / 6.0 MB  40%`.
    public var description: String {
        let received = String(format: "%.1f", Double(receivedBytes) / 1e6)
        guard let totalBytes, totalBytes > 0 else { return "\(fileName)  \(received) MB" }
        let percent = Int(100 * receivedBytes / totalBytes)
        return "\(fileName)  \(received) / \(String(format: "%.1f", Double(totalBytes) / 1e6)) MB  \(percent)%"
    }
}

/// Why a download failed. Every case names the URL or file and says what to do.
public enum DownloadError: Error, Equatable, CustomStringConvertible {
    case unknownDataset(name: String, known: [String])
    case manualDownloadRequired(dataset: String, instructions: String)
    case httpStatus(url: URL, status: Int)
    /// The downloaded bytes do not hash to the expected SHA-256; the partial file was deleted.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// A file already at the destination does not hash to the expected SHA-256; it was left alone.
    case existingFileMismatch(file: String, expected: String, actual: String)
    /// The connection failed after the last attempt; the bytes received so far are kept for resuming (an empty
    /// `.part` file is removed).
    case connectionLost(url: URL, partFile: String, bytesOnDisk: Int64, detail: String)
    case fileSystem(path: String, detail: String)

    public var description: String {
        switch self {
        case let .unknownDataset(name, known):
            return "unknown dataset '\(name)'; known: \(known.joined(separator: ", "))"
        case let .manualDownloadRequired(dataset, instructions):
            return "\(dataset) cannot be downloaded automatically. \(instructions)"
        case let .httpStatus(url, status):
            return "HTTP \(status) (\(HTTPURLResponse.localizedString(forStatusCode: status))) for \(url.absoluteString)"
        case let .checksumMismatch(file, expected, actual):
            return "\(file): SHA-256 \(actual) does not match the expected \(expected); the download was deleted"
        case let .existingFileMismatch(file, expected, actual):
            return "\(file) exists but its SHA-256 \(actual) is not the expected \(expected); remove it to download again"
        case let .connectionLost(url, partFile, bytes, detail):
            guard bytes > 0 else { return "download of \(url.absoluteString) failed (\(detail))" }
            return "download of \(url.absoluteString) failed after \(bytes) bytes (\(detail)); run again to resume from \(partFile)"
        case let .fileSystem(path, detail):
            return "\(path): \(detail)"
        }
    }
}

/// Downloads dataset files with resumption and verification: bytes stream into `<name>.part`; an interrupted
/// download resumes from the `.part` file's length with an HTTP `Range` request (retried up to `maxAttempts`
/// times per call, and again on the next call); the finished file must match its SHA-256 (a mismatch deletes
/// it) and is then renamed to `<name>` atomically. A file already present and verified is not fetched again.
///
/// Uses `URLSession` (FoundationNetworking, libcurl on Linux) because the real sources are HTTPS, which a plain
/// socket client could not reach.
public struct DatasetDownloader: Sendable {
    /// Requests per file and call before giving up on connection failures (HTTP errors are not retried).
    public var maxAttempts: Int
    /// Seconds to wait before a retry, times the attempt number.
    public var retryDelay: TimeInterval
    /// Seconds without data before a request fails.
    public var idleTimeout: TimeInterval

    public init(maxAttempts: Int = 3, retryDelay: TimeInterval = 1, idleTimeout: TimeInterval = 60) {
        self.maxAttempts = maxAttempts
        self.retryDelay = retryDelay
        self.idleTimeout = idleTimeout
    }

    /// Downloads every file of the dataset called `name` into `directory` (created if needed) and returns their
    /// paths. Throws `manualDownloadRequired` for datasets behind a login.
    public func download(dataset name: String, to directory: URL,
                         progress: (@Sendable (DownloadProgress) -> Void)? = nil) throws -> [URL] {
        guard let dataset = DatasetRegistry.dataset(named: name) else {
            throw DownloadError.unknownDataset(name: name, known: DatasetRegistry.all.map(\.name))
        }
        if let instructions = dataset.manualDownload {
            throw DownloadError.manualDownloadRequired(dataset: dataset.name, instructions: instructions)
        }
        return try dataset.files.map { try download($0, to: directory, progress: progress) }
    }

    /// Downloads `file` into `directory` (created if needed) and returns its path.
    public func download(_ file: RemoteFile, to directory: URL,
                         progress: (@Sendable (DownloadProgress) -> Void)? = nil) throws -> URL {
        let manager = FileManager.default
        let destination = directory.appendingPathComponent(file.fileName)
        let part = directory.appendingPathComponent(file.fileName + ".part")
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DownloadError.fileSystem(path: directory.path, detail: "cannot create the directory: \(error.localizedDescription)")
        }
        if manager.fileExists(atPath: destination.path) {
            let actual = try digest(of: destination)
            guard actual == file.sha256 else {
                throw DownloadError.existingFileMismatch(file: destination.path, expected: file.sha256, actual: actual)
            }
            return destination
        }
        var attempt = 0
        transfers: while true {
            attempt += 1
            var kept = (try? manager.attributesOfItem(atPath: part.path)[.size] as? Int64) ?? 0
            if let total = file.byteCount {
                if kept == total { break }
                if kept > total { kept = 0 }
            }
            let transfer = try Transfer(file: file, part: part, offset: kept, progress: progress)
            switch transfer.run(idleTimeout: idleTimeout) {
            case .complete, .rangeNotSatisfiable:
                break transfers
            case .httpStatus(let status):
                if (try? manager.attributesOfItem(atPath: part.path)[.size] as? Int64) == 0 { try? manager.removeItem(at: part) }
                throw DownloadError.httpStatus(url: file.url, status: status)
            case .failed(let detail):
                let onDisk = (try? manager.attributesOfItem(atPath: part.path)[.size] as? Int64) ?? 0
                guard attempt < maxAttempts else {
                    if onDisk == 0 { try? manager.removeItem(at: part) }
                    throw DownloadError.connectionLost(url: file.url, partFile: part.path, bytesOnDisk: onDisk, detail: detail)
                }
                Thread.sleep(forTimeInterval: retryDelay * Double(attempt))
            }
        }
        let actual = try digest(of: part)
        guard actual == file.sha256 else {
            try? manager.removeItem(at: part)
            throw DownloadError.checksumMismatch(file: destination.path, expected: file.sha256, actual: actual)
        }
        guard rename(part.path, destination.path) == 0 else {
            throw DownloadError.fileSystem(path: destination.path, detail: "rename failed: \(String(cString: strerror(errno)))")
        }
        return destination
    }

    private func digest(of url: URL) throws -> String {
        do {
            return try SHA256.hexDigest(ofFile: url)
        } catch {
            throw DownloadError.fileSystem(path: url.path, detail: "cannot read: \(error.localizedDescription)")
        }
    }
}
