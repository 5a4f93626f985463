// swift-tools-version: 6.0
// The loader benchmark: its own package (sources symlinked from ../../Sources) so it can call libyaml directly
// for the raw-parse baseline without adding anything to the main package.
import PackageDescription

let package = Package(
    name: "loader-bench",
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1"),
        .target(name: "CartflowYAML", dependencies: ["CYAML"]),
        .target(name: "CartflowCore", dependencies: ["CartflowYAML"]),
        .executableTarget(name: "LoaderBench", dependencies: ["CartflowCore", "CartflowYAML", "CYAML"]),
    ],
    swiftLanguageModes: [.v6]
)
