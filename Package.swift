// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "cartflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cartflow", targets: ["cartflow"])
    ],
    targets: [
        // C libraries from Debian, one system-library target each.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),

        .target(name: "CartflowYAML", dependencies: ["CYAML"]),
        .target(name: "CartflowCore", dependencies: ["CartflowYAML"]),
        .target(name: "CartflowArchive", dependencies: ["CArchive"]),
        .target(name: "MultiCart", dependencies: ["CartflowCore"]),
        .target(
            name: "CartflowRuntime",
            dependencies: ["CartflowCore", "MultiCart", "CartflowArchive", "CSQLite"]
        ),
        .target(name: "MultiCartSandbox", dependencies: ["CMicroHTTPD", "CartflowArchive"]),
        .target(
            name: "CartflowCLI",
            dependencies: ["CartflowCore", "CartflowYAML", "MultiCart", "CartflowRuntime", "MultiCartSandbox"]
        ),
        .executableTarget(name: "cartflow", dependencies: ["CartflowCLI"]),
        // Timings for bench/ (bench/schedule/run.sh); not a product, not shipped.
        .executableTarget(name: "cartflow-bench", dependencies: ["CartflowCore"]),
        .target(
            name: "CartflowTestSupport",
            dependencies: ["CartflowCore", "MultiCart", "CartflowRuntime", "MultiCartSandbox"]
        ),

        .testTarget(name: "CartflowYAMLTests", dependencies: ["CartflowYAML", "CartflowTestSupport"]),
        .testTarget(
            name: "CartflowCoreTests", dependencies: ["CartflowCore", "CartflowTestSupport"],
            exclude: ["Fixtures", "Golden"]),
        .testTarget(name: "MultiCartTests", dependencies: ["MultiCart", "MultiCartSandbox", "CartflowTestSupport"]),
        .testTarget(
            name: "MultiCartSandboxTests", dependencies: ["MultiCartSandbox", "CartflowArchive", "CartflowTestSupport"]),
        .testTarget(
            name: "CartflowRuntimeTests",
            dependencies: ["CartflowRuntime", "MultiCartSandbox", "CartflowTestSupport"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["MultiCartSandbox", "CartflowTestSupport"],
            exclude: ["Golden"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
