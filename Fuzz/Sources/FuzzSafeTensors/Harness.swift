import Foundation
import FunnelTrain

/// The safetensors decoder over arbitrary bytes, and the checkpoint-metadata decoder over the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    _ = try? SafeTensors.decode(bytes, file: "fuzz.safetensors")
    _ = try? JSONDecoder().decode(CheckpointMetadata.self, from: bytes)
    return 0
}
