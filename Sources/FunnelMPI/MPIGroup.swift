import CMPI
import FunnelTrain

/// `DataParallelGroup` on Open MPI's `MPI_COMM_WORLD`: the processes `mpirun -np N` started. `MPI_Init` on creation,
/// `MPI_Finalize` in `finalize()`. Collectives: `MPI_Allreduce` (sums), `MPI_Allgather` + `MPI_Allgatherv`
/// (gathers in rank order), `MPI_Bcast`. A failed MPI call stops the process (MPI's default error handler aborts
/// the job first).
public final class MPIGroup: DataParallelGroup {
    public let rank: Int
    public let size: Int
    private let world = funnel_mpi_comm_world()

    /// Initialises MPI for this process (once).
    public init() {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 { MPI_Init(nil, nil) }
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// Ends MPI (call once, after the last collective).
    public func finalize() { MPI_Finalize() }

    /// Waits until every rank has arrived.
    public func barrier() { check(MPI_Barrier(world), "MPI_Barrier") }

    public func sumInPlace(_ values: UnsafeMutableBufferPointer<Float>) {
        check(MPI_Allreduce(funnel_mpi_in_place(), values.baseAddress, Int32(values.count), funnel_mpi_float(), funnel_mpi_sum(), world),
              "MPI_Allreduce")
    }

    public func sum(_ values: [Double]) -> [Double] {
        var result = values
        result.withUnsafeMutableBufferPointer { buffer in
            check(MPI_Allreduce(funnel_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), funnel_mpi_double(), funnel_mpi_sum(), world),
                  "MPI_Allreduce")
        }
        return result
    }

    public func gather(_ values: [Float]) -> [Float] { gatherv(values, funnel_mpi_float()) }
    public func gather(_ values: [Int32]) -> [Int32] { gatherv(values, funnel_mpi_int32()) }
    public func gather(_ values: [Double]) -> [Double] { gatherv(values, funnel_mpi_double()) }
    public func gather(_ values: [Int64]) -> [Int64] { gatherv(values, funnel_mpi_int64()) }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) {
        check(MPI_Bcast(values.baseAddress, Int32(values.count), funnel_mpi_float(), Int32(root), world), "MPI_Bcast")
    }

    /// Allgather of the counts, then allgatherv of the values, in rank order.
    private func gatherv<T: Numeric>(_ values: [T], _ type: MPI_Datatype) -> [T] {
        var count = Int32(values.count)
        var counts = [Int32](repeating: 0, count: size)
        check(MPI_Allgather(&count, 1, funnel_mpi_int32(), &counts, 1, funnel_mpi_int32(), world), "MPI_Allgather")
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        let total = Int(counts.reduce(0, +))
        var result = [T](repeating: 0, count: total)
        values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { receive in
                check(MPI_Allgatherv(send.baseAddress, count, type, receive.baseAddress, counts, displacements, type, world),
                      "MPI_Allgatherv")
            }
        }
        return result
    }

    private func check(_ code: Int32, _ call: String) {
        precondition(code == funnel_mpi_success(), "\(call) failed with MPI error \(code) on rank \(rank)")
    }
}
