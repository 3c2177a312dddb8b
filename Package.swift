// swift-tools-version:6.0
import PackageDescription

// No unsafe build flags anywhere, so that other packages can depend on Funnel by version: the hot kernels live
// in the C target CFunnelKernels, compiled once per instruction set with per-function target attributes and
// chosen at run time (ARCHITECTURE.md, "Kernels and build settings").
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
        // Layer 5: faces.
        .executableTarget(
            name: "funnel",
            dependencies: ["FunnelBench", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Test-only helpers shared by the test targets (PyTorch parity fixtures).
        .target(name: "FunnelTestSupport", dependencies: ["FunnelCore"], path: "Tests/FunnelTestSupport"),
        .testTarget(name: "FunnelCoreTests", dependencies: ["FunnelCore", "FunnelTestSupport"]),
        .testTarget(name: "FunnelDataTests", dependencies: ["FunnelData", "FunnelTestSupport"]),
        .testTarget(name: "FunnelNNTests", dependencies: ["FunnelNN", "FunnelTrain", "FunnelTestSupport"]),
        .testTarget(name: "FunnelModelsTests", dependencies: ["FunnelModels", "FunnelTrain", "FunnelTestSupport"]),
        .testTarget(name: "FunnelTrainTests", dependencies: ["FunnelTrain", "FunnelTestSupport"]),
        .testTarget(name: "FunnelBenchTests", dependencies: ["FunnelBench"]),
    ],
    swiftLanguageModes: [.v5]
)
