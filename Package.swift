// swift-tools-version:6.0
import PackageDescription

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
        // The scoring server only (FunnelServe); the Funnel library does not depend on these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
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
            dependencies: ["FunnelBench", "FunnelServe", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast),
        // Test-only helpers shared by the test targets (PyTorch parity fixtures).
        .target(name: "FunnelTestSupport", dependencies: ["FunnelCore"], path: "Tests/FunnelTestSupport", swiftSettings: fast),
        .testTarget(name: "FunnelCoreTests", dependencies: ["FunnelCore", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelDataTests", dependencies: ["FunnelData", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelNNTests", dependencies: ["FunnelNN", "FunnelTrain", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelModelsTests", dependencies: ["FunnelModels", "FunnelTrain", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelTrainTests", dependencies: ["FunnelTrain", "FunnelTestSupport"], swiftSettings: fast),
        .testTarget(name: "FunnelBenchTests", dependencies: ["FunnelBench"], swiftSettings: fast),
        .testTarget(name: "FunnelServeTests", dependencies: ["FunnelServe", "FunnelTrain"]),
    ],
    swiftLanguageModes: [.v5]
)
