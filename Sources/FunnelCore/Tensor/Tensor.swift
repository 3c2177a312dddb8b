/// A dense Float32 tensor: contiguous, row-major, with a shape.
///
/// `Tensor` is a value type over a shared, pooled buffer. Reshaping and taking leading-axis row ranges are
/// views (no copy). Kernels write only into tensors they have just created, so sharing a buffer between
/// values is safe; code that wants to mutate a tensor in place must own it (see `isUniquelyOwned`).
public struct Tensor: @unchecked Sendable {
    /// Extent of each axis, outermost first. `[]` is a scalar.
    public let shape: [Int]
    /// The buffer holding the elements.
    public private(set) var storage: TensorStorage
    /// Offset of the first element in `storage`, in floats.
    public let offset: Int
    /// Number of elements (product of `shape`).
    public let count: Int

    /// A tensor of `shape` with undefined contents, for kernels that overwrite every element.
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = TensorStorage(count: max(count, 1))
        self.offset = 0
    }

    /// A tensor of `shape` filled with zeros.
    public init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        pointer.initialize(repeating: 0, count: count)
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        pointer.initialize(repeating: value, count: count)
    }

    /// A tensor of `shape` holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        self.init(uninitialized: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    /// A scalar tensor (shape `[]`).
    public init(scalar: Float) { self.init(shape: [], values: [scalar]) }

    private init(shape: [Int], storage: TensorStorage, offset: Int) {
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.count = shape.reduce(1, *)
    }

    /// First element. Writable only by the code that created the tensor.
    @inline(__always)
    public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    /// Number of axes.
    public var rank: Int { shape.count }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with shape \(shape)")
        return pointer[0]
    }

    /// The same elements under another shape with the same element count (a view). One extent may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: resolved, storage: storage, offset: offset)
    }

    /// Rows `range` of the leading axis, as a view.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) of \(shape)")
        let rowSize = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), storage: storage, offset: offset + range.lowerBound * rowSize)
    }

    /// A copy with its own buffer.
    public func copy() -> Tensor {
        let result = Tensor(uninitialized: shape)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    /// Whether no other value shares this tensor's buffer (so it may be updated in place).
    public mutating func isUniquelyOwned() -> Bool { isKnownUniquelyReferenced(&storage) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
