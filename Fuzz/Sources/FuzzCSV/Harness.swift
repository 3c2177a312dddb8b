import Foundation
import FunnelData

/// The CSV reader over arbitrary bytes, plain and (when the input starts with the gzip magic) gzip, with a small
/// buffer so records cross refills; both bad-row policies. Any `DataError` is fine; a crash is a finding.
/// Where gzip inputs are written (the gzip reader reads files).
private let gzipPath = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-fuzz-\(getpid()).csv.gz").path

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let dialects = [CSVDialect(), CSVDialect(delimiter: "\t", quote: nil, header: false), CSVDialect(skipInitialSpace: true, maxQuotedLines: 2)]
    let dialect = dialects[Int(bytes.first ?? 0) % dialects.count]
    let gzip = bytes.starts(with: [0x1F, 0x8B])
    if gzip { try! Data(bytes).write(to: URL(fileURLWithPath: gzipPath)) }
    for policy in [BadRowPolicy.fail, .skip] {
        do {
            let reader = gzip ? try CSVReader(path: gzipPath, dialect: dialect, badRows: policy, bufferSize: 7)
                              : try CSVReader(bytes: bytes, name: "fuzz.csv", dialect: dialect, badRows: policy, bufferSize: 7)
            try reader.forEachRecord { record in
                for i in 0..<record.count { _ = NumberParser.parse(record[i]) }
            }
        } catch is DataError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
    }
    return 0
}
