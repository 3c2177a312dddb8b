// libFuzzer harness for `ScoringRequest.decode` (the predict endpoint's body decoding): whatever the bytes, it
// must return or throw a ScoringError, never trap, and never return more rows than the cap.
//
// Its two sources are Foundation-free, so the harness compiles without the package:
//   swiftc -sanitize=fuzzer,address -parse-as-library -O \
//     Sources/FunnelTrain/Serving/ScoringRequest.swift Sources/FunnelTrain/Serving/ScoringError.swift \
//     Fuzz/ScoringRequestFuzz.swift -o .build/fuzz-scoring-request
//   .build/fuzz-scoring-request -max_total_time=60 -max_len=4096 Fuzz/corpus/scoring-request
@_cdecl("LLVMFuzzerTestOneInput")
public func scoringRequestFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let request = try ScoringRequest.decode(json: bytes, rowLimit: 8)
        precondition(request.rows.count <= 8, "row cap exceeded")
    } catch {
        precondition(!error.message.isEmpty, "a refusal without a message")
    }
    return 0
}
