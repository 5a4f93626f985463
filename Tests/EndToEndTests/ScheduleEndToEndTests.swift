import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// `cartflow schedule` as a process: `--once` for cron, and SIGTERM with a run in flight.
@Suite(.serialized) struct ScheduleEndToEndTests {
    /// A workflow with one collection that is due every minute: whenever it starts, a slot is at most 59 s old,
    /// so a first `--once` always fires exactly one.
    static func workflow(timeout: String = "10m") -> String {
        """
        cartflow: 1
        name: minutely
        collections:
          laptops: { id: 101, items: 250 }
        poll: { interval: 1s, max_interval: 1s, timeout: \(timeout) }
        schedule:
          every: 1m
        steps:
          - export: csv
            path: out/{workflow}-{runner}.csv
        """
    }

    func setUp(_ e: DaemonSandbox, timeout: String = "10m") throws {
        try Self.workflow(timeout: timeout).write(
            to: e.directory.appendingPathComponent("workflows/minutely.yaml"), atomically: true, encoding: .utf8)
    }

    @Test func onceFiresTheDueSlotAndNeverTheSameSlotTwice() async throws {
        let e = try DaemonSandbox()
        try setUp(e)
        let first = try await e.run(["schedule", "--once", "workflows"])
        #expect(first.exitCode == 0, "stderr: \(first.stderr)")
        #expect(e.triggers == 1)
        let fired = try #require(Self.firedSlot(in: first.stderr), "stderr: \(first.stderr)")
        #expect(first.stderr.contains("minutely \(fired) run succeeded"))
        #expect(first.stdout.contains("minutely: run #1 succeeded"))
        #expect(e.files(under: "out").count == 1)

        // Right after: the same slot is never fired again. A new minute may have begun, with a new slot.
        let second = try await e.run(["schedule", "--once", "workflows"])
        #expect(second.exitCode == 0, "stderr: \(second.stderr)")
        if let again = Self.firedSlot(in: second.stderr) {
            #expect(again > fired)
            #expect(e.triggers == 2)
        } else {
            #expect(e.triggers == 1)
        }
    }

    /// A daily slot two hours old: a first `--once` records it as before first start, unless `--tolerance`
    /// (the cron's interval, here generously 3h) says such a late decision is still on time.
    @Test(arguments: [([String](), 0), (["--tolerance", "3h"], 1)])
    func onceTakesTheToleranceOfItsCron(flags: [String], triggers: Int) async throws {
        let e = try DaemonSandbox()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let slot = calendar.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        let at = String(format: "%02d:%02d", slot.hour!, slot.minute!)
        try Self.workflow().replacingOccurrences(
            of: "every: 1m", with: "every: daily\n  at: \"\(at)\"\n  catch_up: none"
        )
        .write(
            to: e.directory.appendingPathComponent("workflows/minutely.yaml"), atomically: true, encoding: .utf8)
        let result = try await e.run(["schedule", "--once"] + flags + ["workflows"])
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        #expect(e.triggers == triggers, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(triggers == 0 ? "before first start" : "fired: due now"))
    }

    @Test func aToleranceThatIsNotADurationIsAUsageError() async throws {
        let e = try DaemonSandbox()
        try setUp(e)
        let result = try await e.run(["schedule", "--once", "--tolerance", "5", "workflows"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--tolerance must be a duration such as 60s or 5m, got '5'"))
        #expect(e.triggers == 0)
    }

    /// Sandbox slots and runs keep their own database, as `run --sandbox` does: a real `schedule --once` must
    /// never take a sandbox slot as fired, nor a real `run` resume a sandbox run against the real API.
    @Test func sandboxSlotsAndRunsStayOutOfTheRealStateDatabase() async throws {
        let e = try DaemonSandbox()
        try setUp(e)
        let result = try await e.run(["schedule", "--once", "--sandbox", "workflows"])
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        #expect(e.triggers == 0)  // the embedded emulator was asked, not the test's sandbox
        let real = e.directory.appendingPathComponent(".cartflow/state.db").path
        let sandboxed = e.directory.appendingPathComponent(".cartflow/sandbox/state.db").path
        #expect(!FileManager.default.fileExists(atPath: real))
        #expect(FileManager.default.fileExists(atPath: sandboxed))
        // And the real schedule then fires its own slot.
        let again = try await e.run(["schedule", "--once", "workflows"])
        #expect(again.exitCode == 0, "stderr: \(again.stderr)")
        #expect(e.triggers == 1)
    }

    /// The scheduler's own lines name files as its diagnostics do: as given, relative under the current
    /// directory (they named the resolved absolute path).
    @Test func logLinesNameFilesRelativeToTheCurrentDirectory() async throws {
        let e = try DaemonSandbox()
        try setUp(e)
        try "cartflow: 1\ncollections: nope\n".write(
            to: e.directory.appendingPathComponent("workflows/broken.yaml"), atomically: true, encoding: .utf8)
        let result = try await e.run(["schedule", "--once", "workflows"])
        #expect(result.exitCode == 3, "stderr: \(result.stderr)")
        #expect(
            result.stderr.contains(
                "workflows/broken.yaml is invalid (see above); it is not scheduled until it is fixed"))
        #expect(!result.stderr.contains(e.directory.path), "stderr: \(result.stderr)")
    }

    @Test func onceWithNoScheduledWorkflowIsAUsageError() async throws {
        let e = try DaemonSandbox()
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("workflows/demo.yaml"),
            to: e.directory.appendingPathComponent("workflows/demo.yaml"))
        let result = try await e.run(["schedule", "--once", "workflows"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("none of these workflows has a schedule: (demo)"))
        #expect(e.triggers == 0)
    }

    @Test func sigtermStopsTheDaemonWithTheRunResumable() async throws {
        // The runner never finishes, so the run is still polling when SIGTERM arrives.
        let e = try DaemonSandbox(completion: .never)
        try setUp(e)
        let daemon = try StreamingProcess(["schedule", "workflows"], e: e)
        await daemon.waitFor("laptops: waiting for runner")
        daemon.process.terminate()  // SIGTERM
        let result = await daemon.finish()
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("SIGTERM received; stopping"))
        #expect(result.stderr.contains("run interrupted at a checkpoint; the next run resumes it"))
        #expect(result.stderr.hasSuffix("stopped\n"))
        #expect(e.triggers == 1)

        // A clean state: the lease is free, and `run` resumes the same runner instead of paying again.
        try setUp(e, timeout: "2s")
        let resumed = try await e.run(["run", "workflows/minutely.yaml"])
        #expect(resumed.stderr.contains("resuming run #1 of minutely"), "stderr: \(resumed.stderr)")
        #expect(!resumed.stderr.contains("already running"))
        #expect(resumed.exitCode == 5)
        #expect(e.triggers == 1)
    }

    /// `2024-05-04T08:00:00Z` from the log line `minutely 2024-05-04 08:00 +00:00 (2024-05-04T08:00:00Z) fired: due now`.
    static func firedSlot(in log: String) -> String? {
        for line in log.split(separator: "\n") where line.contains(") fired: due now") {
            guard let open = line.lastIndex(of: "("), let close = line.lastIndex(of: ")") else { continue }
            return String(line[line.index(after: open)..<close])
        }
        return nil
    }
}

/// A sandbox in the test process and a scratch folder with a `workflows/` folder.
final class DaemonSandbox {
    let directory: URL
    let server: SandboxServer
    let key = "daemon-e2e-key"

    init(completion: RunnerCompletion = .afterHistoryReads(2)) throws {
        directory = try CartflowProcess.temporaryDirectory("schedule-e2e")
        var configuration = SandboxConfiguration(
            apiKey: key, collections: [SandboxCollection(id: 101, name: "AU Laptops", items: 250)])
        configuration.completion = completion
        configuration.seed = 42
        server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("workflows"), withIntermediateDirectories: true)
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var environment: [String: String] {
        ["MULTICART_API_KEY": key, "MULTICART_BASE_URL": server.baseURL!.absoluteString]
    }

    func run(_ arguments: [String]) async throws -> CartflowProcess.Result {
        try await CartflowProcess.run(arguments, in: directory, environment: environment)
    }

    var triggers: Int { server.requestLog().filter { $0.endpoint == .trigger }.count }

    func files(under relative: String) -> [String] {
        let root = directory.appendingPathComponent(relative)
        return ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).map {
            root.appendingPathComponent($0).path
        }
    }
}

/// A running `cartflow` whose stderr the test can watch line by line.
final class StreamingProcess: @unchecked Sendable {
    let process: Process
    private let out: Pipe
    private let err: Pipe
    private let lock = NSLock()
    private var stderrText = ""
    private var watchers: [(String, CheckedContinuation<Void, Never>)] = []

    init(_ arguments: [String], e: DaemonSandbox) throws {
        (process, out, err) = try CartflowProcess.start(arguments, in: e.directory, environment: e.environment)
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.received(handle.availableData)
        }
    }

    private func received(_ data: Data) {
        let ready: [CheckedContinuation<Void, Never>] = lock.withLock {
            stderrText += String(decoding: data, as: UTF8.self)
            let text = stderrText
            // Empty data is the end of the stream: release every watcher so a failing test does not hang.
            let ended = data.isEmpty
            let (done, waiting) = (
                watchers.filter { ended || text.contains($0.0) }, watchers.filter { !ended && !text.contains($0.0) }
            )
            watchers = waiting
            return done.map(\.1)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once stderr contains `text` (or the process ends, so a failing test does not hang).
    func waitFor(_ text: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if stderrText.contains(text) || !process.isRunning { return true }
                watchers.append((text, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    struct Result {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    func finish() async -> Result {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [self] in
                let stdout = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                err.fileHandleForReading.readabilityHandler = nil
                received(err.fileHandleForReading.readDataToEndOfFile())
                continuation.resume(
                    returning: Result(
                        exitCode: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                        stderr: lock.withLock { stderrText }))
            }
        }
    }
}
