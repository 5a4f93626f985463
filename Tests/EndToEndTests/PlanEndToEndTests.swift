import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// A sandbox in the test process that knows the collections of both example workflows, and a scratch folder
/// holding copies of them, for running the built `cartflow plan`.
final class PlanBench {
    static let key = "pub-plan.K3y/With=Odd&Chars+Secret"
    static let now = "2026-06-20T09:00:00Z"
    let directory: URL
    let server: SandboxServer
    let logPath: String

    init(credits: Int = 5_000, completion: RunnerCompletion = .afterHistoryReads(2), faults: SandboxFaults = .none)
        throws
    {
        directory = try CartflowProcess.temporaryDirectory("plan-e2e")
        logPath = directory.appendingPathComponent("sandbox.log").path
        var configuration = SandboxConfiguration(
            apiKey: Self.key,
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "AU Phones", items: 120),
                SandboxCollection(id: 205, name: "AU Monitors", items: 80),
                // Not the workflow's `items: 40`: the plan must show the checked count and say that it differs.
                SandboxCollection(id: 311, name: "Officeworks Chairs", items: 42),
            ])
        configuration.availableCredits = credits
        configuration.completion = completion
        configuration.logPath = logPath
        configuration.faults = faults
        configuration.seed = 42
        server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        let workflows = directory.appendingPathComponent("workflows")
        try FileManager.default.createDirectory(at: workflows, withIntermediateDirectories: true)
        for name in ["demo.yaml", "au-price-watch.yaml"] {
            try FileManager.default.copyItem(
                at: repositoryRoot.appendingPathComponent("workflows/\(name)"),
                to: workflows.appendingPathComponent(name))
        }
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var baseURL: String { server.baseURL!.absoluteString }

    /// Runs `cartflow` in the scratch folder against the sandbox (the key and base URL from the environment).
    func cartflow(_ arguments: [String], key: String = PlanBench.key, baseURL: String? = nil) async throws
        -> CartflowProcess.Result
    {
        try await CartflowProcess.run(
            arguments, in: directory,
            environment: ["MULTICART_API_KEY": key, "MULTICART_BASE_URL": baseURL ?? self.baseURL])
    }

    /// Stdout with the sandbox's ephemeral port replaced, so golden files do not depend on it.
    func stable(_ text: String) -> String {
        text.replacingOccurrences(of: baseURL, with: "http://127.0.0.1:PORT/api/v1")
    }

    func write(_ relative: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(relative), atomically: true, encoding: .utf8)
    }
}

/// Compares with `Golden/<name>` byte for byte; `CARTFLOW_RECORD_GOLDEN=1` (re)writes it instead.
func expectPlanGolden(_ actual: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation)
    throws
{
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
    if ProcessInfo.processInfo.environment["CARTFLOW_RECORD_GOLDEN"] == "1" {
        try Data(actual.utf8).write(to: url)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if expected != actual {
        let old = expected.components(separatedBy: "\n")
        let new = actual.components(separatedBy: "\n")
        var diff: [String] = []
        for index in 0..<max(old.count, new.count) {
            let a = index < old.count ? old[index] : nil
            let b = index < new.count ? new[index] : nil
            if a == b {
                diff.append("  \(a ?? "")")
            } else {
                if let a { diff.append("- \(a)") }
                if let b { diff.append("+ \(b)") }
            }
        }
        Issue.record(
            Comment(
                rawValue: "output differs from Golden/\(name) (re-record with CARTFLOW_RECORD_GOLDEN=1):\n"
                    + diff.joined(separator: "\n")),
            sourceLocation: sourceLocation)
    }
}

@Suite(.serialized) struct PlanEndToEndTests {
    @Test(arguments: ["demo", "au-price-watch"])
    func goldenPlansAgainstTheSandbox(workflow: String) async throws {
        let bench = try PlanBench()
        let text = try await bench.cartflow(["plan", "workflows/\(workflow).yaml", "--now", PlanBench.now])
        #expect(text.exitCode == 0, "stderr: \(text.stderr)")
        try expectPlanGolden(bench.stable(text.stdout), "plan-\(workflow)-sandbox.txt")
        let json = try await bench.cartflow(["plan", "workflows/\(workflow).yaml", "--json", "--now", PlanBench.now])
        #expect(json.exitCode == 0, "stderr: \(json.stderr)")
        try expectPlanGolden(bench.stable(json.stdout), "plan-\(workflow)-sandbox.json")
        #expect(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) is [String: Any])
    }

    @Test(arguments: ["demo", "au-price-watch"])
    func goldenPlansOffline(workflow: String) async throws {
        let bench = try PlanBench()
        // No key and an API address that would fail: offline must not care.
        let text = try await bench.cartflow(
            ["plan", "workflows/\(workflow).yaml", "--offline", "--now", PlanBench.now], key: "",
            baseURL: "http://127.0.0.1:9/api/v1")
        #expect(text.exitCode == 0, "stderr: \(text.stderr)")
        // Offline needs no key: no CF117 warning that it is unset.
        #expect(!text.stderr.contains("CF117"), "stderr: \(text.stderr)")
        try expectPlanGolden(text.stdout, "plan-\(workflow)-offline.txt")
        let json = try await bench.cartflow(
            ["plan", "workflows/\(workflow).yaml", "--offline", "--json", "--now", PlanBench.now], key: "")
        #expect(json.exitCode == 0, "stderr: \(json.stderr)")
        try expectPlanGolden(json.stdout, "plan-\(workflow)-offline.json")
        #expect(bench.server.requestLog().isEmpty, "offline asked the sandbox something")
    }

    /// The dry run only reads: the sandbox's request log shows credits, ASIN counts and history, never a trigger,
    /// every call carried the key, and the key is in no output.
    @Test func planCallsOnlyReadOnlyEndpointsAndNeverShowsTheKey() async throws {
        let bench = try PlanBench()
        let before = bench.server.snapshot()
        var outputs: [String] = []
        for extra in [[], ["--json"], ["--verbose"]] {
            let result = try await bench.cartflow(
                ["plan", "workflows/demo.yaml", "workflows/au-price-watch.yaml"] + extra)
            #expect(result.exitCode == 0, "stderr: \(result.stderr)")
            outputs += [result.stdout, result.stderr]
        }
        let log = bench.server.requestLog()
        // Per plan: one balance, then an item count and a history read per collection (demo 2, au-price-watch 3).
        let expectedCalls = 3 * ((1 + 2 * 2) + (1 + 3 * 2))
        #expect(log.count == expectedCalls)
        #expect(Set(log.map(\.endpoint)).isSubset(of: SandboxEndpoint.readOnlyJSON))
        #expect(!log.contains { $0.endpoint == .trigger })
        #expect(log.allSatisfy { $0.keyPresent })
        // The log file on disk says the same.
        let logText = try String(contentsOfFile: bench.logPath, encoding: .utf8)
        let lines = logText.split(separator: "\n").map(String.init)
        #expect(lines.count == log.count)
        #expect(!lines.contains { $0.contains("\"endpoint\":\"trigger\"") })
        #expect(bench.server.snapshot().spendableCredits == before.spendableCredits)
        let encoded = PlanBench.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for text in outputs + lines {
            #expect(!text.contains(PlanBench.key))
            #expect(!text.contains(encoded))
            #expect(!text.contains("Secret"))
        }
    }

    @Test func aShortBalanceExitsFourWithTheNumbers() async throws {
        let bench = try PlanBench(credits: 300)
        let text = try await bench.cartflow(["plan", "workflows/demo.yaml"])
        #expect(text.exitCode == 4, "stderr: \(text.stderr)")
        #expect(text.stdout.contains("verdict: blocked: needs 370 + reserve 100, has 300\n"))
        #expect(text.stdout.contains("spendable         300  checked"))
        #expect(text.stdout.contains("balance after     -70 "))
        let json = try await bench.cartflow(["plan", "workflows/demo.yaml", "--json"])
        #expect(json.exitCode == 4)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["outcome"] as? String == "blocked")
        #expect(verdict["reasons"] as? [String] == ["needs 370 + reserve 100, has 300"])
        let credits = try #require(document["credits"] as? [String: Any])
        #expect((credits["spendable"] as? [String: Any])?["value"] as? Int == 300)
        #expect(credits["total"] as? Int == 370)
        #expect(credits["balance_after"] as? Int == -70)
        #expect(credits["reserve"] as? Int == 100)
        // on_insufficient: skip is not a run either.
        let skip = try await bench.cartflow(["plan", "workflows/au-price-watch.yaml"])
        #expect(skip.exitCode == 4)
        #expect(skip.stdout.contains("verdict: skipped (on_insufficient: skip): needs 372 + reserve 500, has 300\n"))
        #expect(!bench.server.requestLog().contains { $0.endpoint == .trigger })
    }

    @Test func aRunnerProcessingOnTheServerIsShown() async throws {
        let bench = try PlanBench(completion: .never)
        let runner = try #require(bench.server.startRunner(collection: 102))
        let result = try await bench.cartflow(["plan", "workflows/demo.yaml"])
        // `run` would get a 409 conflict for phones and end partial: not "runs", and not exit 0.
        #expect(result.exitCode == 6, "stderr: \(result.stderr)")
        #expect(
            result.stdout.contains(
                "verdict: partial: needs 370 + reserve 100, has 4880; within max_spend 1000; phones is processing "
                    + "on the server (runner \(runner), not started by this workflow): run's trigger would be refused "
                    + "(409 conflict) while it runs, so the run ends partial"))
        #expect(result.stdout.contains("server, phones (102): runner \(runner) is processing since "))
        #expect(result.stdout.contains("! phones: runner \(runner) of collection 102 is processing now"))
    }

    /// A run stopped by its poll timeout is unfinished: the plan says `run` resumes it, triggers nothing, and
    /// names the files after that run and its runners.
    @Test func anUnfinishedRunIsShownAsResumed() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = .always
        let bench = try PlanBench(faults: faults)
        try bench.write(
            "quick.yaml",
            """
            cartflow: 1
            name: quick
            collections:
              laptops: { id: 101, items: 250 }
            poll: { interval: 1s, max_interval: 1s, timeout: 1s }
            steps:
              - export: csv
                path: out/{collection}-{runner}.csv

            """)
        let run = try await bench.cartflow(["run", "quick.yaml"])
        #expect(run.exitCode == 5, "stderr: \(run.stderr)")
        let triggers = bench.server.requestLog().filter { $0.endpoint == .trigger }
        let runner = try #require(triggers.first?.runnerID)
        #expect(triggers.count == 1)
        let plan = try await bench.cartflow(["plan", "quick.yaml"])
        #expect(plan.exitCode == 0, "stderr: \(plan.stderr)")
        #expect(plan.stdout.contains("verdict: runs: resumes run #1; nothing to trigger, no credits spent\n"))
        #expect(plan.stdout.contains("run #1 (timed_out, started "))
        #expect(
            plan.stdout.contains("laptops: timed_out: polls runner \(runner) and fetches its files, no new trigger"))
        #expect(plan.stdout.contains("this workflow's unfinished run; run polls it"))
        #expect(plan.stdout.contains("out/laptops-\(runner).csv"))
        #expect(bench.server.requestLog().filter { $0.endpoint == .trigger }.count == 1)
    }

    @Test func theAPIUnreachableOrTheKeyRefusedExitsOneAndOfflineStillWorks() async throws {
        let bench = try PlanBench()
        let refused = try await bench.cartflow(["plan", "workflows/demo.yaml"], key: "wrong.key")
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.contains("could not plan workflows/demo.yaml"))
        #expect(refused.stderr.contains("--offline"))
        #expect(refused.stdout.isEmpty)
        let closed = SandboxServer(configuration: SandboxConfiguration(apiKey: "x", collections: []))
        let url = try closed.start(port: 0)
        closed.stop()
        let unreachable = try await bench.cartflow(["plan", "workflows/demo.yaml"], baseURL: url.absoluteString)
        #expect(unreachable.exitCode == 1)
        #expect(unreachable.stderr.contains("could not reach"))
        let offline = try await bench.cartflow(
            ["plan", "workflows/demo.yaml", "--offline"], baseURL: url.absoluteString)
        #expect(offline.exitCode == 0)
        #expect(offline.stdout.contains("offline: nothing was asked of the API"))
    }

    /// Credentials in MULTICART_BASE_URL are refused like credentials in `api.base_url`: never used, never shown.
    @Test(arguments: [
        ["plan", "workflows/demo.yaml"], ["plan", "--json", "workflows/demo.yaml"], ["run", "workflows/demo.yaml"],
        ["schedule", "--once", "workflows"], ["status", "workflows/demo.yaml"],
    ])
    func aBaseURLWithCredentialsFromTheEnvironmentIsRefused(arguments: [String]) async throws {
        let bench = try PlanBench()
        let withCredentials = bench.baseURL.replacingOccurrences(of: "http://", with: "http://bob:hunter2@")
        let result = try await bench.cartflow(arguments, baseURL: withCredentials)
        #expect(result.exitCode == 2, "stderr: \(result.stderr)")
        #expect(
            result.stderr.contains(
                "MULTICART_BASE_URL must be an http or https URL such as https://multicartapi.com/api/v1, got "
                    + "'\(bench.baseURL)'; credentials do not belong in the URL"))
        #expect(!(result.stdout + result.stderr).contains("hunter2"))
        #expect(!(result.stdout + result.stderr).contains("bob"))
        #expect(bench.server.requestLog().isEmpty)
    }

    /// A malformed URL hides its userinfo from URL parsing, and the key may sit in a host or a path: the
    /// message says what is wrong and shows neither.
    @Test func aRefusedBaseURLEchoesNoCredentialsAndNoKey() async throws {
        let bench = try PlanBench()
        let encodedKey = PlanBench.key.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!
        let cases: [(url: String, shown: String, problem: String)] = [
            ("bob:hunter2@127.0.0.1", "<credentials>@127.0.0.1", "it must start with https:// or http://"),
            (
                "http:/bob:hunter2@127.0.0.1/", "http:/<credentials>@127.0.0.1/",
                "it must start with https:// or http://"
            ),
            (
                "https://h.example/\(PlanBench.key)/?x=1", "https://h.example/<the API key>/?x=1",
                "it must not have a query or fragment"
            ),
            (
                "https://h.example/\(encodedKey)/?x=1", "https://h.example/<the API key>/?x=1",
                "it must not have a query or fragment"
            ),
        ]
        for (url, shown, problem) in cases {
            let result = try await bench.cartflow(["plan", "--offline", "workflows/demo.yaml"], baseURL: url)
            #expect(result.exitCode == 2, "\(url): \(result.stderr)")
            #expect(
                result.stderr.hasPrefix(
                    "cartflow plan: MULTICART_BASE_URL must be an http or https URL such as "
                        + "https://multicartapi.com/api/v1, got '\(shown)'; \(problem)\n"), "\(url): \(result.stderr)")
            for secret in ["hunter2", "bob", PlanBench.key, encodedKey, "K3y"] {
                #expect(!(result.stdout + result.stderr).contains(secret), "\(url)")
            }
        }
    }

    /// `plan`, `run` and `schedule` name a file in their diagnostics as `validate` does — as given, not as the
    /// absolute path it was read by — and `validate` checks a file named twice once.
    @Test func diagnosticsNameTheFileAsGivenByEveryCommand() async throws {
        let bench = try PlanBench()
        try bench.write(
            "bad.yaml", "cartflow: 1\ncollections:\n  a: { id: 010 }\nschedule: { every: daily, at: \"08:00\" }\n")
        let headline =
            "bad.yaml:3:12: error: 'collections.a.id' must be a whole number from 1 to 2147483647, got '010'; "
            + "numbers are decimal and a leading zero is not allowed (it would mean octal in YAML 1.1); write 10 [CF105]\n"
        for arguments in [
            ["validate", "bad.yaml"], ["plan", "--offline", "bad.yaml"], ["run", "bad.yaml"],
            ["schedule", "--once", "bad.yaml"],
        ] {
            let result = try await bench.cartflow(arguments)
            #expect(result.exitCode == 3, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix(headline), "\(arguments): \(result.stderr)")
            // (The scheduler's own log lines are timestamped and name the files it watches by their paths.)
            let diagnostics = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("[") }
            #expect(!diagnostics.contains { $0.contains(bench.directory.path) }, "\(arguments)")
        }
        let twice = try await bench.cartflow(["validate", "bad.yaml", "bad.yaml", "./bad.yaml"])
        #expect(twice.stderr.components(separatedBy: "[CF105]").count == 2, "\(twice.stderr)")
        #expect(twice.stderr.hasSuffix("1 file checked: 1 invalid, 1 error, 0 warnings\n"), "\(twice.stderr)")
    }

    @Test func severalFilesExitWithTheWorstCode() async throws {
        let bench = try PlanBench(credits: 300)
        try bench.write("bad.yaml", "cartflow: 1\ncollections:\n  a: { id: 010 }\n")
        let blocked = try await bench.cartflow(["plan", "workflows/demo.yaml", "workflows/au-price-watch.yaml"])
        #expect(blocked.exitCode == 4)
        #expect(blocked.stdout.components(separatedBy: "\nplan: ").count == 2)
        let mixed = try await bench.cartflow(["plan", "--json", "workflows/demo.yaml", "bad.yaml"])
        #expect(mixed.exitCode == 3)
        #expect(mixed.stderr.contains("bad.yaml:3:"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(mixed.stdout.utf8)) as? [String: Any])
        #expect(document["format_version"] as? Int == 1)
        let plans = try #require(document["plans"] as? [[String: Any]])
        #expect(plans.count == 2)
        #expect(plans[0]["workflow"] as? String == "demo")
        #expect(plans[1]["exit_code"] as? Int == 3)
    }

    @Test func theEmbeddedSandboxPlansWithoutAnAccount() async throws {
        let bench = try PlanBench()
        let result = try await CartflowProcess.run(
            ["plan", "workflows/demo.yaml", "--sandbox", "--sandbox-credits", "400"], in: bench.directory)
        #expect(result.exitCode == 4, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("facts from the embedded sandbox"))
        #expect(result.stdout.contains("verdict: blocked: needs 370 + reserve 100, has 400\n"))
    }

    @Test(arguments: [("text", "graph-demo.txt"), ("dot", "graph-demo.dot"), ("mermaid", "graph-demo.mmd")])
    func graphCommandDrawsTheSameGraph(format: String, golden: String) async throws {
        let bench = try PlanBench()
        let result = try await CartflowProcess.run(
            ["graph", "workflows/demo.yaml", "--format", format], in: bench.directory)
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let expected = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Tests/CartflowCoreTests/Golden/\(golden)"),
            encoding: .utf8)
        #expect(result.stdout == expected)
        #expect(bench.server.requestLog().isEmpty)
    }
}
