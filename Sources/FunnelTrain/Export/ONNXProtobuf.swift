import Foundation

/// The protobuf wire encoding of the ONNX messages an export writes (`onnx.proto`: ModelProto, GraphProto,
/// NodeProto, TensorProto, ValueInfoProto, AttributeProto, StringStringEntryProto, OperatorSetIdProto).
///
/// Written by hand rather than generated with swift-protobuf: the export only ever *writes* a fixed subset of eight
/// messages (about a hundred lines of field numbers and varints), while the generator would add a package
/// dependency, a plugin build of several minutes and thousands of lines of generated code for the whole schema.
/// `onnx.checker.check_model(full_check: true)` in `ONNXExportTests` checks every file this writes.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// A varint field (int32, int64, enum; negative values as two's complement, as protobuf's int64).
    mutating func int(_ field: Int, _ value: Int) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// A 32-bit float field.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, wireType: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A length-delimited field of raw bytes.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// An embedded message.
    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        bytes(field, inner.bytes)
    }

    /// A packed repeated varint field.
    mutating func packedInts(_ field: Int, _ values: [Int]) {
        var inner = ProtobufWriter()
        for v in values { inner.varint(UInt64(bitPattern: Int64(v))) }
        bytes(field, inner.bytes)
    }
}

/// ONNX `TensorProto.DataType` values used here.
enum ONNXElementType: Int {
    case float = 1, int64 = 7, bool = 9, double = 11
}

/// A constant tensor of the graph (an initializer), stored as little-endian raw data.
struct ONNXTensor {
    var name: String
    var dims: [Int]
    var type: ONNXElementType
    var raw: [UInt8]

    init(name: String, floats: [Float], dims: [Int]) {
        self.name = name
        self.dims = dims
        type = .float
        raw = floats.withUnsafeBytes { Array($0) }
    }

    init(name: String, int64s: [Int], dims: [Int]) {
        self.name = name
        self.dims = dims
        type = .int64
        raw = int64s.map { Int64($0).littleEndian }.withUnsafeBytes { Array($0) }
    }

    init(name: String, doubles: [Double], dims: [Int]) {
        self.name = name
        self.dims = dims
        type = .double
        raw = doubles.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
    }

    func encode(_ w: inout ProtobufWriter) {
        w.packedInts(1, dims)
        w.int(2, type.rawValue)
        w.string(8, name)
        w.bytes(9, raw)
    }
}

/// A node attribute.
enum ONNXAttributeValue {
    case int(Int), float(Float), ints([Int])
}

/// One ONNX node.
struct ONNXNode {
    var op: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [(name: String, value: ONNXAttributeValue)]

    func encode(_ w: inout ProtobufWriter) {
        for input in inputs { w.string(1, input) }
        for output in outputs { w.string(2, output) }
        w.string(3, outputs[0])
        w.string(4, op)
        for (name, value) in attributes {
            w.message(5) { a in
                a.string(1, name)
                switch value {
                case .float(let f): a.float(2, f); a.int(20, 1)
                case .int(let i): a.int(3, i); a.int(20, 2)
                case .ints(let list): a.packedInts(8, list); a.int(20, 7)
                }
            }
        }
    }
}

/// A graph input or output: name, element type and shape (`nil` extents are the symbolic `batch`, `length`, …).
struct ONNXValueInfo {
    var name: String
    var type: ONNXElementType
    var dims: [ONNXDim]

    func encode(_ w: inout ProtobufWriter) {
        w.string(1, name)
        w.message(2) { typeProto in
            typeProto.message(1) { tensor in
                tensor.int(1, type.rawValue)
                tensor.message(2) { shape in
                    for dim in dims {
                        shape.message(1) { d in
                            switch dim {
                            case .value(let n): d.int(1, n)
                            case .parameter(let name): d.string(2, name)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One extent of a graph input or output.
enum ONNXDim {
    case value(Int), parameter(String)
}

/// A complete model file: one graph, the default-domain opset, and string metadata.
struct ONNXModelFile {
    /// IR version 8 goes with opset 17 (the ONNX versioning table).
    static let irVersion = 8, opset = 17

    var graphName: String
    var nodes: [ONNXNode]
    var initializers: [ONNXTensor]
    var inputs: [ONNXValueInfo]
    var outputs: [ONNXValueInfo]
    var metadata: [(key: String, value: String)]
    var producerVersion: String

    func serialized() -> Data {
        var w = ProtobufWriter()
        w.int(1, Self.irVersion)
        w.string(2, "funnel")
        w.string(3, producerVersion)
        w.message(7) { g in
            for node in nodes { g.message(1) { node.encode(&$0) } }
            g.string(2, graphName)
            for tensor in initializers { g.message(5) { tensor.encode(&$0) } }
            for input in inputs { g.message(11) { input.encode(&$0) } }
            for output in outputs { g.message(12) { output.encode(&$0) } }
        }
        w.message(8) { o in
            o.string(1, "")
            o.int(2, Self.opset)
        }
        for (key, value) in metadata {
            w.message(14) { e in
                e.string(1, key)
                e.string(2, value)
            }
        }
        return Data(w.bytes)
    }
}
