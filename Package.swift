// swift-tools-version:6.0
import Foundation
import PackageDescription

// No unsafe build flags anywhere, so that other packages can depend on Funnel by version: the hot kernels live
// in the C target CFunnelKernels, compiled once per instruction set with per-function target attributes and
// chosen at run time (ARCHITECTURE.md, "Kernels and build settings").

// Open MPI (Debian: openmpi-bin + libopenmpi-dev) enables the data-parallel targets: CMPI, FunnelMPI, funnel-mpi and
// their tests. Without it Funnel builds as before. FUNNEL_MPI=0 / 1 overrides the detection.
let mpiPackageFiles = ["/usr/lib/x86_64-linux-gnu/pkgconfig/ompi.pc", "/usr/lib/aarch64-linux-gnu/pkgconfig/ompi.pc",
                       "/usr/lib/pkgconfig/ompi.pc", "/usr/local/lib/pkgconfig/ompi.pc", "/opt/homebrew/lib/pkgconfig/ompi.pc"]
let withMPI = ProcessInfo.processInfo.environment["FUNNEL_MPI"].map { $0 == "1" }
    ?? mpiPackageFiles.contains { FileManager.default.fileExists(atPath: $0) }

let package = Package(
    name: "Funnel",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Funnel", targets: ["FunnelCore", "FunnelNN", "FunnelData", "FunnelModels", "FunnelTrain"]),
        .executable(name: "funnel", targets: ["funnel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The scoring server only (FunnelServe); the Funnel library does not depend on these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Layer 1: tensors, kernels, threads, autodiff; the C kernels (AVX-512, AVX2 + FMA, portable) below it.
        .target(name: "CFunnelKernels"),
        .target(name: "FunnelCore", dependencies: ["CFunnelKernels"]),
        // Layer 2: modules, initialisers, layers and blocks.
        .target(name: "FunnelNN", dependencies: ["FunnelCore"]),
        // System zlib (gzip input); zlib1g-dev on Linux, part of the SDK on macOS.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Layer 3: schema, readers, feature maps, batches, synthetic generators.
        .target(name: "FunnelData", dependencies: ["FunnelCore", "CZlib", .product(name: "Yams", package: "Yams")]),
        // Layer 4: models, and training (optimizers, losses, trainer).
        .target(name: "FunnelModels", dependencies: ["FunnelNN", "FunnelData"]),
        .target(name: "FunnelTrain", dependencies: ["FunnelModels", .product(name: "Yams", package: "Yams")]),
        .target(name: "FunnelBench", dependencies: ["FunnelTrain"]),
        // Layer 5: faces. The HTTP scoring server over FunnelTrain's Scorer (Hummingbird 2, Prometheus metrics).
        .target(name: "FunnelServe", dependencies: [
            "FunnelTrain",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(
            name: "funnel",
            dependencies: ["FunnelBench", "FunnelServe", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Test-only helpers shared by the test targets (PyTorch parity fixtures).
        .target(name: "FunnelTestSupport", dependencies: ["FunnelCore"], path: "Tests/FunnelTestSupport"),
        .testTarget(name: "FunnelCoreTests", dependencies: ["FunnelCore", "FunnelTestSupport"]),
        .testTarget(name: "FunnelDataTests", dependencies: ["FunnelData", "FunnelTestSupport"]),
        .testTarget(name: "FunnelNNTests", dependencies: ["FunnelNN", "FunnelTrain", "FunnelTestSupport"]),
        .testTarget(name: "FunnelModelsTests", dependencies: ["FunnelModels", "FunnelTrain", "FunnelTestSupport"]),
        .testTarget(name: "FunnelTrainTests", dependencies: ["FunnelTrain", "FunnelTestSupport"]),
        .testTarget(name: "FunnelBenchTests", dependencies: ["FunnelBench"]),
        .testTarget(name: "FunnelServeTests", dependencies: ["FunnelServe", "FunnelTrain"]),
    ],
    swiftLanguageModes: [.v5]
)

if withMPI {
    package.products.append(.executable(name: "funnel-mpi", targets: ["funnel-mpi"]))
    package.targets += [
        // Open MPI's C API, with a header shim for what mpi.h defines as macros (MPI_COMM_WORLD, MPI_FLOAT, …).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),
        // DataParallelGroup on MPI_COMM_WORLD.
        .target(name: "FunnelMPI", dependencies: ["FunnelTrain", "CMPI"]),
        .executableTarget(
            name: "funnel-mpi",
            dependencies: ["FunnelMPI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "FunnelMPITests", dependencies: ["FunnelBench"]),
    ]
}
