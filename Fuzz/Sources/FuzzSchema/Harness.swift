import Foundation
import FunnelData

/// The dataset-schema decoder (YAML and JSON) and its validation over arbitrary text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    for json in [false, true] { _ = try? DatasetSchema.decode(bytes, name: "fuzz.yaml", json: json) }
    return 0
}
