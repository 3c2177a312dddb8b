import FunnelCore

/// Train / validation / test row indices (synthetic-data.md §8). Cut a table with `EncodedTable.subset(_:)`.
public struct RowSplits: Equatable, Sendable {
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    public init(train: [Int], validation: [Int], test: [Int]) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// Consecutive ranges of `order`: the first ⌊n·train⌋ rows, then the next ⌊n·(train + validation)⌋ − ⌊n·train⌋,
    /// then the rest (default 8:1:1; n = 10 gives 8, 1, 1).
    public init(order: [Int], train: Double = 0.8, validation: Double = 0.1) {
        precondition(train >= 0 && validation >= 0 && train + validation <= 1, "split fractions \(train), \(validation)")
        let n = order.count
        // A hair above n·fraction so that exact products (10 · 0.9) are not floored one short by rounding.
        func boundary(_ fraction: Double) -> Int { min(n, Int((Double(n) * fraction + 1e-9).rounded(.down))) }
        let trainEnd = boundary(train), validationEnd = max(trainEnd, boundary(train + validation))
        self.init(train: Array(order[..<trainEnd]), validation: Array(order[trainEnd..<validationEnd]),
                  test: Array(order[validationEnd...]))
    }

    /// Split by row index, for i.i.d. generators whose rows are exchangeable: 80% / 10% / 10% by default.
    public static func byIndex(rowCount: Int, train: Double = 0.8, validation: Double = 0.1) -> RowSplits {
        RowSplits(order: Array(0..<rowCount), train: train, validation: validation)
    }

    /// Random split of real data without a time column: the same fractions over `seededPermutation`.
    public static func permuted(rowCount: Int, seed: UInt64, train: Double = 0.8, validation: Double = 0.1) -> RowSplits {
        RowSplits(order: seededPermutation(count: rowCount, seed: seed), train: train, validation: validation)
    }
}

/// A permutation of 0..<count that Python reproduces (synthetic-data.md §8): Fisher–Yates with
/// j = ⌊uniform(seed, 99, i)·(i + 1)⌋ for i = count − 1 down to 1.
public func seededPermutation(count: Int, seed: UInt64) -> [Int] {
    var order = Array(0..<count)
    var i = count - 1
    while i >= 1 {
        let j = Int((PortableRandom.uniform(seed: seed, stream: 99, index: UInt64(i)) * Double(i + 1)).rounded(.down))
        order.swapAt(i, j)
        i -= 1
    }
    return order
}
