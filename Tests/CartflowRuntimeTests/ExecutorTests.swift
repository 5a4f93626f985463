import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// The executor against the real sandbox over loopback, with a test clock so polling takes no wall time.
final class ExecutorHarness {
    let directory: URL
    let server: SandboxServer
    let key = "test-key.SECRET-\(UUID().uuidString.prefix(8))"
    let clock = TestClock()
    let state: StateStore
    let lines = LineLog()

    init(
        credits: Int = 10_000,
        collections: [SandboxCollection] = [SandboxCollection(id: 101, name: "AU Laptops", items: 250)],
        completion: RunnerCompletion = .afterHistoryReads(3), faults: SandboxFaults = .none,
        configure: (inout SandboxConfiguration) -> Void = { _ in }
    ) throws {
        directory = try CartflowProcess.temporaryDirectory("executor")
        var configuration = SandboxConfiguration(apiKey: key, collections: collections)
        configuration.availableCredits = credits
        configuration.completion = completion
        configuration.faults = faults
        configuration.seed = 7
        configure(&configuration)
        server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        state = try StateStore(path: directory.appendingPathComponent("state.db").path)
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func workflow(
        collections: [CollectionSpec] = [CollectionSpec(name: "laptops", id: 101, items: 250)],
        credits: CreditRules = CreditRules(), steps: [ExportStep]? = nil, fetch: FetchConfig = FetchConfig(),
        poll: PollConfig = PollConfig(
            interval: Seconds(10), maxInterval: Seconds(60), timeout: Seconds(600), attributionGrace: Seconds(60))
    ) -> Workflow {
        Workflow(
            name: "wf", sourcePath: "wf.yaml", api: APIConfig(baseURL: server.baseURL!.absoluteString),
            collections: collections, credits: credits, poll: poll, fetch: fetch,
            steps: steps ?? [ExportStep(format: .csv, path: "out/{workflow}.csv")])
    }

    /// An executor on the harness's sandbox and test clock; `transport` (default: real HTTP to the sandbox) and
    /// `clock` replace them, `configure` adjusts the options.
    func executor(
        _ workflow: Workflow, startNew: Bool = false, transport: (any HTTPTransport)? = nil,
        clock: (any RuntimeClock)? = nil, configure: (inout Executor.Options) -> Void = { _ in }
    ) -> Executor {
        let client = MultiCartClient(
            baseURL: server.baseURL!, apiKey: key, transport: transport ?? URLSessionTransport(),
            retry: RetryPolicy(maxAttempts: 4), sleep: { _ in }, random: { 0 })
        var options = Executor.Options(
            downloadsDirectory: directory.appendingPathComponent("downloads").path,
            workingDirectory: directory.path, startNew: startNew)
        configure(&options)
        return Executor(
            workflow: workflow, client: client, state: state, clock: clock ?? self.clock, options: options,
            progress: { [lines] in lines.append($0) }, detail: { [lines] in lines.append($0) })
    }

    var triggers: Int { server.requestLog().filter { $0.endpoint == .trigger }.count }
}

final class LineLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

@Suite struct ExecutorTests {
    @Test func runsEndToEndAndExportsEveryScrapedItem() async throws {
        let h = try ExecutorHarness()
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
        let result = try #require(report.collections.first)
        #expect(result.runnerID != nil)
        #expect(result.attribution == "exact")
        #expect(result.items == 250)
        #expect(result.creditsSpent == 250)
        #expect(result.files == 3)
        let export = try #require(report.exports.first)
        #expect(export.records == (result.exacted ?? -1))
        #expect(export.summaryLine == "out/wf.csv  (\(export.records) records, csv)")
        #expect(FileManager.default.fileExists(atPath: h.directory.appendingPathComponent("out/wf.csv").path))
        #expect(!h.lines.all.joined().contains(h.key))
    }

    /// Templates the loader cannot tell apart may name one file on the day: the second step is not written over
    /// the first one's file, and says why.
    @Test func aStepDoesNotReplaceAFileAnotherStepWroteInTheRun() async throws {
        let h = try ExecutorHarness()
        let steps = [
            ExportStep(format: .csv, path: "out/{run}.txt"), ExportStep(format: .ndjson, path: "out/./1.txt"),
            ExportStep(format: .json, path: "out/{workflow}.json"),
        ]
        let report = try await h.executor(h.workflow(steps: steps)).run()
        #expect(report.runID == 1)
        #expect(report.outcome == .failed)
        #expect(report.exports.map(\.path) == ["out/1.txt", "out/wf.json"])
        #expect(
            report.messages.contains(
                "step 2 (ndjson → out/./1.txt) failed: out/./1.txt is written by step 1 in this run, and step 2 would "
                    + "replace it; give the two steps different paths (their templates differ, but name one file on "
                    + "this run's date, time or number)"))
        let written = try String(contentsOf: h.directory.appendingPathComponent("out/1.txt"), encoding: .utf8)
        #expect(!written.hasPrefix("{"), "the CSV of step 1 stays")
    }

    @Test func reserveBlocksBeforeAnyTrigger() async throws {
        let h = try ExecutorHarness(credits: 300)
        let report = try await h.executor(h.workflow(credits: CreditRules(reserve: 100))).run()
        #expect(report.outcome == .blocked)
        #expect(report.messages.first == "blocked by credits: needs 250 + reserve 100, has 300")
        #expect(h.triggers == 0)
        #expect(h.server.snapshot().spendableCredits == 300)
    }

    @Test func maxSpendBlocks() async throws {
        let h = try ExecutorHarness()
        let report = try await h.executor(h.workflow(credits: CreditRules(maxSpend: 100))).run()
        #expect(report.outcome == .blocked)
        #expect(report.messages.first?.contains("credits.max_spend is 100") == true)
        #expect(h.triggers == 0)
    }

    @Test func skipIsRecordedAndSpendsNothing() async throws {
        let h = try ExecutorHarness(credits: 10)
        let report = try await h.executor(h.workflow(credits: CreditRules(onInsufficient: .skip))).run()
        #expect(report.outcome == .skipped)
        #expect(h.triggers == 0)
    }

    @Test func waitPollsTheBalanceUpToItsLimit() async throws {
        let h = try ExecutorHarness(credits: 10)
        let rules = CreditRules(onInsufficient: .wait(limit: Seconds(600), interval: Seconds(120)))
        let report = try await h.executor(h.workflow(credits: rules)).run()
        #expect(report.outcome == .blocked)
        #expect(h.clock.recordedSleeps.filter { $0 == .seconds(120) }.count == 5)
        #expect(h.triggers == 0)
    }

    /// `on_insufficient: wait` waits only for what credits can fix: a spending limit broken (even with the
    /// balance short too) blocks at once instead of polling the balance for the whole limit.
    @Test(arguments: [10_000, 10])
    func waitDoesNotWaitForWhatCreditsCannotFix(credits: Int) async throws {
        let h = try ExecutorHarness(credits: credits)
        let rules = CreditRules(maxSpend: 100, onInsufficient: .wait(limit: Seconds(3600), interval: Seconds(120)))
        let report = try await h.executor(h.workflow(credits: rules)).run()
        #expect(report.outcome == .blocked)
        #expect(h.clock.recordedSleeps.filter { $0 == .seconds(120) }.isEmpty)
        #expect(
            report.messages.first?.hasSuffix(
                "credits.max_spend is 100 (not waited for: more credits would not change it)") == true
                || report.messages.first?.hasSuffix("has 10 (not waited for: more credits would not change it)")
                    == true,
            "\(report.messages)")
        #expect(h.triggers == 0)
    }

    /// What the plan's `partial` verdict promises: a collection someone else's runner is processing is refused
    /// (409 conflict, nothing spent for it), the others are triggered and fetched, the run ends partial.
    @Test func aCollectionProcessingElsewhereIsRefusedAndTheRunEndsPartial() async throws {
        let h = try ExecutorHarness(collections: [
            SandboxCollection(id: 101, name: "AU Laptops", items: 250),
            SandboxCollection(id: 102, name: "AU Phones", items: 120),
        ])
        let theirs = try #require(h.server.startRunner(collection: 102))
        let report = try await h.executor(
            h.workflow(collections: [
                CollectionSpec(name: "laptops", id: 101, items: 250),
                CollectionSpec(name: "phones", id: 102, items: 120),
            ])
        ).run()
        #expect(report.outcome == .partial)
        #expect(h.triggers == 2)
        #expect(report.messages.contains { $0.hasPrefix("phones: ") && $0.contains("already processing") })
        #expect(report.collections.first { $0.name == "phones" }?.runnerID != theirs)
        #expect(report.collections.first { $0.name == "phones" }?.creditsSpent == 0)
    }

    /// The workflow's own check passes on a stale `items:` hint (the count endpoint is down), but the
    /// server's credit gate refuses: blocked, nothing queued, nothing deducted.
    @Test func creditGateRefusalIsBlockedAndNothingIsDeducted() async throws {
        var faults = SandboxFaults()
        faults.envelopeError = FaultRule(probability: 1, endpoints: [.asinList])
        let h = try ExecutorHarness(credits: 100, faults: faults)
        let workflow = h.workflow(collections: [CollectionSpec(name: "laptops", id: 101, items: 50)])
        let report = try await h.executor(workflow).run()
        #expect(report.outcome == .blocked)
        #expect(report.messages.contains { $0.contains("credit gate") && $0.contains("you need 250 but have 100") })
        // The collection is named once at the start of each message, not twice.
        #expect(report.messages.allSatisfy { !$0.hasPrefix("laptops: laptops:") })
        #expect(h.triggers == 1)
        #expect(h.server.snapshot().spendableCredits == 100)
        #expect(h.server.snapshot().runners[101]?.count == h.server.configuration.existingRunners)
    }

    /// C17: someone else's runner starts right after ours; we adopt the earliest and say it was ambiguous.
    @Test func rivalRunnerIsRecordedAsAmbiguous() async throws {
        var faults = SandboxFaults()
        faults.rivalRunner = .always
        let h = try ExecutorHarness(faults: faults)
        let report = try await h.executor(h.workflow()).run()
        let result = try #require(report.collections.first)
        #expect(result.attribution == "ambiguous")
        let ours = try #require(
            h.server.snapshot().runners[101]?.first { !$0.bySomeoneElse && $0.id == result.runnerID })
        #expect(ours.id == result.runnerID)
        #expect(h.triggers == 1)
    }

    /// C18: a runner that never finishes stops at the timeout with the runner kept; the next run resumes
    /// polling without a new trigger.
    @Test func pollTimeoutKeepsTheRunnerAndResumesWithoutATrigger() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        let h = try ExecutorHarness(faults: faults)
        let first = try await h.executor(h.workflow()).run()
        #expect(first.outcome == .timedOut)
        let runner = try #require(first.collections.first?.runnerID)
        #expect(
            first.messages == ["laptops: runner \(runner) is still running at the poll timeout; run again to resume"])
        #expect(h.triggers == 1)
        // Polling backed off: 10s, 15s, 22.5s, … capped at 60s.
        #expect(h.clock.recordedSleeps.contains(.seconds(60)))
        #expect(h.clock.recordedSleeps.filter { $0 > .seconds(60) }.isEmpty)

        h.server.finishRunner(runner)
        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(second.collections.first?.runnerID == runner)
        #expect(h.triggers == 1)
        #expect(second.collections.first?.creditsSpent == 0 || second.collections.first?.creditsSpent == 250)
    }

    /// A collection removed from the file while its paid runner was still unfetched is not silently forgotten:
    /// the resumed run says which runner it leaves behind.
    @Test func aCollectionRemovedFromTheFileIsNamedWithItsUnfetchedRunner() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        let h = try ExecutorHarness(
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "AU Phones", items: 120),
            ], faults: faults)
        let both = [
            CollectionSpec(name: "laptops", id: 101, items: 250), CollectionSpec(name: "phones", id: 102, items: 120),
        ]
        let first = try await h.executor(h.workflow(collections: both)).run()
        #expect(first.outcome == .timedOut)
        // The two triggers race: whichever was queued first got the runner that never finishes.
        let stuck = try #require(first.collections.first { $0.phase == "timed_out" })
        let stuckRunner = try #require(stuck.runnerID)

        let edited = h.workflow(collections: both.filter { $0.name != stuck.name })
        let second = try await h.executor(edited).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(
            second.messages.contains(
                "\(stuck.name): no longer in the workflow; its runner \(stuckRunner) (paid for) was not fetched and "
                    + "is left behind"))
        #expect(h.triggers == 2)
    }

    /// An API error before any trigger (the key refused) ends the run `failed` with the reason, not `running`
    /// with no process behind it; the next run resumes it and triggers normally.
    @Test func anAPIErrorBeforeTheTriggerLeavesTheRunFailedAndResumable() async throws {
        let h = try ExecutorHarness()
        let client = MultiCartClient(baseURL: h.server.baseURL!, apiKey: "wrong", retry: .none, sleep: { _ in })
        let refused = Executor(
            workflow: h.workflow(), client: client, state: h.state, clock: h.clock,
            options: Executor.Options(
                downloadsDirectory: h.directory.appendingPathComponent("downloads").path,
                workingDirectory: h.directory.path),
            progress: { _ in }, detail: { _ in })
        await #expect(throws: MultiCartError.self) { try await refused.run() }
        let failed = try #require(try h.state.runs(workflow: "wf").first)
        #expect(failed.status == "failed")
        #expect(h.triggers == 0)

        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(h.triggers == 1)
    }

    @Test func newStartsAFreshRunOnPurpose() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        let h = try ExecutorHarness(faults: faults)
        let first = try await h.executor(h.workflow()).run()
        // The sandbox refuses a second run while the first is processing (409); let it finish first.
        h.server.finishRunner(try #require(first.collections.first?.runnerID))
        let fresh = try await h.executor(h.workflow(), startNew: true).run()
        #expect(fresh.outcome == .succeeded)
        #expect(!fresh.resumed)
        #expect(h.triggers == 2)
        #expect(try h.state.runs(workflow: "wf").map(\.status) == ["succeeded", "abandoned"])
    }

    /// `--new` gives up a paid runner that was never fetched: it says so, naming it, instead of a bare "abandoned".
    @Test func newNamesThePaidRunnerItLeavesBehind() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        let h = try ExecutorHarness(faults: faults)
        let first = try await h.executor(h.workflow()).run()
        let runner = try #require(first.collections.first?.runnerID)
        h.server.finishRunner(runner)
        _ = try await h.executor(h.workflow(), startNew: true).run()
        #expect(
            h.lines.all.contains {
                $0.hasPrefix("abandoned unfinished run #1 (--new); left behind: ")
                    && $0.contains("runner \(runner) (paid for, not fetched)")
            }, "\(h.lines.all)")
    }

    /// The `scraped_at` provenance column is the runner's time from the run history (its `updated_at`), as
    /// docs/exports.md says, in the run's export and in `cartflow export --run` alike, not the local trigger time.
    @Test func scrapedAtIsTheRunnersTimeFromTheRunHistory() async throws {
        let h = try ExecutorHarness()
        let step = ExportStep(
            format: .csv, path: "out/wf.csv", columns: [ColumnSpec("asin")], provenance: [.scrapedAt])
        let report = try await h.executor(h.workflow(steps: [step])).run()
        #expect(report.outcome == .succeeded)
        let runnerID = try #require(report.collections.first?.runnerID)
        let client = MultiCartClient(
            baseURL: h.server.baseURL!, apiKey: h.key, transport: URLSessionTransport(), sleep: { _ in })
        let history = try await client.runHistory(collectionID: 101, skip: 0, limit: 10)
        let reported = try #require(history.first { $0.id == runnerID }?.updatedAt)
        let record = try #require(try h.state.collectionRuns(runID: report.runID).first)
        #expect(record.scrapedAt == reported)
        #expect(record.triggeredAt != reported)
        let rows = try CSVReader.parse(
            try String(contentsOf: h.directory.appendingPathComponent("out/wf.csv"), encoding: .utf8))
        #expect(rows.first == ["scraped_at", "asin"])
        #expect(rows.count > 1)
        #expect(rows.dropFirst().allSatisfy { $0.first == reported })
        #expect(try h.state.exportInputs(runID: report.runID).first?.scrapedAt == reported)
    }

    @Test func zipFetchWritesThePages() async throws {
        let h = try ExecutorHarness()
        let report = try await h.executor(h.workflow(fetch: FetchConfig(from: .zip, concurrency: 2))).run()
        #expect(report.outcome == .succeeded)
        #expect(report.collections.first?.files == 3)
    }

    @Test func leaseRefusesASecondHolder() async throws {
        let h = try ExecutorHarness()
        #expect(
            try h.state.acquireLease(workflow: "wf", holder: "other", now: Date().timeIntervalSince1970, staleAfter: 60)
                == nil)
        await #expect(throws: RunError.self) { _ = try await h.executor(h.workflow()).run() }
        #expect(h.triggers == 0)
    }

    @Test func transientReadErrorsAreRetried() async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(first: 2, endpoints: [.history, .credits])
        faults.rateLimit = FaultRule(first: 1, endpoints: [.asinList])
        let h = try ExecutorHarness(faults: faults)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
    }

    /// A run blocked by the workflow's rules is resumed by the next run, which decides afresh and triggers once.
    @Test func blockedRunIsResumedAndTriggeredWhenTheRulesAllow() async throws {
        let h = try ExecutorHarness()
        let blocked = try await h.executor(h.workflow(credits: CreditRules(maxSpend: 100))).run()
        #expect(blocked.outcome == .blocked)
        let resumed = try await h.executor(h.workflow()).run()
        #expect(resumed.resumed)
        #expect(resumed.runID == blocked.runID)
        #expect(resumed.outcome == .succeeded)
        #expect(h.triggers == 1)
    }

    /// A newer successful run hides an older failed one: the next run starts afresh.
    @Test func onlyTheNewestRunIsResumed() async throws {
        let h = try ExecutorHarness()
        _ = try await h.executor(h.workflow(credits: CreditRules(maxSpend: 100))).run()
        _ = try await h.executor(h.workflow()).run()
        let third = try await h.executor(h.workflow()).run()
        #expect(!third.resumed)
        #expect(h.triggers == 2)
    }
}
