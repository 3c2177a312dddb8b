import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sequential bytes from a file (plain or gzip, detected by its magic bytes, not its name) or from memory.
/// gzip goes through the system zlib; concatenated gzip members are read as one stream.
final class ByteStream {
    private enum Backing {
        case file(Int32)
        case gzip(Int32, UnsafeMutablePointer<z_stream>, UnsafeMutablePointer<UInt8>)
        case memory([UInt8], Int)
    }

    private var backing: Backing
    /// The source's name for error messages.
    let name: String
    private var inputDone = false
    /// A gzip member has started and not yet reached its end marker.
    private var memberOpen = false
    private static let inputChunk = 1 << 18

    init(path: String) throws {
        name = String(path.split(separator: "/").last ?? Substring(path))
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError(.io, file: name, message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        var magic = [UInt8](repeating: 0, count: 2)
        let got = pread(fd, &magic, 2, 0)
        guard got == 2, magic == [0x1F, 0x8B] else { backing = .file(fd); return }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 32: maximum window, automatic gzip / zlib header detection.
        guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            close(fd)
            throw DataError(.io, file: name, message: "cannot initialise zlib")
        }
        backing = .gzip(fd, stream, UnsafeMutablePointer<UInt8>.allocate(capacity: Self.inputChunk))
    }

    init(bytes: [UInt8], name: String) {
        self.name = name
        backing = .memory(bytes, 0)
    }

    deinit {
        switch backing {
        case .file(let fd): close(fd)
        case .gzip(let fd, let stream, let input):
            inflateEnd(stream)
            stream.deallocate()
            input.deallocate()
            close(fd)
        case .memory: break
        }
    }

    /// Reads up to `count` bytes into `buffer`; returns the number read, 0 only at the end of the stream.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        switch backing {
        case .file(let fd):
            while true {
                let n = systemRead(fd, buffer, count)
                if n >= 0 { return n }
                if errno != EINTR { throw DataError(.io, file: name, message: "read failed: \(String(cString: strerror(errno)))") }
            }
        case .memory(let bytes, let offset):
            let n = min(count, bytes.count - offset)
            bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + offset, count: n) }
            backing = .memory(bytes, offset + n)
            return n
        case .gzip(let fd, let stream, let input):
            return try inflate(fd: fd, stream: stream, input: input, into: buffer, count: count)
        }
    }

    private func inflate(fd: Int32, stream: UnsafeMutablePointer<z_stream>, input: UnsafeMutablePointer<UInt8>,
                         into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        stream.pointee.next_out = buffer
        stream.pointee.avail_out = UInt32(count)
        while stream.pointee.avail_out > 0 {
            if stream.pointee.avail_in == 0 && !inputDone {
                let n = systemRead(fd, input, Self.inputChunk)
                if n < 0 { throw DataError(.io, file: name, message: "read failed: \(String(cString: strerror(errno)))") }
                if n == 0 { inputDone = true } else {
                    stream.pointee.next_in = input
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            if stream.pointee.avail_in == 0 && inputDone {
                if memberOpen { throw DataError(.io, file: name, message: "gzip: unexpected end of compressed data") }
                break
            }
            memberOpen = true
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                memberOpen = false
                // Another gzip member may follow (concatenated .gz files are valid gzip).
                if stream.pointee.avail_in == 0 && inputDone { break }
                inflateReset(stream)
            } else if status != Z_OK && status != Z_BUF_ERROR {
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                throw DataError(.io, file: name, message: "gzip: \(reason)")
            }
        }
        return count - Int(stream.pointee.avail_out)
    }
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
