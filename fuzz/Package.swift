// swift-tools-version: 6.0
// A separate package so the fuzzer's flags never touch the main build. Its sources are symlinks to ../Sources.
import PackageDescription

let package = Package(
    name: "cartflow-fuzz",
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1"),
        .target(name: "CartflowYAML", dependencies: ["CYAML"]),
        .target(name: "CartflowCore", dependencies: ["CartflowYAML"]),
        .executableTarget(name: "FuzzLoader", dependencies: ["CartflowCore", "CartflowYAML"]),
    ],
    swiftLanguageModes: [.v6]
)
