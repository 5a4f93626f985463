import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// The executor's money and download guarantees (DESIGN.md §5, cases C15–C23) against the real sandbox.
@Suite struct ExecutorSafetyTests {
    /// Records an intent the way a run that died right after committing it would have left it.
    func leaveIntent(_ h: ExecutorHarness, baseline: Int) throws -> Int {
        let run = try h.state.createRun(workflow: "wf", sourcePath: "wf.yaml", collections: [("laptops", 101)])
        let record = try #require(try h.state.collectionRuns(runID: run.id).first)
        try h.state.recordIntent(record.id, baselineRunner: baseline, items: 250)
        return record.id
    }

    func fileRequests(_ h: ExecutorHarness) -> Int { h.server.requestLog().filter { $0.endpoint == .file }.count }

    func downloadedFiles(_ h: ExecutorHarness) -> [String] {
        let root = h.directory.appendingPathComponent("downloads").path
        let names = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(
                atPath: (root as NSString).appendingPathComponent(name), isDirectory: &isDirectory)
            return exists && !isDirectory.boolValue
        }
    }

    /// C15: the trigger queued a runner but its answer was lost (a 503 from a proxy): no second trigger; the run
    /// history shows the runner, which is adopted.
    @Test func lostTriggerAnswerIsResolvedFromTheHistoryNotByRetrying() async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(first: 1, endpoints: [.trigger])
        let h = try ExecutorHarness(faults: faults)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
        let result = try #require(report.collections.first)
        #expect(result.attribution == "adopted_after_lost_answer")
        #expect(result.runnerID == h.server.requestLog().first { $0.endpoint == .trigger }?.runnerID)
        #expect(result.creditsSpent == 250)
    }

    /// The trigger failed before anything was queued, but the answer cannot prove it: after the grace period
    /// the intent is recorded as not observed, and no run triggers again by itself — only `--new` does.
    @Test func triggerThatLeftNoRunnerIsNotObservedAndNeverRetriedByItself() async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(first: 1, endpoints: [.trigger])
        faults.httpErrorBeforeQueue = true
        let h = try ExecutorHarness(faults: faults)
        let first = try await h.executor(h.workflow()).run()
        #expect(first.outcome == .failed)
        #expect(first.collections.first?.attribution == "not_observed")
        #expect(first.collections.first?.runnerID == nil)
        #expect(h.clock.now() >= .seconds(60))
        #expect(h.triggers == 1)

        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .failed)
        #expect(second.messages.contains { $0.contains("--new") })
        #expect(h.triggers == 1)

        let fresh = try await h.executor(h.workflow(), startNew: true).run()
        #expect(fresh.outcome == .succeeded)
        #expect(h.triggers == 2)
    }

    /// The trigger queued a runner but was answered with something that is not a documented refusal (an envelope
    /// 500, HTTP 408 or 429): the outcome is unknown, so the run history decides and the runner is adopted.
    /// Before, such an answer was recorded as `not_triggered` and the next run paid again.
    @Test(arguments: [
        (#"{"code":500,"data":"Internal server error, please try again later.","status":0}"#, 200),
        (#"{"code":503,"data":"Busy.","status":0}"#, 200),
        ("Request Timeout", 408),
        ("Too Many Requests", 429),
    ])
    func anAmbiguousTriggerAnswerIsSettledFromTheHistory(body: String, status: Int) async throws {
        let h = try ExecutorHarness()
        let real = URLSessionTransport()
        // The real sandbox queues the runner; the answer on the way back is replaced.
        let transport = ClosureTransport { request in
            let response = try await real.send(request)
            guard request.url.absoluteString.hasSuffix(MultiCartClient.triggerPath) else { return response }
            return HTTPResponse(status: status, body: Data(body.utf8))
        }
        let report = try await h.executor(h.workflow(), transport: transport).run()
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
        let result = try #require(report.collections.first)
        #expect(result.attribution == "adopted_after_lost_answer")
        #expect(result.runnerID == h.server.requestLog().first { $0.endpoint == .trigger }?.runnerID)
        #expect(result.creditsSpent == 250)
    }

    /// An envelope error on the trigger that really queued nothing: it cannot be told from one that did, so no
    /// runner appearing is recorded as not observed and no later run triggers by itself.
    @Test func anEnvelopeErrorOnTheTriggerIsNeverFollowedByASecondTriggerByItself() async throws {
        var faults = SandboxFaults()
        faults.envelopeError = FaultRule(first: 1, endpoints: [.trigger])
        let h = try ExecutorHarness(faults: faults)
        let first = try await h.executor(h.workflow()).run()
        #expect(first.outcome == .failed)
        #expect(first.collections.first?.attribution == "not_observed")
        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .failed)
        #expect(h.triggers == 1)
    }

    /// A trigger recorded as refused (as an older cartflow recorded any envelope error) whose collection has a new
    /// runner since: the runner is adopted, recorded as ambiguous, before any new trigger.
    @Test func aRecordedRefusalFollowedByANewRunnerAdoptsItInsteadOfTriggering() async throws {
        let h = try ExecutorHarness()
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        let recordID = try leaveIntent(h, baseline: baseline)
        try h.state.recordPhase(recordID, phase: "not_triggered", detail: "answered with error code 500")
        let appeared = try #require(h.server.startRunner(collection: 101))
        let report = try await h.executor(h.workflow()).run()
        #expect(report.resumed)
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 0)
        let result = try #require(report.collections.first)
        #expect(result.runnerID == appeared)
        #expect(result.attribution == "ambiguous")
        #expect(result.creditsSpent == 0)
        #expect(h.lines.all.contains { $0.contains("runner \(appeared) appeared after a trigger recorded as refused") })
        // Looked at before anything else: the first request reads the history.
        #expect(h.server.requestLog().first?.endpoint == .history)
    }

    /// The same refusal with no runner since stands: the collection is triggered again, once.
    @Test func aRecordedRefusalWithNoNewRunnerIsTriggeredAgain() async throws {
        let h = try ExecutorHarness()
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        let recordID = try leaveIntent(h, baseline: baseline)
        try h.state.recordPhase(recordID, phase: "not_triggered", detail: "conflict: already processing")
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
        #expect(report.collections.first?.attribution == "exact")
    }

    /// A crash between committing the intent and reading the answer: the next run adopts the runner that
    /// appeared, before any credit check or trigger.
    @Test func intentLeftByACrashAdoptsTheRunnerThatAppeared() async throws {
        let h = try ExecutorHarness()
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        _ = try leaveIntent(h, baseline: baseline)
        let ours = try #require(h.server.startRunner(collection: 101))
        let report = try await h.executor(h.workflow()).run()
        #expect(report.resumed)
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 0)
        #expect(report.collections.first?.runnerID == ours)
        #expect(report.collections.first?.attribution == "adopted_after_crash")
        #expect(report.collections.first?.creditsSpent == 0)
        // Reconciled before anything else: the first request of the run reads the history, not the balance.
        #expect(h.server.requestLog().first?.endpoint == .history)
    }

    @Test func intentLeftByACrashWithNoRunnerIsNotObservedAndNotTriggered() async throws {
        let h = try ExecutorHarness()
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        _ = try leaveIntent(h, baseline: baseline)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .failed)
        #expect(h.triggers == 0)
        #expect(report.collections.first?.attribution == "not_observed")
        #expect(h.server.requestLog().allSatisfy { $0.endpoint == .history })
    }

    /// C17 across pages: twelve runners appeared since the intent; the earliest is on the second history page.
    @Test func attributionLooksBeyondTheFirstHistoryPage() async throws {
        let h = try ExecutorHarness()
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        let recordID = try leaveIntent(h, baseline: baseline)
        let started = (0..<12).compactMap { _ in h.server.startRunner(collection: 101) }
        #expect(started.count == 12)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.collections.first?.runnerID == started.min())
        #expect(report.collections.first?.attribution == "ambiguous")
        let record = try #require(try h.state.collectionRuns(runID: report.runID).first { $0.id == recordID })
        #expect(record.candidates == started.sorted())
        #expect(h.triggers == 0)
    }

    /// Polling that only ever sees errors still ends at its deadline (the errors count), with the runner kept.
    @Test func pollingErrorsCountAgainstTheDeadline() async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(probability: 1, endpoints: [.history])
        let h = try ExecutorHarness(faults: faults)
        let recordID = try leaveIntent(h, baseline: 901)
        try h.state.recordRunner(recordID, runner: 901, attribution: "exact", candidates: [901])
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .timedOut)
        #expect(report.collections.first?.runnerID == 901)
        #expect(report.collections.first?.phase == "timed_out")
        #expect(h.clock.now() <= .seconds(600))
        #expect(h.triggers == 0)
    }

    /// An API that never answers: each attempt takes its whole deadline on the run's clock and then fails.
    static func neverAnswering(_ clock: TestClock, deadlines: WaitLog) -> ClosureTransport {
        ClosureTransport { request in
            deadlines.append(request.deadline)
            clock.advance(by: request.deadline)
            throw TransportFailure.deadlineExceeded
        }
    }

    /// A poll read against an API that never answers ends at the poll deadline: its attempts get only what is left
    /// of it (never the full 60 s each), and its retries count the time the attempts took. Before, one read ran
    /// four attempts of 60 s, far past a 100 s timeout.
    @Test func aPollReadThatNeverAnswersEndsAtThePollDeadline() async throws {
        let h = try ExecutorHarness()
        let recordID = try leaveIntent(h, baseline: 901)
        try h.state.recordRunner(recordID, runner: 901, attribution: "exact", candidates: [901])
        let deadlines = WaitLog()
        let poll = PollConfig(
            interval: Seconds(10), maxInterval: Seconds(60), timeout: Seconds(100), attributionGrace: Seconds(60))
        let report = try await h.executor(
            h.workflow(poll: poll), transport: Self.neverAnswering(h.clock, deadlines: deadlines)
        ).run()
        #expect(report.outcome == .timedOut)
        #expect(report.collections.first?.runnerID == 901)
        #expect(deadlines.values == [.seconds(60), .seconds(40)])
        #expect(h.clock.now() == .seconds(100))
    }

    /// Polling sleeps only up to the deadline and checks once more right at it: a runner that finishes in the
    /// last interval is fetched, not given up on. Before, polling quit as soon as a whole interval no longer fit
    /// (here at 20 s of a 25 s timeout).
    @Test func pollingChecksOnceMoreAtTheDeadline() async throws {
        // Finished when the history has listed it three times: the fourth poll read sees it done.
        let h = try ExecutorHarness(completion: .afterHistoryReads(3))
        let runner = try #require(h.server.startRunner(collection: 101))
        let recordID = try leaveIntent(h, baseline: runner - 1)
        try h.state.recordRunner(recordID, runner: runner, attribution: "exact", candidates: [runner])
        let poll = PollConfig(
            interval: Seconds(10), maxInterval: Seconds(10), timeout: Seconds(25), attributionGrace: Seconds(60))
        let report = try await h.executor(h.workflow(poll: poll)).run()
        #expect(report.outcome == .succeeded)
        #expect(report.collections.first?.runnerID == runner)
        #expect(h.clock.recordedSleeps == [.seconds(10), .seconds(10), .seconds(5)])
        #expect(h.triggers == 0)
    }

    /// A runner still running at the deadline: the last check is made at the deadline, then polling stops.
    @Test func pollingStopsAtTheDeadlineAfterTheLastCheck() async throws {
        let h = try ExecutorHarness(completion: .never)
        let runner = try #require(h.server.startRunner(collection: 101))
        let recordID = try leaveIntent(h, baseline: runner - 1)
        try h.state.recordRunner(recordID, runner: runner, attribution: "exact", candidates: [runner])
        let poll = PollConfig(
            interval: Seconds(10), maxInterval: Seconds(10), timeout: Seconds(25), attributionGrace: Seconds(60))
        let report = try await h.executor(h.workflow(poll: poll)).run()
        #expect(report.outcome == .timedOut)
        #expect(h.clock.now() == .seconds(25))
        #expect(h.server.requestLog().filter { $0.endpoint == .history }.count == 4)
    }

    /// The attribution grace period is kept the same way when the history never answers.
    @Test func anAttributionReadThatNeverAnswersEndsAtTheGracePeriod() async throws {
        let h = try ExecutorHarness()
        _ = try leaveIntent(h, baseline: 901)
        let deadlines = WaitLog()
        let poll = PollConfig(
            interval: Seconds(10), maxInterval: Seconds(60), timeout: Seconds(600), attributionGrace: Seconds(45))
        let report = try await h.executor(
            h.workflow(poll: poll), transport: Self.neverAnswering(h.clock, deadlines: deadlines)
        ).run()
        #expect(report.outcome == .failed)
        #expect(report.collections.first?.attribution == "not_observed")
        #expect(deadlines.values == [.seconds(45)])
        #expect(h.clock.now() == .seconds(45))
    }

    /// A recorded runner the history does not list (deleted, or recorded for another collection) is named and
    /// the collection recorded as failed with the runner kept, after two reads, not polled silently until the
    /// timeout; no run triggers for it by itself.
    @Test func aRecordedRunnerMissingFromTheHistoryIsNamedAndNeverRetriggered() async throws {
        let h = try ExecutorHarness()
        let recordID = try leaveIntent(h, baseline: 901)
        try h.state.recordRunner(recordID, runner: 950, attribution: "exact", candidates: [950])
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .failed)
        let result = try #require(report.collections.first)
        #expect(result.runnerID == 950)
        #expect(result.phase == "failed")
        #expect(result.detail?.contains("runner 950 is not in the run history of collection 101") == true)
        #expect(report.messages.contains { $0.hasPrefix("laptops: runner 950 is not in the run history") })
        #expect(h.lines.all.contains { $0.contains("runner 950 is not in the run history of collection 101; looking") })
        #expect(h.clock.now() == .seconds(10), "one poll interval, not the 600 s timeout")
        #expect(h.triggers == 0)

        let again = try await h.executor(h.workflow()).run()
        #expect(again.resumed)
        #expect(again.outcome == .failed)
        #expect(again.collections.first?.runnerID == 950)
        #expect(h.triggers == 0)
    }

    /// C20/C23: a download cut short is retried and the run succeeds.
    @Test func truncatedDownloadIsRetriedAndTheRunSucceeds() async throws {
        var faults = SandboxFaults()
        faults.truncate = FaultRule(first: 2)
        let h = try ExecutorHarness(faults: faults)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
        #expect(report.collections.first?.files == 3)
        #expect(h.server.requestLog().filter { $0.fault == "truncate" }.count == 2)
    }

    /// Downloads that never arrive whole: the collection fails with its runner kept, nothing is written under a
    /// final name, and the next run resumes (no second trigger).
    @Test func permanentlyTruncatedDownloadsFailCleanlyAndResume() async throws {
        var faults = SandboxFaults()
        faults.truncate = .always
        let h = try ExecutorHarness(faults: faults)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .failed)
        let result = try #require(report.collections.first)
        #expect(result.phase == "failed")
        #expect(result.runnerID != nil)
        #expect(result.files == 0)
        #expect(result.detail?.contains("cut short") == true || result.detail?.contains("could not reach") == true)
        #expect(downloadedFiles(h).isEmpty)
        #expect(report.exports.isEmpty)
        let again = try await h.executor(h.workflow()).run()
        #expect(again.resumed)
        #expect(again.collections.first?.runnerID == result.runnerID)
        #expect(h.triggers == 1)
    }

    /// C22 through the executor: a ZIP with one hostile entry after good ones is refused whole; nothing is written.
    @Test(arguments: HostileZipEntry.allCases)
    func hostileZipIsRefusedBeforeAnythingIsWritten(kind: HostileZipEntry) async throws {
        try? FileManager.default.removeItem(atPath: "/tmp/cartflow-escaped.json")
        var faults = SandboxFaults()
        faults.hostileZipEntry = kind
        let h = try ExecutorHarness(faults: faults)
        let report = try await h.executor(h.workflow(fetch: FetchConfig(from: .zip, concurrency: 1))).run()
        #expect(report.outcome == .failed)
        #expect(report.messages.contains { $0.contains("ZIP entry") && $0.contains("refused") })
        #expect(downloadedFiles(h).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cartflow-escaped.json"))
        #expect(!FileManager.default.fileExists(atPath: h.directory.appendingPathComponent("escaped.json").path))
        #expect(
            try h.state.files(collectionRunID: try #require(try h.state.collectionRuns(runID: report.runID).first).id)
                .isEmpty)
        #expect(h.triggers == 1)
    }

    /// C14: links to another host are refused unless the workflow allows the host; allowed, they never get the key.
    @Test func foreignDownloadLinksAreRefusedUnlessAllowedAndNeverGetTheKey() async throws {
        var faults = SandboxFaults()
        faults.foreignLinks = true
        let h = try ExecutorHarness(faults: faults)
        let refused = try await h.executor(h.workflow()).run()
        #expect(refused.outcome == .failed)
        #expect(refused.messages.contains { $0.contains("api.allow_download_hosts") })
        #expect(h.server.requestLog().filter { $0.listener == "other" }.isEmpty)

        var workflow = h.workflow()
        workflow.api.allowedDownloadHosts = ["localhost"]
        let allowed = try await h.executor(workflow).run()
        #expect(allowed.outcome == .succeeded)
        #expect(allowed.resumed)
        let other = h.server.requestLog().filter { $0.listener == "other" }
        #expect(other.count == 3)
        #expect(other.allSatisfy { !$0.keyPresent && $0.httpStatus == 200 })
        #expect(h.triggers == 1)
    }

    /// C21: a collection name with spaces, `#` and `?` is fetched as one path segment; local names are sanitised.
    @Test func oddNamesAreOnePathSegmentAndSanitisedLocally() async throws {
        let h = try ExecutorHarness(collections: [SandboxCollection(id: 101, name: "AU Laptops #1? (new)", items: 120)])
        let report = try await h.executor(h.workflow(collections: [CollectionSpec(name: "laptops", id: 101)])).run()
        #expect(report.outcome == .succeeded)
        #expect(report.collections.first?.files == 2)
        let names = downloadedFiles(h).map { ($0 as NSString).lastPathComponent }.sorted()
        #expect(names.count == 2)
        #expect(names.allSatisfy { $0.hasPrefix("AU Laptops #1_ (new)_") && !$0.contains("?") })
        #expect(h.server.requestLog().filter { $0.endpoint == .file }.allSatisfy { $0.httpStatus == 200 })
    }

    /// C23: a resumed run trusts a local file only with its recorded size and hash: a changed file and a missing
    /// one are fetched again, the others are not.
    @Test func resumeRefetchesOnlyFilesThatNoLongerMatch() async throws {
        let h = try ExecutorHarness()
        let first = try await h.executor(h.workflow()).run()
        #expect(first.outcome == .succeeded)
        let records = try h.state.files(
            collectionRunID: try #require(try h.state.collectionRuns(runID: first.runID).first).id)
        #expect(records.count == 3)
        // Pretend the run died during export: unfinished, with one page altered (same size) and one gone.
        try h.state.finishRun(first.runID, status: "running")
        var altered = try Data(contentsOf: URL(fileURLWithPath: records[0].localPath))
        altered[altered.count / 2] ^= 0x01
        try altered.write(to: URL(fileURLWithPath: records[0].localPath))
        try FileManager.default.removeItem(atPath: records[1].localPath)
        let before = fileRequests(h)
        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(fileRequests(h) - before == 2)
        #expect(second.exports.first?.records == first.exports.first?.records)
        #expect(h.triggers == 1)
        for record in records {
            let data = try Data(contentsOf: URL(fileURLWithPath: record.localPath))
            #expect(SHA256.hex(data) == record.sha256)
        }
    }

    /// A failed run (here: a download that could not be fetched) is resumed, not paid for again.
    @Test func aFailedRunIsResumedNotRetriggered() async throws {
        var faults = SandboxFaults()
        // The client makes 4 attempts per file: the first file fails all of them, then the faults are used up.
        faults.httpError = FaultRule(first: 4, endpoints: [.file])
        let h = try ExecutorHarness(faults: faults)
        let workflow = h.workflow(fetch: FetchConfig(from: .pages, concurrency: 1))
        let first = try await h.executor(workflow).run()
        #expect(first.outcome == .failed)
        #expect(first.collections.first?.phase == "failed")
        let second = try await h.executor(workflow).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(second.collections.first?.runnerID == first.collections.first?.runnerID)
        #expect(h.triggers == 1)
    }

    // MARK: Lease

    /// Takes the workflow's lease over for another holder, as a second process does once this one's heartbeat is
    /// older than the lease timeout (this one paused with SIGSTOP, say).
    static func takeOver(_ state: StateStore) {
        _ = try? state.acquireLease(
            workflow: "wf", holder: "process-b", now: Date().timeIntervalSince1970 + 3_600, staleAfter: 60)
    }

    static func isLeaseLost(_ error: any Error) -> Bool {
        guard let error = error as? RunError, case .leaseLost(let workflow, let pid, _) = error else { return false }
        return workflow == "wf" && pid == Int(getpid())
            && error.description.contains("lost the lease to process \(getpid())")
            && error.description.contains("stopping without triggering")
    }

    /// The lease taken over before the trigger (this process paused past the lease timeout, another one took
    /// the run): the intent is refused by the lease check in its own transaction, so no trigger is sent, and
    /// nothing is recorded over the new holder's run.
    @Test func aRunThatLostItsLeaseBeforeTheTriggerNeverTriggers() async throws {
        let h = try ExecutorHarness()
        h.server.observe { [state = h.state] record in
            if record.endpoint == .asinList { Self.takeOver(state) }
        }
        await #expect { try await h.executor(h.workflow()).run() } throws: { Self.isLeaseLost($0) }
        #expect(h.triggers == 0)
        let run = try #require(try h.state.runs(workflow: "wf").first)
        #expect(run.status == "running")
        let record = try #require(try h.state.collectionRuns(runID: run.id).first)
        #expect(record.intentAt == nil)
        #expect(record.phase == "pending")
        #expect(try h.state.lease(workflow: "wf")?.holder == "process-b")
    }

    /// The lease taken over while polling: the files of the finished runner are neither recorded nor exported by
    /// the process that lost it (they would mix with the new holder's in one collection row).
    @Test func aRunThatLostItsLeaseRecordsNoFilesAndWritesNoExport() async throws {
        let h = try ExecutorHarness(completion: .afterHistoryReads(2))
        h.server.observe { [state = h.state] record in
            if record.endpoint == .file { Self.takeOver(state) }
        }
        await #expect { try await h.executor(h.workflow()).run() } throws: { Self.isLeaseLost($0) }
        #expect(h.triggers == 1)
        let run = try #require(try h.state.runs(workflow: "wf").first)
        #expect(run.status == "running")
        let record = try #require(try h.state.collectionRuns(runID: run.id).first)
        #expect(record.phase == "triggered")
        #expect(record.runnerID != nil)
        #expect(try h.state.files(collectionRunID: record.id).isEmpty)
        #expect(try h.state.exports(runID: run.id).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: h.directory.appendingPathComponent("out/wf.csv").path))
    }

    /// A heartbeat that finds the lease taken over stops the run at once (here: parked in its poll wait), with
    /// the reason; the run stays resumable and its record is left to the new holder.
    @Test func aHeartbeatThatFindsTheLeaseLostStopsTheRun() async throws {
        let h = try ExecutorHarness(completion: .afterHistoryReads(3))
        let parked = Latch()
        let beat = Latch()
        let beatAgain = Latch()
        // The run waits in its first poll sleep until cancelled — or, if the heartbeat let it go on, until the
        // heartbeat has beaten (so a broken heartbeat fails the test instead of hanging it).
        let runClock = ParkingClock {
            parked.fire()
            try await beatAgain.wait()
        }
        let beats = Counter()
        let heartbeatClock = ParkingClock {
            if beats.next() == 1 {
                try await beat.wait()
            } else {
                beatAgain.fire()
                try await Latch().wait()
            }
        }
        let executor = h.executor(h.workflow(), clock: runClock) { $0.heartbeatClock = heartbeatClock }
        let running = Task { try await executor.run() }
        try await parked.wait()
        Self.takeOver(h.state)
        beat.fire()
        await #expect { try await running.value } throws: { Self.isLeaseLost($0) }
        #expect(h.triggers == 1)
        let record = try #require(try h.state.collectionRuns(runID: 1).first)
        #expect(record.phase == "triggered")
        #expect(try h.state.files(collectionRunID: record.id).isEmpty)
        #expect(try h.state.runs(workflow: "wf").first?.status == "running")
        #expect(try h.state.lease(workflow: "wf")?.holder == "process-b")
    }

    /// A heartbeat that finds no lease at all (taken over, and released again by a run that finished) stops the
    /// run the same way.
    @Test func aHeartbeatThatFindsNoLeaseStopsTheRun() async throws {
        let h = try ExecutorHarness(completion: .never)
        let parked = Latch()
        let beat = Latch()
        let runClock = ParkingClock {
            parked.fire()
            try await Latch().wait()
        }
        let beats = Counter()
        let heartbeatClock = ParkingClock {
            if beats.next() == 1 { try await beat.wait() } else { try await Latch().wait() }
        }
        let executor = h.executor(h.workflow(), clock: runClock) { $0.heartbeatClock = heartbeatClock }
        let running = Task { try await executor.run() }
        try await parked.wait()
        let holder = try #require(try h.state.lease(workflow: "wf")?.holder)
        try h.state.releaseLease(workflow: "wf", holder: holder)
        beat.fire()
        await #expect { try await running.value } throws: { error in
            // No holder left: lost "to another process".
            guard let error = error as? RunError, case .leaseLost(_, nil, nil) = error else { return false }
            return error.description.contains("lost the lease to another process")
        }
        #expect(h.triggers == 1)
    }

    @Test func staleLeaseIsTakenOver() async throws {
        let h = try ExecutorHarness()
        let long = Date().timeIntervalSince1970 - 3_600
        #expect(try h.state.acquireLease(workflow: "wf", holder: "ghost", now: long, staleAfter: 60) == nil)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
        #expect(try h.state.lease(workflow: "wf") == nil)
    }

    @Test func leaseOfAProcessThatIsGoneIsTakenOver() async throws {
        let h = try ExecutorHarness()
        let now = Date().timeIntervalSince1970
        #expect(
            try h.state.acquireLease(workflow: "wf", holder: "ghost", now: now, staleAfter: 60, pid: 2_000_000_000)
                == nil)
        #expect(try h.state.lease(workflow: "wf")?.pid == 2_000_000_000)
        let report = try await h.executor(h.workflow()).run()
        #expect(report.outcome == .succeeded)
    }

    @Test func leaseHeldByALiveProcessRefusesClearly() async throws {
        let h = try ExecutorHarness()
        #expect(
            try h.state.acquireLease(workflow: "wf", holder: "other", now: Date().timeIntervalSince1970, staleAfter: 60)
                == nil)
        do {
            _ = try await h.executor(h.workflow()).run()
            Issue.record("a second holder must be refused")
        } catch let error as RunError {
            #expect(error.description.contains("already running (process \(getpid())"))
        }
        #expect(h.server.requestLog().isEmpty)
    }

    @Test func waitForLeaseRunsOnceTheHolderLeaves() async throws {
        let h = try ExecutorHarness()
        #expect(
            try h.state.acquireLease(workflow: "wf", holder: "other", now: Date().timeIntervalSince1970, staleAfter: 60)
                == nil)
        var executor = h.executor(h.workflow())
        var options = executor.options
        options.waitForLease = true
        executor = Executor(
            workflow: executor.workflow, client: executor.client, state: h.state, clock: h.clock, options: options,
            progress: { [lines = h.lines] in lines.append($0) })
        let running = Task { [executor] in try await executor.run() }
        var waiting = false
        for _ in 0..<100_000 where !waiting {
            await Task.yield()
            waiting = h.lines.all.contains { $0.contains("waiting for it") }
        }
        #expect(waiting)
        #expect(h.server.requestLog().isEmpty)
        try h.state.releaseLease(workflow: "wf", holder: "other")
        let report = try await running.value
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
    }
}

/// A one-shot signal between a test and the tasks it runs; waiting on it ends when it fires or the waiting task
/// is cancelled (no wall-clock waiting).
final class Latch: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [UUID: CheckedContinuation<Void, any Error>] = [:]
    private var cancelled: Set<UUID> = []

    func fire() {
        let waiting: [CheckedContinuation<Void, any Error>] = lock.withLock {
            fired = true
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    func wait() async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Bool? = lock.withLock {
                    if cancelled.contains(id) { return false }
                    if fired { return true }
                    waiters[id] = continuation
                    return nil
                }
                switch outcome {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let waiting: CheckedContinuation<Void, any Error>? = lock.withLock {
                cancelled.insert(id)
                return waiters.removeValue(forKey: id)
            }
            waiting?.resume(throwing: CancellationError())
        }
    }
}

/// Counts calls from any task: `next()` returns 1, 2, 3, …
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.withLock {
            value += 1; return value
        }
    }
}

/// Durations seen by a transport or a clock, from any task.
final class WaitLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [Duration] = []
    func append(_ value: Duration) { lock.withLock { log.append(value) } }
    var values: [Duration] { lock.withLock { log } }
}
