/// The processes of a data-parallel run and the collectives Funnel needs from them. An existing engine implements
/// it (`FunnelMPI.MPIGroup`, Open MPI); FunnelTrain only calls it, so the library builds without MPI.
///
/// Every call is collective: all ranks make the same calls in the same order. Results are identical on every rank.
public protocol DataParallelGroup: AnyObject {
    /// This process, 0 ..< size.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Element-wise sum over ranks, in place (one allreduce).
    func sumInPlace(_ values: UnsafeMutableBufferPointer<Float>)
    /// Element-wise sum over ranks (one allreduce; Float64).
    func sum(_ values: [Double]) -> [Double]
    /// Every rank's `values`, concatenated in rank order (allgather of the counts, then allgatherv).
    func gather(_ values: [Float]) -> [Float]
    func gather(_ values: [Int32]) -> [Int32]
    func gather(_ values: [Double]) -> [Double]
    func gather(_ values: [Int64]) -> [Int64]
    /// Rank `root`'s `values` on every rank, in place (broadcast).
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int)
}

extension DataParallelGroup {
    /// The contiguous part of `0 ..< count` that this rank owns: near-equal slices in rank order (the first
    /// `count % size` ranks get one more).
    public func slice(of count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}
