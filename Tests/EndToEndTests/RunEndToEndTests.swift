import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A standalone sandbox in the test process, and a scratch folder holding a copy of a workflow file.
final class EndToEnd {
    let directory: URL
    let server: SandboxServer
    let key: String
    let logPath: String

    init(credits: Int = 100_000, key: String = "pub-e2e.S3cr3t/Key+With=Odd&Chars", faults: SandboxFaults = .none)
        throws
    {
        directory = try CartflowProcess.temporaryDirectory("e2e")
        logPath = directory.appendingPathComponent("sandbox.log").path
        self.key = key
        var configuration = SandboxConfiguration(
            apiKey: key,
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "AU Phones", items: 120),
            ])
        configuration.availableCredits = credits
        configuration.completion = .afterHistoryReads(1)
        configuration.logPath = logPath
        configuration.faults = faults
        configuration.seed = 42
        server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("workflows"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("workflows/demo.yaml"),
            to: directory.appendingPathComponent("workflows/demo.yaml"))
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func run(_ arguments: [String], key: String? = nil, baseURL: String? = nil) async throws -> CartflowProcess.Result {
        try await CartflowProcess.run(
            arguments, in: directory,
            environment: [
                "MULTICART_API_KEY": key ?? self.key,
                "MULTICART_BASE_URL": baseURL ?? server.baseURL!.absoluteString,
            ])
    }

    var triggers: Int { server.requestLog().filter { $0.endpoint == .trigger }.count }

    func file(_ relative: String) -> String? {
        try? String(contentsOf: directory.appendingPathComponent(relative), encoding: .utf8)
    }

    func files(under relative: String) -> [String] {
        let root = directory.appendingPathComponent(relative)
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return enumerator.compactMap { $0 as? String }.map { root.appendingPathComponent($0).path }
    }
}

@Suite(.serialized) struct RunEndToEndTests {
    @Test func normalRunExportsOneRecordPerScrapedItem() async throws {
        let e = try EndToEnd()
        let result = try await e.run(["run", "workflows/demo.yaml"])
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        #expect(e.triggers == 2)
        let csvPath = try #require(e.files(under: "out/demo").first { $0.hasSuffix(".csv") })
        let rows = try CSVReader.parse(try String(contentsOfFile: csvPath, encoding: .utf8))
        let header = try #require(rows.first)
        #expect(header.prefix(3) == ["collection", "runner", "asin"])
        // The sandbox's own truth: how many items of each of our runners succeeded.
        let runners = e.server.snapshot().runners.values.flatMap { $0 }.filter { r in
            e.server.requestLog().contains { $0.endpoint == .history } && !r.bySomeoneElse && r.isDownloadGenerated
        }
        let ours = runners.filter { runner in
            result.stdout.contains(" \(runner.id) ") || result.stdout.contains(" \(runner.id)?")
        }
        #expect(ours.count == 2)
        var expected = 0
        for runner in ours {
            var page = 1
            while let data = e.server.expectedFile(collection: runner.collection, runner: runner.id, page: page) {
                let records = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
                expected += records.filter { ($0["status"] as? String) != "failed" }.count
                page += 1
            }
        }
        #expect(expected > 0)
        #expect(rows.count - 1 == expected)
        #expect(result.stdout.contains("credits spent: 370"))
        let ndjson = try #require(e.files(under: "out/demo").first { $0.hasSuffix(".ndjson") })
        let lines = try String(contentsOfFile: ndjson, encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 0 && lines.count < 120)
    }

    /// A reader that goes away (`cartflow run … | head -c 1`) must not kill the run: it would die between its
    /// trigger intent and its trigger, or with a paid runner unfetched. Output is dropped; the run finishes.
    @Test func aClosedOutputPipeDoesNotStopTheRun() async throws {
        let e = try EndToEnd()
        /// Runs `cartflow ARGUMENTS 2>&1 | head -c 1` and returns cartflow's own exit status.
        func piped(_ arguments: String) async throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [
                "-c", "\"$0\" \(arguments) 2>&1 | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}",
                CartflowProcess.executable.path,
            ]
            process.currentDirectoryURL = e.directory
            var environment = ProcessInfo.processInfo.environment
            environment["MULTICART_API_KEY"] = e.key
            environment["MULTICART_BASE_URL"] = e.server.baseURL!.absoluteString
            process.environment = environment
            try process.run()
            return await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    continuation.resume(returning: process.terminationStatus)
                }
            }
        }
        #expect(try await piped("run workflows/demo.yaml --verbose") == 0)
        #expect(e.triggers == 2)
        #expect(e.files(under: "out/demo").contains { $0.hasSuffix(".csv") })
        #expect(e.files(under: "out/demo").contains { $0.hasSuffix(".ndjson") })
        // The same for a command that writes its result on stdout.
        #expect(try await piped("plan workflows/demo.yaml --offline") == 0)
    }

    @Test func creditGateRefusalExitsFourAndChangesNothing() async throws {
        let e = try EndToEnd(credits: 50)
        let before = e.server.snapshot()
        let result = try await e.run(["run", "workflows/demo.yaml"])
        #expect(result.exitCode == 4, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("blocked by credits"))
        #expect(e.triggers == 0)
        #expect(e.server.snapshot() == before)
        #expect(e.files(under: "out").isEmpty)
    }

    @Test func wrongKeyIsAClearAuthError() async throws {
        let e = try EndToEnd()
        let result = try await e.run(["run", "workflows/demo.yaml"], key: "wrong.key")
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("API key was refused"))
        #expect(e.triggers == 0)
    }

    @Test func unreachableAPIIsAClearError() async throws {
        let e = try EndToEnd()
        // A loopback port that nothing listens on: start a sandbox and stop it.
        let closed = SandboxServer(configuration: SandboxConfiguration(apiKey: "x", collections: []))
        let url = try closed.start(port: 0)
        closed.stop()
        let result = try await e.run(["run", "workflows/demo.yaml"], baseURL: url.absoluteString)
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("could not reach"))
        #expect(e.triggers == 0)
    }

    /// C28: the key shows nowhere — stdout, stderr, exports, downloads, the sandbox log, the state database.
    @Test func theKeyNeverShows() async throws {
        let e = try EndToEnd()
        let result = try await e.run(["run", "workflows/demo.yaml", "--verbose"])
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let encoded = e.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        var haystacks = [result.stdout, result.stderr]
        for path in e.files(under: "") {
            if let data = FileManager.default.contents(atPath: path) {
                haystacks.append(String(decoding: data, as: UTF8.self))
            }
        }
        #expect(haystacks.count > 5)
        for text in haystacks {
            #expect(!text.contains(e.key))
            #expect(!text.contains(encoded))
            #expect(!text.contains("S3cr3t"))
        }
    }

    @Test func embeddedSandboxRunsTheDemo() async throws {
        let e = try EndToEnd()
        let result = try await CartflowProcess.run(["run", "workflows/demo.yaml", "--sandbox"], in: e.directory)
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("demo: run #1 succeeded"))
        #expect(e.files(under: "out/demo").count == 2)
    }

    @Test func rerunAfterSuccessTriggersANewRun() async throws {
        let e = try EndToEnd()
        #expect(try await e.run(["run", "workflows/demo.yaml"]).exitCode == 0)
        #expect(try await e.run(["run", "workflows/demo.yaml"]).exitCode == 0)
        #expect(e.triggers == 4)
    }
}

@Suite struct CLIEndToEndTests {
    @Test func versionHelpAndUsageErrors() async throws {
        let directory = try CartflowProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let version = try await CartflowProcess.run(["--version"], in: directory)
        #expect(version.exitCode == 0 && version.stdout.hasPrefix("cartflow "))
        let help = try await CartflowProcess.run(["run", "--help"], in: directory)
        #expect(help.exitCode == 0 && help.stdout.contains("USAGE: cartflow run FILE"))
        let unknown = try await CartflowProcess.run(["rnu"], in: directory)
        #expect(unknown.exitCode == 2 && unknown.stderr.contains("did you mean 'run'"))
        let badFlag = try await CartflowProcess.run(["run", "x.yaml", "--sandbx"], in: directory)
        #expect(badFlag.exitCode == 2 && badFlag.stderr.contains("did you mean '--sandbox'"))
        let helpOfUnknown = try await CartflowProcess.run(["help", "rnu"], in: directory)
        #expect(helpOfUnknown.exitCode == 2 && helpOfUnknown.stderr.contains("did you mean 'run'"))
        #expect(helpOfUnknown.stdout.isEmpty)
        let both = try await CartflowProcess.run(["validate", "-q", "x.yaml", "--verbose"], in: directory)
        #expect(both.exitCode == 2, "stderr: \(both.stderr)")
        #expect(both.stderr.contains("-q and --verbose exclude each other; give one"))
        let twice = try await CartflowProcess.run(["validate", "-v", "--verbose", "--format", "json"], in: directory)
        #expect(twice.exitCode == 3, "a flag given twice is the flag once: \(twice.stderr)")
    }

    @Test func invalidWorkflowExitsThree() async throws {
        let directory = try CartflowProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "cartflow: 1\ncollections:\n  a: { id: 010 }\n".write(
            to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let result = try await CartflowProcess.run(["run", "bad.yaml", "--sandbox"], in: directory)
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("bad.yaml:3:"))
    }

    @Test func missingKeyIsClear() async throws {
        let directory = try CartflowProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("workflows/demo.yaml"),
            to: directory.appendingPathComponent("demo.yaml"))
        let result = try await CartflowProcess.run(["run", "demo.yaml"], in: directory)
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("MULTICART_API_KEY"))
    }

    @Test func initScaffoldsAWorkflowThatValidatesAndRunsOnTheSandbox() async throws {
        let directory = try CartflowProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let created = try await CartflowProcess.run(["init", "price-watch"], in: directory)
        #expect(created.exitCode == 0)
        #expect(created.stdout.hasSuffix("workflows/price-watch.yaml\n"))
        let validate = try await CartflowProcess.run(["validate"], in: directory)
        #expect(validate.exitCode == 0, "\(validate.stderr)")
        let run = try await CartflowProcess.run(["run", "workflows/price-watch.yaml", "--sandbox"], in: directory)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let again = try await CartflowProcess.run(["init", "price-watch"], in: directory)
        #expect(again.exitCode == 1 && again.stderr.contains("exists; keeping it"))
        let badName = try await CartflowProcess.run(["init", "../escape"], in: directory)
        #expect(badName.exitCode == 2)
    }

    /// Every example in workflows/ runs end to end on the embedded sandbox, as the README promises.
    @Test func everyExampleWorkflowRunsOnTheSandbox() async throws {
        let examples = try FileManager.default.contentsOfDirectory(
            atPath: repositoryRoot.appendingPathComponent("workflows").path
        )
        .filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(examples.count >= 2)
        for example in examples {
            let directory = try CartflowProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try FileManager.default.copyItem(
                at: repositoryRoot.appendingPathComponent("workflows"),
                to: directory.appendingPathComponent("workflows"))
            let result = try await CartflowProcess.run(["run", "workflows/\(example)", "--sandbox"], in: directory)
            #expect(result.exitCode == 0, "\(example): \(result.stderr)")
            #expect(result.stdout.contains("succeeded"), "\(example)")
        }
    }
}
