import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// What a resumed run does with what an earlier attempt paid for: the credit rules gate only what is still to be
/// triggered, a late runner is adopted, a finished timeout no longer reads as one, and a run that cannot finish
/// by itself says so (docs/running.md).
@Suite struct ExecutorResumeTests {
    static let laptops = CollectionSpec(name: "laptops", id: 101, items: 250)
    static let phones = CollectionSpec(name: "phones", id: 102, items: 900)

    /// The audit's account: 1000 credits, laptops (250 items) and phones (900 items); laptops' runner never
    /// finishes by itself.
    func harness() throws -> ExecutorHarness {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        return try ExecutorHarness(
            credits: 1000,
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "AU Phones", items: 900),
            ], faults: faults)
    }

    /// Run 1 (laptops only) times out with its paid runner recorded.
    func timedOutLaptops(_ h: ExecutorHarness, credits: CreditRules) async throws -> Int {
        let first = try await h.executor(h.workflow(collections: [Self.laptops], credits: credits)).run()
        #expect(first.outcome == .timedOut)
        #expect(h.triggers == 1)
        return try #require(first.collections.first?.runnerID)
    }

    // MARK: Credits on a resumed run

    /// `on_insufficient: skip` on a resumed run whose new collection does not fit: the new collection is skipped,
    /// but laptops' paid runner is polled, fetched and exported; the run is skipped only once it is fetched.
    /// Before, the whole run was marked skipped at once (finished, not resumable) and the runner never polled.
    @Test func skipOnAResumedRunSkipsOnlyWhatIsStillToBeTriggered() async throws {
        let h = try harness()
        let rules = CreditRules(onInsufficient: .skip)
        let runner = try await timedOutLaptops(h, credits: rules)
        h.server.finishRunner(runner)
        let steps = [
            ExportStep(format: .csv, path: "out/{workflow}.csv"),
            ExportStep(format: .csv, from: ["laptops"], path: "out/laptops.csv"),
        ]
        let second = try await h.executor(
            h.workflow(collections: [Self.laptops, Self.phones], credits: rules, steps: steps)
        ).run()
        #expect(second.resumed)
        #expect(second.outcome == .skipped)
        #expect(h.triggers == 1)
        let laptops = try #require(second.collections.first { $0.name == "laptops" })
        #expect(laptops.phase == "fetched")
        #expect(laptops.runnerID == runner)
        #expect(laptops.files == 3)
        #expect(second.collections.first { $0.name == "phones" }?.phase == "skipped")
        // Only phones was counted: laptops is paid for.
        #expect(h.lines.all.contains { $0.hasPrefix("credits: ") && $0.contains("this run needs 900") })
        #expect(second.messages.first?.hasPrefix("skipped (on_insufficient: skip)") == true)
        #expect(second.exports.map(\.path) == ["out/laptops.csv"])
        #expect(second.messages.contains { $0.contains("not written: phones not fetched") })
        #expect(try h.state.run(id: second.runID)?.status == "skipped")
    }

    /// The same while the paid runner is still not done: the run is not finished as skipped (which nothing
    /// resumes) but timed out, and the next run polls it again — still without triggering.
    @Test func skipNeverFinishesARunWhosePaidRunnerIsStillGoing() async throws {
        let h = try harness()
        let rules = CreditRules(onInsufficient: .skip)
        let runner = try await timedOutLaptops(h, credits: rules)
        let both = h.workflow(collections: [Self.laptops, Self.phones], credits: rules)
        let second = try await h.executor(both).run()
        #expect(second.outcome == .timedOut)
        #expect(try h.state.run(id: second.runID)?.status == "timed_out")
        #expect(second.collections.first { $0.name == "phones" }?.phase == "skipped")

        h.server.finishRunner(runner)
        let third = try await h.executor(both).run()
        #expect(third.resumed)
        #expect(third.runID == second.runID)
        #expect(third.collections.first { $0.name == "laptops" }?.phase == "fetched")
        #expect(third.outcome == .skipped)
        #expect(h.triggers == 1)
    }

    /// `fail` and `wait` on a resumed run: the new collection is blocked (nothing triggered), the paid one is
    /// still fetched; the run stays resumable as blocked. Before, being blocked stopped the polling too.
    @Test(arguments: [
        CreditRules.OnInsufficient.fail, .wait(limit: Seconds(600), interval: Seconds(120)),
    ])
    func blockingOnAResumedRunStillFetchesThePaidCollection(rule: CreditRules.OnInsufficient) async throws {
        let h = try harness()
        let rules = CreditRules(onInsufficient: rule)
        let runner = try await timedOutLaptops(h, credits: rules)
        h.server.finishRunner(runner)
        let second = try await h.executor(h.workflow(collections: [Self.laptops, Self.phones], credits: rules)).run()
        #expect(second.resumed)
        #expect(second.outcome == .blocked)
        #expect(h.triggers == 1)
        let laptops = try #require(second.collections.first { $0.name == "laptops" })
        #expect(laptops.phase == "fetched")
        #expect(laptops.files == 3)
        #expect(second.collections.first { $0.name == "phones" }?.phase == "blocked")
        #expect(second.messages.first?.hasPrefix("blocked by credits: needs 900") == true)
        #expect(try h.state.unfinishedRun(workflow: "wf")?.id == second.runID)
    }

    // MARK: Late runners

    /// A runner that appears after the attribution grace period is adopted by the next run (read-only, no
    /// trigger), recorded as adopted late — or ambiguous with several. Before, every later run refused and only
    /// `--new` went on, paying again and leaving the late runner behind.
    @Test(arguments: [1, 2])
    func aRunnerThatAppearsAfterTheGracePeriodIsAdoptedByTheNextRun(late count: Int) async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(first: 1, endpoints: [.trigger])
        faults.httpErrorBeforeQueue = true
        let h = try ExecutorHarness(faults: faults)
        let first = try await h.executor(h.workflow()).run()
        #expect(first.collections.first?.attribution == "not_observed")
        #expect(first.needsAttention)

        let late = (0..<count).compactMap { _ in h.server.startRunner(collection: 101) }
        #expect(late.count == count)
        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(!second.needsAttention)
        let result = try #require(second.collections.first)
        #expect(result.runnerID == late.min())
        #expect(result.attribution == (count == 1 ? "adopted_late" : "ambiguous"))
        #expect(result.creditsSpent == 0)
        #expect(h.triggers == 1)
        let record = try #require(try h.state.collectionRuns(runID: second.runID).first)
        #expect(record.candidates == late.sorted())
        #expect(
            h.lines.all.contains {
                $0.contains("appeared after the grace period of a trigger recorded as not observed")
            })
    }

    // MARK: Timeouts that are over

    /// A runner that timed out in one run and finished before the next, whose download then fails: the
    /// collection is failed with the download's error (exit 1), not still "timed out" (exit 5, "did not finish
    /// within …"); the run after that fetches it without a trigger.
    @Test func aTimeoutThatIsOverNoLongerReadsAsOneWhenTheFetchFails() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        // The client makes 4 attempts per file: the first file fails all of them, then the faults are used up.
        faults.httpError = FaultRule(first: 4, endpoints: [.file])
        let h = try ExecutorHarness(faults: faults)
        let workflow = h.workflow(fetch: FetchConfig(from: .pages, concurrency: 1))
        let first = try await h.executor(workflow).run()
        #expect(first.outcome == .timedOut)
        let runner = try #require(first.collections.first?.runnerID)

        h.server.finishRunner(runner)
        let second = try await h.executor(workflow).run()
        #expect(second.resumed)
        #expect(second.outcome == .failed)
        let result = try #require(second.collections.first)
        #expect(result.phase == "failed")
        #expect(result.detail?.contains("did not finish") == false)
        #expect(try h.state.run(id: second.runID)?.status == "failed")

        let third = try await h.executor(workflow).run()
        #expect(third.outcome == .succeeded)
        #expect(third.collections.first?.runnerID == runner)
        #expect(h.triggers == 1)
    }

    // MARK: Runs that cannot finish by themselves

    /// A resumed run whose collection's trigger left no visible runner: the report says the run needs attention,
    /// and a resume that fetched nothing new does not write its exports again.
    @Test func aRunThatCannotFinishNeedsAttentionAndIsNotReExported() async throws {
        let h = try ExecutorHarness(collections: [
            SandboxCollection(id: 101, name: "AU Laptops", items: 250),
            SandboxCollection(id: 102, name: "AU Phones", items: 120),
        ])
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        let run = try h.state.createRun(
            workflow: "wf", sourcePath: "wf.yaml", collections: [("laptops", 101), ("phones", 102)])
        let laptops = try #require(try h.state.collectionRun(runID: run.id, collection: "laptops"))
        try h.state.recordIntent(laptops.id, baselineRunner: baseline, items: 250)
        try h.state.recordNotObserved(laptops.id, detail: "no runner appeared")
        let workflow = h.workflow(
            collections: [Self.laptops, CollectionSpec(name: "phones", id: 102, items: 120)],
            steps: [ExportStep(format: .csv, from: ["phones"], path: "out/phones.csv")])

        let first = try await h.executor(workflow).run()
        #expect(first.resumed)
        #expect(first.outcome == .partial)
        #expect(first.exports.map(\.path) == ["out/phones.csv"])
        #expect(
            first.attention == [
                "laptops: its trigger produced no visible runner (none newer than \(baseline) in the run history "
                    + "of collection 101)"
            ])
        #expect(h.triggers == 1)

        let second = try await h.executor(workflow).run()
        #expect(second.resumed)
        #expect(second.runID == run.id)
        #expect(second.needsAttention)
        #expect(second.exports.isEmpty)
        #expect(second.messages.contains { $0.contains("not written again") })
        #expect(h.triggers == 1)
        #expect(throws: RunError.self) { try second.scheduledOutcome() }
    }

    /// A recorded runner the history does not list makes the run need attention too.
    @Test func aRunnerMissingFromTheHistoryNeedsAttention() async throws {
        let h = try ExecutorHarness()
        let run = try h.state.createRun(workflow: "wf", sourcePath: "wf.yaml", collections: [("laptops", 101)])
        let record = try #require(try h.state.collectionRuns(runID: run.id).first)
        try h.state.recordIntent(record.id, baselineRunner: 901, items: 250)
        try h.state.recordRunner(record.id, runner: 950, attribution: "exact", candidates: [950])
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .failed)
        #expect(report.attention == ["laptops: its runner 950 is not in the run history of collection 101"])
        #expect(h.triggers == 0)
    }

    /// The scheduler says so at every slot (and `--once` exits 1), instead of logging one more failed resume.
    @Test func theSchedulerReportsARunThatCannotFinishAtEverySlot() async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(first: 1, endpoints: [.trigger])
        faults.httpErrorBeforeQueue = true
        let h = try ExecutorHarness(faults: faults)
        let clock = VirtualWallClock("2024-05-04T07:59:30Z")
        var workflow = h.workflow()
        workflow.schedule = Schedule(every: .interval(Seconds(900)))
        let lines = LineLog()
        let scheduler = try Scheduler(
            workflows: [workflow], state: h.state, now: { clock.now }, sleep: { _ in throw StopDaemon() },
            fire: { [harness = Unchecked(h)] workflow, _ in
                try await harness.value.executor(workflow).run().scheduledOutcome()
            },
            log: { lines.append($0) })
        for slot in ["2024-05-04T08:00:05Z", "2024-05-04T08:15:05Z"] {
            clock.set(slot)
            await scheduler.tick()
            await scheduler.waitForRuns()
        }
        let runs = await scheduler.finishedRuns
        #expect(runs.count == 2)
        #expect(runs.allSatisfy { $0.needsAttention && $0.outcome == nil })
        let said = lines.all.filter { $0.contains(" needs attention: run #1 of workflow 'wf' cannot finish by itself") }
        #expect(said.count == 2)
        #expect(said.allSatisfy { $0.contains("`cartflow run --new`") })
        #expect(h.triggers == 1)
    }
}
