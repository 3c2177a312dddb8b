import Foundation
import FunnelTrain

/// The run-file decoder (YAML and JSON), then applying no overrides (the range checks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    for json in [false, true] { _ = try? RunConfiguration.decode(bytes, name: "fuzz.yaml", json: json).applying(RunOverrides()) }
    return 0
}
