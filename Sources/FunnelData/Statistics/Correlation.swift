/// The Pearson correlation of `x` and `y` (equal lengths), accumulated in Float64 around the means (two passes),
/// or nil when either vector is constant or there are fewer than two values. On 0/1 vectors this is the phi
/// coefficient.
public func pearsonCorrelation(_ x: [Double], _ y: [Double]) -> Double? {
    precondition(x.count == y.count, "pearsonCorrelation: \(x.count) vs \(y.count) values")
    let n = x.count
    guard n >= 2 else { return nil }
    var sumX = 0.0, sumY = 0.0
    for i in 0..<n {
        sumX += x[i]
        sumY += y[i]
    }
    let meanX = sumX / Double(n), meanY = sumY / Double(n)
    var xy = 0.0, xx = 0.0, yy = 0.0
    for i in 0..<n {
        let dx = x[i] - meanX, dy = y[i] - meanY
        xy += dx * dy
        xx += dx * dx
        yy += dy * dy
    }
    guard xx > 0, yy > 0 else { return nil }
    return xy / (xx * yy).squareRoot()
}

/// The K×K Pearson correlation matrix of `columns` (K vectors of equal length), row-major `[K · K]`, with 1 on the
/// diagonal; an undefined entry (a constant column) is NaN.
public func correlationMatrix(_ columns: [[Double]]) -> [Double] {
    let k = columns.count
    var matrix = [Double](repeating: 1, count: k * k)
    for a in 0..<k {
        for b in (a + 1)..<k {
            let value = pearsonCorrelation(columns[a], columns[b]) ?? .nan
            matrix[a * k + b] = value
            matrix[b * k + a] = value
        }
    }
    return matrix
}
