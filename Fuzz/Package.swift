// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses for Funnel's readers (RELIABILITY.md). A package of its own, so the normal build never sees
// it; built by scripts/fuzz.sh with `-sanitize=fuzzer,address -parse-as-library` (libFuzzer supplies `main`).
// One executable target per harness; add a harness as one more target here and one directory under Sources/.
let package = Package(
    name: "FunnelFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Funnel", path: "..")],
    targets: [
        .executableTarget(name: "FuzzCSV", dependencies: [.product(name: "Funnel", package: "Funnel")]),
        .executableTarget(name: "FuzzSchema", dependencies: [.product(name: "Funnel", package: "Funnel")]),
        .executableTarget(name: "FuzzRunFile", dependencies: [.product(name: "Funnel", package: "Funnel")]),
        .executableTarget(name: "FuzzSafeTensors", dependencies: [.product(name: "Funnel", package: "Funnel")]),
        .executableTarget(name: "FuzzEncodeRow", dependencies: [.product(name: "Funnel", package: "Funnel")]),
    ],
    swiftLanguageModes: [.v5]
)
