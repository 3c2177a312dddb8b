// swift-tools-version:6.0
import PackageDescription

// A package that uses Funnel the way any other would: by git URL and version, not by path. SwiftPM refuses
// versioned dependencies with unsafe build flags, so this package resolving at all is the check.
// FUNNEL_PACKAGE_URL overrides where Funnel comes from (CI points it at a tagged clone); the default is the
// repository this example sits in, which must have a tag ≥ 0.1.0.
let funnelURL = Context.environment["FUNNEL_PACKAGE_URL"] ?? "file://\(Context.packageDirectory)/../.."

let package = Package(
    name: "FunnelConsumer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: funnelURL, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(
            name: "FunnelConsumer",
            dependencies: [.product(name: "Funnel", package: "Funnel")]),
    ]
)
