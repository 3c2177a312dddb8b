import Foundation
import FunnelData
import FunnelTrain
import XCTest

/// The in-process `Scorer`: concurrent calls are bit-identical, chained models expose entire-space products
/// and conditional probabilities, and request decoding refuses what it must without trapping.
final class ScorerTests: XCTestCase {
    private func request(_ count: Int, scorer: Scorer) throws -> [[String: String]] {
        let (header, rows) = try Fixtures.rows(count)
        return rows.map { fields in
            Dictionary(uniqueKeysWithValues: scorer.inputs.map { ($0.name, fields[header.firstIndex(of: $0.name)!]) })
        }
    }

    func testConcurrentCallsAreBitIdenticalToTrainedModelPredictions() throws {
        let trained = try TrainedModel(contentsOf: try Fixtures.checkpoint("shared"))
        let scorer = try Scorer(trained)
        let rows = try request(100, scorer: scorer)
        let reference = try scorer.score(rows: rows)
        let encoded = try rows.map { row in try trained.rowEncoder().encodeRow { row[scorer.inputs[$0].name] } }
        XCTAssertEqual(reference.values.map { $0.map(\.bitPattern) },
                       trained.predictions(try trained.rowEncoder().batch(encoded)).map { $0.map(\.bitPattern) })
        let results = UnsafeMutableBufferPointer<[[Float]]>.allocate(capacity: 8)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            results.baseAddress!.advanced(by: i).initialize(to: (try? scorer.score(rows: rows).values) ?? [])
        }
        for i in 0..<8 { XCTAssertEqual(results[i].map { $0.map(\.bitPattern) }, reference.values.map { $0.map(\.bitPattern) }, "call \(i)") }
    }

    func testChainedModelExposesEntireSpaceProductsAndConditionals() throws {
        let scorer = try Scorer(try TrainedModel(contentsOf: try Fixtures.checkpoint("esmm", model: "esmm")))
        XCTAssertEqual(scorer.outputNames, ["ctr", "cvr", "amount", "cvr.conditional"])
        let scores = try scorer.score(rows: try request(16, scorer: scorer))
        for r in 0..<16 {
            // ESMM's cvr head is the entire-space product pCTCVR = pCTR · pCVR.
            XCTAssertEqual(scores.values[1][r], scores.values[0][r] * scores.values[3][r], accuracy: 1e-6, "row \(r)")
        }
        XCTAssertThrowsError(try scorer.score(rows: [], tasks: ["ctcvr"])) { error in
            XCTAssertEqual((error as? ScoringError)?.kind, .unknownTask)
        }
    }

    func testDecodingRefusesMalformedInputWithoutTrapping() throws {
        let valid = try ScoringRequest.decode(json: Array(#"{"request_id":"a\u00e9\ud83d\ude00","rows":[{"x":1.5e3,"y":"b","z":null}],"extra":[{"deep":[1,true]}]}"#.utf8), rowLimit: 10)
        XCTAssertEqual(valid.requestID, "aé😀")
        XCTAssertEqual(valid.rows, [[RawField(name: "x", value: .number("1.5e3")), RawField(name: "y", value: .text("b")), RawField(name: "z", value: .null)]])
        let refusals: [(String, ScoringError.Kind)] = [
            ("", .malformedJSON), ("{", .malformedJSON), (#"{"rows":[{"x":01}]}"#, .malformedJSON), (#"{"rows":[{"x":-}]}"#, .malformedJSON),
            (#"{"rows":[{"x":"\ud800"}]}"#, .malformedJSON), (#"{"rows":[{"x":1,"x":2}]}"#, .malformedJSON), (#"{"rows":[]} x"#, .malformedJSON),
            (#"{"rows":[{"x":[1]}]}"#, .wrongType), (#"{"rows":[{"x":1e400}]}"#, .invalidNumber), (#"{"rows":[{},{},{}]}"#, .tooManyRows),
            (#"{"common":{"x":1}}"#, .malformedJSON), (#"{"rows":{}}"#, .wrongType), ("{\"x\":" + String(repeating: "[", count: 100_000), .malformedJSON),
        ]
        for (text, kind) in refusals {
            XCTAssertThrowsError(try ScoringRequest.decode(json: Array(text.utf8), rowLimit: 2), String(text.prefix(30))) { error in
                XCTAssertEqual((error as? ScoringError)?.kind, kind, String(text.prefix(30)))
            }
        }
    }
}
