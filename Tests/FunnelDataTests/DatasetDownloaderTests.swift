import Foundation
import XCTest
@testable import FunnelData

final class DatasetDownloaderTests: XCTestCase {
    private let content: [UInt8] = {
        var rng = SystemRandomNumberGenerator()
        return (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }()
    private var server: LoopbackHTTPServer!
    private var directory: URL!
    private let downloader = DatasetDownloader(maxAttempts: 1, retryDelay: 0, idleTimeout: 10)

    override func setUpWithError() throws {
        server = try LoopbackHTTPServer(files: ["/data/blob.bin": content])
        directory = try TableFixtures.directory(for: self)
    }

    override func tearDown() { server.stop() }

    private var file: RemoteFile {
        RemoteFile(url: server.url("/data/blob.bin"), sha256: SHA256.hexDigest(of: content), byteCount: Int64(content.count))
    }

    private func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() }

    func testFullDownloadVerifiesAndReportsProgress() throws {
        let reports = Reports()
        let url = try downloader.download(file, to: directory) { reports.append($0) }
        XCTAssertEqual(try Data(contentsOf: url), Data(content))
        XCTAssertEqual(try listing(), ["blob.bin"])
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertNil(server.requests[0].headers["range"])
        XCTAssertEqual(server.requests[0].headers["accept-encoding"], "identity")
        let seen = reports.values
        XCTAssertEqual(seen.last, DownloadProgress(fileName: "blob.bin", receivedBytes: 300_000, totalBytes: 300_000, resumedFrom: 0))
        XCTAssertEqual(seen.map(\.receivedBytes), seen.map(\.receivedBytes).sorted())

        // A verified file is not fetched again.
        XCTAssertEqual(try downloader.download(file, to: directory), url)
        XCTAssertEqual(server.requests.count, 1)
    }

    func testInterruptedDownloadResumesWithARangeRequest() throws {
        server.dropConnections(afterBytes: [100_000])
        XCTAssertThrowsError(try downloader.download(file, to: directory)) { error in
            guard case let .connectionLost(_, partFile, bytes, _)? = error as? DownloadError else { return XCTFail("\(error)") }
            XCTAssertEqual(bytes, 100_000)
            XCTAssertTrue(partFile.hasSuffix("blob.bin.part"))
        }
        XCTAssertEqual(try listing(), ["blob.bin.part"])

        let reports = Reports()
        let url = try downloader.download(file, to: directory) { reports.append($0) }
        XCTAssertEqual(server.requests.map { $0.headers["range"] }, [nil, "bytes=100000-"])
        XCTAssertEqual(try Data(contentsOf: url), Data(content))
        XCTAssertEqual(try listing(), ["blob.bin"])
        XCTAssertEqual(reports.values.first?.resumedFrom, 100_000)
        XCTAssertGreaterThan(reports.values.first?.receivedBytes ?? 0, 100_000)
    }

    func testRetriesResumeWithinOneCall() throws {
        server.dropConnections(afterBytes: [70_000, 50_000])
        let url = try DatasetDownloader(maxAttempts: 3, retryDelay: 0).download(file, to: directory)
        XCTAssertEqual(server.requests.map { $0.headers["range"] }, [nil, "bytes=70000-", "bytes=120000-"])
        XCTAssertEqual(try Data(contentsOf: url), Data(content))
    }

    func testServerIgnoringRangeRestartsTheFile() throws {
        server.ignoreRange()
        try Data(repeating: 0xEE, count: 1_000).write(to: directory.appendingPathComponent("blob.bin.part"))
        let url = try downloader.download(file, to: directory)
        XCTAssertEqual(server.requests.first?.headers["range"], "bytes=1000-")
        XCTAssertEqual(try Data(contentsOf: url), Data(content))
    }

    /// A complete `.part` of unknown expected length: the server answers 416 and verification accepts it.
    func testCompletePartFileIsVerifiedAfterRangeNotSatisfiable() throws {
        try Data(content).write(to: directory.appendingPathComponent("blob.bin.part"))
        var unsized = file
        unsized.byteCount = nil
        let url = try downloader.download(unsized, to: directory)
        XCTAssertEqual(server.requests.map { $0.headers["range"] }, ["bytes=300000-"])
        XCTAssertEqual(try Data(contentsOf: url), Data(content))
    }

    func testChecksumMismatchDeletesTheDownload() throws {
        var wrong = file
        wrong.sha256 = String(repeating: "0", count: 64)
        XCTAssertThrowsError(try downloader.download(wrong, to: directory)) { error in
            XCTAssertEqual(error as? DownloadError, .checksumMismatch(file: self.directory.appendingPathComponent("blob.bin").path,
                                                                     expected: wrong.sha256, actual: self.file.sha256))
            XCTAssertTrue(String(describing: error).contains("does not match"))
        }
        XCTAssertEqual(try listing(), [])
    }

    func testExistingFileWithOtherContentIsLeftAlone() throws {
        try Data("other".utf8).write(to: directory.appendingPathComponent("blob.bin"))
        XCTAssertThrowsError(try downloader.download(file, to: directory)) { error in
            guard case .existingFileMismatch? = error as? DownloadError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("blob.bin")), Data("other".utf8))
        XCTAssertTrue(server.requests.isEmpty)
    }

    func testNotFoundNamesStatusAndURL() throws {
        let missing = RemoteFile(url: server.url("/data/missing.gz"), sha256: file.sha256)
        XCTAssertThrowsError(try DatasetDownloader(maxAttempts: 3, retryDelay: 0).download(missing, to: directory)) { error in
            XCTAssertEqual(error as? DownloadError, .httpStatus(url: missing.url, status: 404))
            let text = String(describing: error)
            XCTAssertTrue(text.contains("HTTP 404") && text.contains(missing.url.absoluteString), text)
        }
        XCTAssertEqual(server.requests.count, 1, "HTTP errors are not retried")
        XCTAssertEqual(try listing(), [])
    }

    func testUnreachableServerLeavesNoEmptyPartFile() throws {
        let unreachable = RemoteFile(url: URL(string: "http://127.0.0.1:1/blob.bin")!, sha256: file.sha256)
        XCTAssertThrowsError(try downloader.download(unreachable, to: directory)) { error in
            guard case .connectionLost(_, _, 0, _)? = error as? DownloadError else { return XCTFail("\(error)") }
            XCTAssertFalse(String(describing: error).contains("resume"))
        }
        XCTAssertEqual(try listing(), [])
    }

    func testRegistryNamesAndManualDatasets() throws {
        XCTAssertEqual(DatasetRegistry.all.map(\.name), ["census-income-kdd", "aliexpress", "ali-ccp"])
        let census = try XCTUnwrap(DatasetRegistry.dataset(named: "census-income-kdd"))
        XCTAssertEqual(census.files.map(\.url.host), ["archive.ics.uci.edu", "archive.ics.uci.edu"])
        XCTAssertTrue(census.files.allSatisfy { $0.sha256.count == 64 })
        for name in ["aliexpress", "ali-ccp"] {
            XCTAssertThrowsError(try downloader.download(dataset: name, to: directory)) { error in
                guard case .manualDownloadRequired(_, let instructions)? = error as? DownloadError else { return XCTFail("\(error)") }
                XCTAssertTrue(instructions.contains("https://tianchi.aliyun.com/dataset/"), instructions)
            }
        }
        XCTAssertThrowsError(try downloader.download(dataset: "criteo-1tb", to: directory)) { error in
            XCTAssertTrue(String(describing: error).contains("known: census-income-kdd, aliexpress, ali-ccp"))
        }
        XCTAssertTrue(server.requests.isEmpty)
    }
}

/// Progress reports collected from the download's delegate queue.
private final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [DownloadProgress] = []
    func append(_ progress: DownloadProgress) { lock.withLock { stored.append(progress) } }
    var values: [DownloadProgress] { lock.withLock { stored } }
}
