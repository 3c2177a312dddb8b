import Foundation
import FunnelCore

/// The safetensors file format (https://github.com/huggingface/safetensors), written and read by hand: no Swift
/// package implements it, and the format is small enough not to need one.
///
/// Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON; then the tensor data. The JSON
/// maps each tensor name to `{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}` (byte offsets into
/// the data section) and may hold `"__metadata__"`, a string-to-string map. Funnel writes tensors sorted by
/// name, contiguous, little-endian Float32, with the header padded by spaces to a multiple of 8 bytes (as the
/// reference implementation does), so files load in Python with `safetensors.torch.load_file`. Funnel reads only
/// F32 tensors.
public enum SafeTensors {
    /// Largest header accepted when reading (the reference implementation's limit), against corrupt lengths.
    static let maximumHeaderSize = 100_000_000

    /// The file contents for `tensors` (any order; written sorted by name) and `metadata`.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        let names = tensors.keys.sorted()
        var offset = 0
        for name in names {
            precondition(name != "__metadata__", "a tensor cannot be named __metadata__")
            let bytes = tensors[name]!.count * MemoryLayout<Float>.size
            header[name] = ["dtype": "F32", "shape": tensors[name]!.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            let tensor = tensors[name]!
            #if _endian(little)
            data.append(UnsafeBufferPointer(start: tensor.pointer, count: tensor.count))
            #else
            for i in 0..<tensor.count {
                withUnsafeBytes(of: tensor.pointer[i].bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
            #endif
        }
        return data
    }

    /// The tensors and metadata of a safetensors file's contents. Throws `CheckpointError` for a truncated file,
    /// a malformed header, a dtype other than F32, or offsets that do not tile the data section.
    public static func decode(_ data: Data, file: String = "") throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw CheckpointError.truncated(file: file, detail: "\(data.count) bytes, no header length") }
        let headerSize = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerSize <= maximumHeaderSize else {
            throw CheckpointError.malformed(file: file, detail: "header length \(headerSize) is implausible")
        }
        guard UInt64(data.count) >= 8 + headerSize else {
            throw CheckpointError.truncated(file: file, detail: "header of \(headerSize) bytes, but only \(data.count - 8) follow")
        }
        let dataStart = 8 + Int(headerSize)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: (data.startIndex + 8)..<(data.startIndex + dataStart)))
        } catch {
            throw CheckpointError.malformed(file: file, detail: "header is not JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else { throw CheckpointError.malformed(file: file, detail: "header is not a JSON object") }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: String] else {
                throw CheckpointError.malformed(file: file, detail: "__metadata__ is not a map of strings")
            }
            metadata = map
        }
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError.malformed(file: file, detail: "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw CheckpointError.unsupportedDType(file: file, tensor: name, dtype: dtype) }
            guard offsets[1] - offsets[0] == shape.reduce(1, *) * 4 else {
                throw CheckpointError.malformed(file: file, detail: "tensor '\(name)': offsets \(offsets) do not fit shape \(shape)")
            }
            entries.append((name, shape, offsets[0], offsets[1]))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                throw CheckpointError.malformed(file: file, detail: "tensor '\(entry.name)' starts at byte \(entry.begin), expected \(expected)")
            }
            expected = entry.end
        }
        let available = data.count - dataStart
        guard available >= expected else {
            throw CheckpointError.truncated(file: file, detail: "\(expected) bytes of tensor data expected, \(available) present")
        }
        guard available == expected else {
            throw CheckpointError.malformed(file: file, detail: "\(available - expected) bytes after the last tensor")
        }
        var tensors: [String: Tensor] = [:]
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for entry in entries {
                let tensor = Tensor(uninitialized: entry.shape)
                let source = raw.baseAddress! + dataStart + entry.begin
                #if _endian(little)
                UnsafeMutableRawPointer(tensor.pointer).copyMemory(from: source, byteCount: 4 * tensor.count)
                #else
                for i in 0..<tensor.count {
                    let bits = source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    tensor.pointer[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                #endif
                tensors[entry.name] = tensor
            }
        }
        return (tensors, metadata)
    }
}

/// Why a checkpoint cannot be read or applied.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case truncated(file: String, detail: String)
    case malformed(file: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case missingTensor(name: String)
    case unexpectedTensor(name: String)
    case shapeMismatch(name: String, checkpoint: [Int], model: [Int])
    case missingFile(String)
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case let .truncated(file, detail): return "\(file): truncated safetensors file (\(detail))"
        case let .malformed(file, detail): return "\(file): malformed safetensors file (\(detail))"
        case let .unsupportedDType(file, tensor, dtype): return "\(file): tensor '\(tensor)' has dtype \(dtype); Funnel reads F32 only"
        case let .missingTensor(name): return "checkpoint has no tensor '\(name)' that the model needs"
        case let .unexpectedTensor(name): return "checkpoint tensor '\(name)' matches no parameter or buffer of the model"
        case let .shapeMismatch(name, checkpoint, model):
            return "tensor '\(name)': shape \(checkpoint) in the checkpoint, \(model) in the model"
        case let .missingFile(path): return "checkpoint file \(path) does not exist"
        case let .io(path, detail): return "\(path): \(detail)"
        }
    }
}
