import Foundation
import XCTest
@testable import FunnelData

final class HashingTests: XCTestCase {
    /// FIPS 180-4 / NIST CAVP example messages.
    func testSHA256NISTVectors() {
        XCTAssertEqual(SHA256.hexDigest(of: Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(of: [UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest(of: Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                                   + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(SHA256.hexDigest(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding in uneven pieces (crossing block boundaries, padding at 55/56/64 bytes) gives the one-shot digest.
    func testSHA256IncrementalUpdatesMatchOneShot() {
        let message = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in [55, 56, 63, 64, 65, 119, 1_000] {
            let whole = SHA256.hexDigest(of: Array(message[..<length]))
            var hasher = SHA256()
            var start = 0, step = 1
            while start < length {
                hasher.update(Array(message[start..<min(start + step, length)]))
                start += step
                step = step * 3 % 71 + 1
            }
            XCTAssertEqual(hasher.hexDigest(), whole, "length \(length)")
        }
    }

    func testSHA256OfFileMatchesSha256sum() throws {
        let url = try TableFixtures.directory(for: self).appendingPathComponent("blob")
        try Data(Array(repeating: Array("abc".utf8), count: 700_000).joined()).write(to: url)
        // sha256sum of "abc" × 700,000 (2.1 MB, so several 1 MiB reads).
        XCTAssertEqual(try SHA256.hexDigest(ofFile: url), "4e98d1c077705da58a1539b85fd0e829e6ccc59fa5fa76ce292fb2fb5f173e51")
    }

    /// Reference values of the xxHash specification's XXH64 (seed 0); the 100-byte one is checked against the
    /// low 32 bits that `zstd --check` stores in its frame.
    func testXXHash64Vectors() {
        func hash(_ text: String) -> UInt64 { Array(text.utf8).withUnsafeBytes { XXHash64.hash($0) } }
        XCTAssertEqual(hash(""), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(hash("a"), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(hash("abc"), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(hash("Nobody inspects the spammish repetition"), 0xFBCE_A83C_8A37_8BF1)
        let long = String((0..<100).map { Character(UnicodeScalar(48 + $0 % 43)!) })
        XCTAssertEqual(hash(long) & 0xFFFF_FFFF, 0x6DD1_1484)
    }

    /// The registry's checksums are those of the shared copies of the UCI files.
    func testCensusChecksumsMatchTheSharedCopies() throws {
        let directory = URL(fileURLWithPath: "/work/shared/data/census-income-kdd")
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw XCTSkip("the shared Census-Income copies are not on this machine")
        }
        let census = try XCTUnwrap(DatasetRegistry.dataset(named: "census-income-kdd"))
        XCTAssertEqual(census.files.count, 2)
        for file in census.files {
            let url = directory.appendingPathComponent(file.fileName)
            XCTAssertEqual(try SHA256.hexDigest(ofFile: url), file.sha256, file.fileName)
            XCTAssertEqual(try TableCacheTests.size(of: url), file.byteCount.map(Int.init), file.fileName)
        }
    }
}
