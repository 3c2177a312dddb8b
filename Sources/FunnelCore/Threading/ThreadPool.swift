#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A persistent pool of worker threads for data-parallel kernels. The calling thread works too.
///
/// Written by hand because `DispatchQueue.concurrentPerform` often ran both halves of a 2-way split one after
/// the other on these machines; a pool whose idle workers spin briefly (about 1 ms) on an atomic before sleeping
/// on a condition variable scales 1.7–2× on two cores.
public final class ThreadPool: @unchecked Sendable {
    /// The pool every kernel uses. Its size is the number of active processors, or `FUNNEL_THREADS`.
    public static let shared: ThreadPool = {
        let env = getenv("FUNNEL_THREADS").flatMap { Int(String(cString: $0)) }
        return ThreadPool(threadCount: env ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// One parallel loop: a body and a shared cursor over its iterations.
    private final class Job: @unchecked Sendable {
        let body: (Int) -> Void
        let iterations: Int
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        init(body: @escaping (Int) -> Void, iterations: Int) {
            self.body = body
            self.iterations = iterations
        }
        /// Claims and runs iterations until none are left.
        func work() {
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= iterations { return }
                body(i)
                finished.wrappingAdd(1, ordering: .releasing)
            }
        }
    }

    /// Threads that exist (the caller plus workers).
    public let threadCount: Int
    private let generation = Atomic<Int>(0)
    private var job: Job?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var workerLimit: Int

    /// How many threads `parallelFor` uses, at most `threadCount`. Benchmarks set it to compare 1 and 2 threads.
    public var activeThreads: Int {
        get { workerLimit + 1 }
        set { workerLimit = max(0, min(newValue, threadCount) - 1) }
    }

    /// A pool with `threadCount` threads in all (`threadCount - 1` workers).
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        self.workerLimit = self.threadCount - 1
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 0..<(self.threadCount - 1) { startWorker(index) }
    }

    private func startWorker(_ index: Int) {
        let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
            context.pool.workerLoop(index: context.index)
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed with \(status)")
        pthread_detach(thread)
    }

    private final class WorkerContext {
        let pool: ThreadPool
        let index: Int
        init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < 200_000 { spins &+= 1 }
            pthread_mutex_lock(&mutex)
            while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
            seen = generation.load(ordering: .acquiring)
            let current = index < workerLimit ? job : nil
            pthread_mutex_unlock(&mutex)
            current?.work()
        }
    }

    /// Runs `body(i)` for `i` in `0..<iterations`, spread over the active threads; returns when all are done.
    /// Iterations are claimed dynamically, so uneven iterations balance themselves.
    public func parallelFor(_ iterations: Int, _ body: @escaping (Int) -> Void) {
        if iterations <= 0 { return }
        if iterations == 1 || workerLimit == 0 {
            for i in 0..<iterations { body(i) }
            return
        }
        let current = Job(body: body, iterations: iterations)
        pthread_mutex_lock(&mutex)
        job = current
        generation.wrappingAdd(1, ordering: .releasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        current.work()
        while current.finished.load(ordering: .acquiring) < iterations {}
        pthread_mutex_lock(&mutex)
        job = nil
        pthread_mutex_unlock(&mutex)
    }

    /// Splits `0..<count` into contiguous chunks of at least `grain` elements, one or more per active thread,
    /// and runs `body(range)` on each in parallel.
    public func parallelRanges(_ count: Int, grain: Int, _ body: @escaping (Range<Int>) -> Void) {
        let chunks = min(activeThreads, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let size = (count + chunks - 1) / chunks
        parallelFor(chunks) { c in
            let start = c * size
            let end = min(count, start + size)
            if start < end { body(start..<end) }
        }
    }
}

