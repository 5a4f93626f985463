import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Synchronization
import Testing

/// A sandbox in the test process and a one-collection workflow, for killing `cartflow run` with SIGKILL at a
/// chosen moment and proving what the next run does: never a second trigger, never a lost or half-written file.
final class CrashHarness {
    let directory: URL
    let server: SandboxServer
    let key = "crash-e2e.S3cr3t"
    let logPath: String
    let statePath: String

    init(
        items: Int = 250, completion: RunnerCompletion = .afterHistoryReads(2), faults: SandboxFaults = .none,
        concurrency: Int = 4, from: String = "pages",
        poll: String = "{ interval: 1s, max_interval: 1s, timeout: 10m, attribution_grace: 2s }",
        api: String = ""
    ) throws {
        directory = try CartflowProcess.temporaryDirectory("crash")
        logPath = directory.appendingPathComponent("sandbox.log").path
        statePath = directory.appendingPathComponent(".cartflow/state.db").path
        var configuration = SandboxConfiguration(
            apiKey: key, collections: [SandboxCollection(id: 101, name: "AU Laptops", items: items)])
        configuration.completion = completion
        configuration.logPath = logPath
        configuration.faults = faults
        configuration.seed = 11
        server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        let workflow = """
            cartflow: 1
            name: crash
            \(api)
            collections:
              laptops: { id: 101, title: AU Laptops }
            poll: \(poll)
            fetch: { from: \(from), concurrency: \(concurrency) }
            steps:
              - export: csv
                path: out/laptops.csv

            """
        try workflow.write(to: directory.appendingPathComponent("crash.yaml"), atomically: true, encoding: .utf8)
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var environment: [String: String] {
        ["MULTICART_API_KEY": key, "MULTICART_BASE_URL": server.baseURL!.absoluteString]
    }

    func run(_ arguments: [String] = ["run", "crash.yaml"]) async throws -> CartflowProcess.Result {
        try await CartflowProcess.run(arguments, in: directory, environment: environment)
    }

    /// Starts `cartflow run` and kills it with SIGKILL the moment `moment` says so (checked on the sandbox's
    /// thread as each request is logged, so the kill does not wait for this test to be scheduled), or when
    /// `check` — state only the database shows — turns true. Returns whether SIGKILL ended the process
    /// (rather than the run ending on its own first).
    func runAndKill(
        when moment: (@Sendable (SandboxRequestRecord) -> Bool)? = nil, check: (@Sendable () -> Bool)? = nil
    ) async throws -> Bool {
        let killer = KillSwitch()
        if let moment {
            server.observe { record in
                if moment(record) { killer.fire() }
            }
        }
        let (process, out, err) = try CartflowProcess.start(
            ["run", "crash.yaml"], in: directory, environment: environment)
        process.terminationHandler = { _ in killer.exited() }
        killer.set(pid: process.processIdentifier)
        if let check {
            // The database changes without a request to observe: a thread of its own looks again and again until
            // the run reaches the state or ends (it waits for an event, never sleeps, and does not depend on this
            // test's task being scheduled). The limit only guards against a run that hangs; it is not a timing.
            Thread.detachNewThread {
                let limit = ContinuousClock.now + .seconds(120)
                while !killer.isDone && ContinuousClock.now < limit {
                    if check() { killer.fire() }
                }
            }
        }
        _ = await CartflowProcess.finish(process, out, err)
        killer.disarm()
        return process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    }

    var triggers: [SandboxRequestRecord] { server.requestLog().filter { $0.endpoint == .trigger } }

    func fileRequests(named name: String) -> Int {
        server.requestLog().filter { $0.endpoint == .file && $0.path.hasSuffix("/" + name) }.count
    }

    func state() throws -> StateStore { try StateStore(path: statePath) }

    func collection() throws -> CollectionRunRecord? {
        let store = try state()
        guard let run = try store.runs(workflow: "crash", limit: 1).first else { return nil }
        return try store.collectionRuns(runID: run.id).first
    }

    func downloadedNames() -> [String] {
        let root = directory.appendingPathComponent(".cartflow/downloads").path
        return ((FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? [])
            .map { ($0 as NSString).lastPathComponent }.filter { $0.hasSuffix(".json") }
    }

    /// The export must hold exactly the scraped (not failed) records of `runner`, as the sandbox generated them.
    func expectCompleteExport(runner: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var expected: [String] = []
        var page = 1
        while let data = server.expectedFile(collection: 101, runner: runner, page: page) {
            let records = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            expected += records.filter { ($0["status"] as? String) != "failed" }.compactMap { $0["asin"] as? String }
            page += 1
        }
        let text = try String(contentsOf: directory.appendingPathComponent("out/laptops.csv"), encoding: .utf8)
        let rows = try CSVReader.parse(text)
        let header = try #require(rows.first, sourceLocation: sourceLocation)
        let column = try #require(header.firstIndex(of: "asin"), sourceLocation: sourceLocation)
        #expect(!expected.isEmpty, sourceLocation: sourceLocation)
        #expect(rows.count - 1 == expected.count, sourceLocation: sourceLocation)
        #expect(rows.dropFirst().map { $0[column] }.sorted() == expected.sorted(), sourceLocation: sourceLocation)
    }

    /// After a kill around the trigger: whatever the moment, the money and the files end up right.
    /// - The trigger reached the sandbox: the next run adopts its runner, and never triggers again.
    /// - It did not, and no intent was committed: the next run triggers, once.
    /// - It did not, but the intent was committed: the next run records "not observed" and does not trigger;
    ///   only `run --new` does, once.
    func expectRecoveryAfterKillAroundTheTrigger(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let triggered = !triggers.isEmpty
        let intent = try collection()?.intentAt != nil
        let rerun = try await run()
        if triggered || !intent {
            #expect(rerun.exitCode == 0, "stderr: \(rerun.stderr)", sourceLocation: sourceLocation)
        } else {
            #expect(rerun.exitCode == 1, sourceLocation: sourceLocation)
            #expect(
                rerun.stderr.contains("not observed") || rerun.stdout.contains("not observed"),
                sourceLocation: sourceLocation)
            #expect(triggers.isEmpty, sourceLocation: sourceLocation)
            let fresh = try await run(["run", "crash.yaml", "--new"])
            #expect(fresh.exitCode == 0, "stderr: \(fresh.stderr)", sourceLocation: sourceLocation)
        }
        #expect(triggers.count == 1, sourceLocation: sourceLocation)
        let runner = try #require(triggers.first?.runnerID, sourceLocation: sourceLocation)
        #expect(try collection()?.runnerID == runner, sourceLocation: sourceLocation)
        try expectCompleteExport(runner: runner, sourceLocation: sourceLocation)
    }
}

/// Sends SIGKILL to a process once, from whichever thread decides first; a decision made before the pid is
/// known is carried out as soon as it is.
final class KillSwitch: Sendable {
    private let state = Mutex((pid: pid_t?.none, fired: false, exited: false, armed: true))

    func set(pid: pid_t) {
        let fire = state.withLock { value -> Bool in
            value.pid = pid
            return value.fired && !value.exited
        }
        if fire { kill(pid, SIGKILL) }
    }

    func fire() {
        let pid = state.withLock { value -> pid_t? in
            guard value.armed, !value.fired else { return nil }
            value.fired = true
            return value.exited ? nil : value.pid
        }
        if let pid { kill(pid, SIGKILL) }
    }

    func exited() { state.withLock { $0.exited = true } }
    func disarm() { state.withLock { $0.armed = false } }
    var isDone: Bool { state.withLock { $0.fired || $0.exited } }
}

/// A one-shot event a test waits on with a bound, signalled from any thread.
final class Event: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let state = Mutex((signalled: false, armed: true))

    func signal() {
        let fire = state.withLock { value -> Bool in
            guard value.armed, !value.signalled else { return false }
            value.signalled = true
            return true
        }
        if fire { semaphore.signal() }
    }

    var happened: Bool { state.withLock { $0.signalled } }

    /// Stops later signals (the observer stays registered on the server for the rest of the test).
    func disarm() { state.withLock { $0.armed = false } }

    /// Waits on a dispatch thread until signalled or `seconds` pass.
    func wait(seconds: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                _ = self.semaphore.wait(timeout: .now() + .seconds(seconds))
                self.semaphore.signal()
                continuation.resume()
            }
        }
    }
}

@Suite(.serialized) struct CrashEndToEndTests {
    /// Killed as the newest runner id is read, just before the intent is committed.
    @Test func killedJustBeforeTheIntent() async throws {
        let h = try CrashHarness()
        let killed = try await h.runAndKill(when: { $0.endpoint == .history })
        #expect(killed)
        try await h.expectRecoveryAfterKillAroundTheTrigger()
    }

    /// Killed after the intent is committed, while the trigger is in flight: the sandbox has queued the runner
    /// on receipt and delays its answer.
    @Test func killedWithTheTriggerInFlight() async throws {
        var faults = SandboxFaults()
        faults.triggerDelay = .seconds(60)
        let h = try CrashHarness(faults: faults)
        let killed = try await h.runAndKill(when: { $0.endpoint == .trigger })
        #expect(killed)
        #expect(h.triggers.count == 1)
        #expect(try h.collection()?.phase == "intent")
        let status = try await h.run(["status", "crash.yaml"])
        #expect(status.exitCode == 0)
        #expect(status.stdout.contains("trigger intent without an answer"))
        try await h.expectRecoveryAfterKillAroundTheTrigger()
        #expect(try h.collection()?.attribution == "adopted_after_crash")
    }

    /// Killed while polling a runner that is still processing; the next run polls the same runner.
    @Test func killedWhilePolling() async throws {
        let polls = Mutex(0)
        let h = try CrashHarness(completion: .never)
        let killed = try await h.runAndKill(when: { record in
            guard record.endpoint == .history else { return false }
            return polls.withLock {
                $0 += 1
                return $0 >= 4  // the baseline read, attribution, then polling
            }
        })
        #expect(killed)
        let runner = try #require(h.triggers.first?.runnerID)
        #expect(try h.collection()?.runnerID == runner)
        h.server.finishRunner(runner)
        let rerun = try await h.run()
        #expect(rerun.exitCode == 0, "stderr: \(rerun.stderr)")
        #expect(rerun.stdout.contains("(resumed)"))
        #expect(h.triggers.count == 1)
        try h.expectCompleteExport(runner: runner)
    }

    /// Killed halfway through a trickled download: no file under its final name, and the next run fetches only
    /// what is missing.
    @Test func killedHalfwayThroughADownload() async throws {
        var faults = SandboxFaults()
        faults.trickle = FaultRule(first: 1)
        faults.trickleBytes = 512
        faults.trickleInterval = .milliseconds(40)
        let h = try CrashHarness(faults: faults, concurrency: 1)
        let trickled = Mutex<String?>(nil)
        let killed = try await h.runAndKill(when: { record in
            guard record.fault == "trickle" else { return false }
            trickled.withLock { $0 = (record.path as NSString).lastPathComponent }
            return true
        })
        #expect(killed)
        let name = try #require(trickled.withLock { $0 })
        #expect(!h.downloadedNames().contains(name))
        let kept = try h.state().files(collectionRunID: try #require(try h.collection()).id).map(\.name)
        #expect(!kept.contains(name))
        let before = Dictionary(uniqueKeysWithValues: kept.map { ($0, h.fileRequests(named: $0)) })

        let rerun = try await h.run()
        #expect(rerun.exitCode == 0, "stderr: \(rerun.stderr)")
        #expect(h.fileRequests(named: name) == 2)
        for (file, count) in before { #expect(h.fileRequests(named: file) == count, "\(file) fetched again") }
        #expect(h.triggers.count == 1)
        try h.expectCompleteExport(runner: try #require(h.triggers.first?.runnerID))
    }

    /// Killed once every file is fetched, while the export runs: the export file is complete or absent, never
    /// half-written, and the next run writes it without fetching anything again.
    @Test func killedDuringExport() async throws {
        let h = try CrashHarness(items: 5_000, completion: .afterHistoryReads(0))
        let statePath = h.statePath
        let store = Mutex<StateStore?>(nil)
        let killed = try await h.runAndKill(check: {
            store.withLock { store in
                // Opened once the run has created it; then only read.
                if store == nil, FileManager.default.fileExists(atPath: statePath) {
                    store = try? StateStore(path: statePath)
                }
                guard let store, let run = try? store.runs(workflow: "crash", limit: 1).first else { return false }
                return (try? store.collectionRuns(runID: run.id).first?.phase) == "fetched"
            }
        })
        #expect(killed)
        let csv = h.directory.appendingPathComponent("out/laptops.csv")
        let runner = try #require(h.triggers.first?.runnerID)
        if FileManager.default.fileExists(atPath: csv.path) { try h.expectCompleteExport(runner: runner) }
        let files = h.server.requestLog().filter { $0.endpoint == .file }.count
        #expect(files == 50)
        let rerun = try await h.run()
        #expect(rerun.exitCode == 0, "stderr: \(rerun.stderr)")
        #expect(h.server.requestLog().filter { $0.endpoint == .file }.count == files)
        #expect(h.triggers.count == 1)
        try h.expectCompleteExport(runner: runner)
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: h.directory.appendingPathComponent("out").path)
        #expect(leftovers == ["laptops.csv"])
    }

    /// Two `cartflow run` of one workflow at once: the second refuses clearly while the first holds the lease.
    @Test func secondConcurrentRunRefusesClearly() async throws {
        let h = try CrashHarness(completion: .never)
        let event = Event()
        h.server.observe { if $0.endpoint == .trigger { event.signal() } }
        let (first, out, err) = try CartflowProcess.start(
            ["run", "crash.yaml"], in: h.directory, environment: h.environment)
        first.terminationHandler = { _ in event.signal() }
        await event.wait(seconds: 120)
        #expect(first.isRunning)
        let second = try await h.run()
        #expect(second.exitCode == 1)
        #expect(second.stderr.contains("already running (process \(first.processIdentifier)"))
        kill(first.processIdentifier, SIGKILL)
        _ = await CartflowProcess.finish(first, out, err)
        #expect(h.triggers.count == 1)
        // The dead holder's lease is taken over at once (its process is gone).
        h.server.finishRunner(try #require(h.triggers.first?.runnerID))
        let third = try await h.run()
        #expect(third.exitCode == 0, "stderr: \(third.stderr)")
        #expect(h.triggers.count == 1)
    }
}
