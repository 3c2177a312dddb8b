// swift-tools-version:6.0
import Foundation
import PackageDescription

// Open MPI (Debian: openmpi-bin + libopenmpi-dev) enables the data-parallel targets: CMPI, FunnelMPI, funnel-mpi and
// their tests. Without it Funnel builds as before. FUNNEL_MPI=0 / 1 overrides the detection.
let mpiPackageFiles = ["/usr/lib/x86_64-linux-gnu/pkgconfig/ompi.pc", "/usr/lib/aarch64-linux-gnu/pkgconfig/ompi.pc",
                       "/usr/lib/pkgconfig/ompi.pc", "/usr/local/lib/pkgconfig/ompi.pc", "/opt/homebrew/lib/pkgconfig/ompi.pc"]
let withMPI = ProcessInfo.processInfo.environment["FUNNEL_MPI"].map { $0 == "1" }
    ?? mpiPackageFiles.contains { FileManager.default.fileExists(atPath: $0) }

// Funnel's numeric core is plain Swift with SIMD types. These flags are what make it fast on x86-64:
// without -mfma, `SIMD8.addingProduct` lowers to a libm `fmaf` call per lane (~100x slower), and
// exclusivity checks make class-heavy loops (optimizers) several times slower. The machines this
// project targets are AVX2 + FMA (Haswell and later, Zen). See ARCHITECTURE.md, "Build flags".
let fast: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-enforce-exclusivity=unchecked"]),
]

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
    ],
    targets: [
        // Layer 1: tensors, kernels, threads, autodiff.
        .target(name: "FunnelCore", swiftSettings: fast),
        // Layer 2: modules, initialisers, layers and blocks.
        .target(name: "FunnelNN", dependencies: ["FunnelCore"], swiftSettings: fast),
        // System zlib (gzip input); zlib1g-dev on Linux, part of the SDK on macOS.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Layer 3: schema, readers, feature maps, batches, synthetic generators.
        .target(name: "FunnelData", dependencies: ["FunnelCore", "CZlib", .product(name: "Yams", package: "Yams")],
                swiftSettings: fast),
        // Layer 4: models, and training (optimizers, losses, trainer).
        .target(name: "FunnelModels", dependencies: ["FunnelNN", "FunnelData"], swiftSettings: fast),
        .target(name: "FunnelTrain", dependencies: ["FunnelModels", .product(name: "Yams", package: "Yams")], swiftSettings: fast),
        .target(name: "FunnelBench", dependencies: ["FunnelTrain"], swiftSettings: fast),
        // Layer 5: faces.
        .executableTarget(
            name: "funnel",
            dependencies: ["FunnelBench", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast),
        // Test-only helpers shared by the test targets (PyTorch parity fixtures).
        .target(name: "FunnelTestSupport", dependencies: ["FunnelCore"], path: "Tests/FunnelTestSupport", swiftSettings: fast),
        .testTarget(name: "FunnelCoreTests", dependencies: ["FunnelCore", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelDataTests", dependencies: ["FunnelData", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelNNTests", dependencies: ["FunnelNN", "FunnelTrain", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelModelsTests", dependencies: ["FunnelModels", "FunnelTrain", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelTrainTests", dependencies: ["FunnelTrain", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelBenchTests", dependencies: ["FunnelBench"], swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)

if withMPI {
    package.products.append(.executable(name: "funnel-mpi", targets: ["funnel-mpi"]))
    package.targets += [
        // Open MPI's C API, with a header shim for what mpi.h defines as macros (MPI_COMM_WORLD, MPI_FLOAT, …).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),
        // DataParallelGroup on MPI_COMM_WORLD.
        .target(name: "FunnelMPI", dependencies: ["FunnelTrain", "CMPI"], swiftSettings: fast),
        .executableTarget(
            name: "funnel-mpi",
            dependencies: ["FunnelMPI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast),
        .testTarget(name: "FunnelMPITests", dependencies: ["FunnelBench"], swiftSettings: fast),
    ]
}
