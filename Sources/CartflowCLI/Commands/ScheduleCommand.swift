import CartflowCore
import CartflowRuntime
import Foundation
import MultiCart
import MultiCartSandbox

/// `cartflow schedule PATH...` — run workflows on their schedules until stopped, or once for cron and CI.
enum ScheduleCommand: Command {
    static let name = "schedule"
    static let summary = "run workflows on their schedules until stopped; --once for cron/CI"
    static let help = """
        USAGE: cartflow schedule PATH... [options]

        Loads every workflow file (files, or folders of *.yaml) and runs each workflow that has a `schedule:`
        once per slot, through the same runner as `cartflow run`. The last slot of each workflow is stored in
        the state database before its run starts, so a restart or a clock change never fires a slot twice.
        Missed slots follow `catch_up`, a slot due while the previous run is going follows `overlap`.
        Edited files are reloaded; an invalid edit keeps the last valid version. SIGTERM or SIGINT stops the
        daemon: runs in flight stop at their next checkpoint, and the next run resumes them. One line per
        decision on stderr; run summaries on stdout. Rules: docs/schedules.md.

        OPTIONS:
          --once                fire whatever is due now, wait for those runs, and exit (for cron and CI)
          --tolerance DURATION  how late a slot may be decided and still run as due now (default 60s); with
                                --once from cron, the cron interval (5m), or catch_up: none misses slots
          --sandbox             run against one embedded MultiCart emulator seeded with all the workflows
          --sandbox-credits N   credits of the embedded emulator (default 100000)
          --state PATH          the state database (default .cartflow/state.db; with --sandbox
                                .cartflow/sandbox/state.db, apart from real runs and slots)
          --quiet, --verbose    less or more on stderr

        EXIT CODES: 0 stopped by a signal, or --once with every run succeeded (or nothing due)
                    2 usage · 3 no valid scheduled workflow (or, with --once, an invalid file)
                    with --once, the worst run: 1 failed (or needs attention: an unfinished run that no slot
                    can finish by itself) · 4 blocked by credits · 5 poll timed out · 6 partial
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(
            arguments, flags: ["once", "sandbox"], options: ["state", "sandbox-credits", "tolerance"])
        guard !args.positional.isEmpty else { throw UsageError("missing the workflow files or folders (PATH...)") }
        var options = Scheduler.Options()
        if let text = args.option("tolerance") {
            switch ValueParsers.duration(text) {
            case .success(let seconds) where seconds.value <= 86_400:
                options.tolerance = TimeInterval(seconds.value)
            case .success:
                throw UsageError("--tolerance is at most 1d, got '\(text)'")
            case .failure(let problem):
                throw UsageError("--tolerance must be a duration such as 60s or 5m, got '\(text)': \(problem.hint)")
            }
        }
        let output = context.output
        let useSandbox = args.flag("sandbox")
        let credits = try args.intOption("sandbox-credits", range: 0...100_000_000) ?? 100_000
        let log: @Sendable (String) -> Void = { output.progress($0) }
        // Before loading: a refused MULTICART_BASE_URL would otherwise read as an invalid file at every reload.
        _ = try WorkflowSession.baseURLOverride(context.environment)

        let files = WorkflowFiles(
            paths: args.positional.map(context.resolve),
            load: { path in try? WorkflowSession.load(path, context: context, sandbox: useSandbox) }, log: log,
            display: { [directory = context.currentDirectory] in
                WorkflowSession.displayPath($0, currentDirectory: directory)
            })
        files.refresh()
        let workflows = files.workflows
        let invalid = files.invalidFiles
        let scheduled = workflows.filter { $0.schedule != nil }
        guard !scheduled.isEmpty else {
            if workflows.isEmpty { return .invalidWorkflow }
            throw UsageError(
                "none of these workflows has a schedule: (\(workflows.map(\.name).joined(separator: ", "))); "
                    + "use `cartflow run` for manual runs")
        }
        for workflow in workflows where workflow.schedule == nil {
            log("\(workflow.name) has no schedule: (manual runs only); not scheduled")
        }

        // Better refused now than logged as a failure at every slot.
        if !useSandbox, let keyless = scheduled.first(where: { ($0.api.key?.value ?? "").isEmpty }) {
            throw MissingKey(reference: keyless.api.keyReference)
        }

        var sandbox: SandboxServer?
        var target: (baseURL: String, key: String)?
        if useSandbox {
            let started = try WorkflowSession.startSandbox(
                for: workflows, credits: credits, completion: .afterHistoryReads(3))
            sandbox = started.server
            target = (started.server.baseURL!.absoluteString, started.key)
            log("sandbox: MultiCart emulator at \(started.server.baseURL!.absoluteString) (\(credits) credits)")
        }
        defer { sandbox?.stop() }

        // Sandbox runs and their slots keep their own database, as with `run --sandbox`: a real schedule must
        // never take a sandbox slot as fired, nor a real run resume a sandbox run.
        let state = try StateStore(
            path: context.resolve(
                args.option("state") ?? (useSandbox ? ".cartflow/sandbox/state.db" : ".cartflow/state.db")))
        let fire: Scheduler.Fire = { [target] workflow, slot in
            var workflow = workflow
            if let target { workflow.api.baseURL = target.baseURL }
            let client = try WorkflowSession.client(for: workflow, key: target?.key, output: output)
            let executor = WorkflowSession.executor(
                for: workflow, client: client, state: state, context: context, prefix: "\(workflow.name): ")
            let report = try await executor.run()
            RunCommand.printSummary(report, output: output, redactor: client.redactor)
            // A run that cannot finish by itself is said at every slot, not logged as one more failed resume.
            return try report.scheduledOutcome()
        }
        // Monotonic sleep towards a wall-clock target; the poll interval caps it, so a wall-clock jump is seen
        // within one interval.
        let sleep: @Sendable (Date) async throws -> Void = { target in
            let seconds = target.timeIntervalSinceNow
            if seconds > 0 {
                try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up))))
            } else {
                try Task.checkCancellation()
            }
        }
        var reload: (@Sendable () -> [Workflow]?)?
        if !args.flag("once") { reload = { @Sendable in files.refresh() } }
        let scheduler = try Scheduler(
            workflows: workflows, state: state, options: options, now: { Date() }, sleep: sleep, fire: fire, log: log,
            reload: reload)

        log(
            "scheduling \(scheduled.count) workflow\(scheduled.count == 1 ? "" : "s")"
                + (args.flag("once") ? " once" : "; SIGTERM or Ctrl-C stops"))
        let once = args.flag("once")
        // The signal handlers go in before the daemon starts, so no signal finds the default action (exit).
        let stopper = Stopper()
        let signals = ShutdownSignals { number in
            log("\(ShutdownSignals.name(number)) received; stopping")
            stopper.stop()
            Task { await scheduler.cancelRuns() }
        }
        let task = Task { () -> [Scheduler.RunResult] in
            if once { return await scheduler.runOnce() }
            await scheduler.run()
            return []
        }
        stopper.set(task)
        let results = await task.value
        signals.cancel()
        guard once else { return .success }
        return exitCode(results: results, invalidFiles: !invalid.isEmpty)
    }

    /// `--once`: the worst run decides; an invalid file counts after failed runs.
    static func exitCode(results: [Scheduler.RunResult], invalidFiles: Bool) -> ExitCode {
        let codes = results.map { result -> ExitCode in
            // Interrupted runs resume later; a run another process was already doing is not this one's failure.
            if result.interrupted || result.skippedRunningElsewhere { return .success }
            // Resumed at every slot and never finishing: someone has to look.
            if result.needsAttention { return .failure }
            guard let outcome = result.outcome else { return .failure }
            return RunCommand.exitCode(for: outcome)
        }
        for code in [ExitCode.failure, .partial, .pollTimeout, .blockedByCredits] where codes.contains(code) {
            return code
        }
        return invalidFiles ? .invalidWorkflow : .success
    }
}

/// Cancels the daemon's task when a signal arrives, even one that arrives before the task exists.
private final class Stopper: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<[Scheduler.RunResult], Never>?
    private var stopped = false

    func set(_ task: Task<[Scheduler.RunResult], Never>) {
        let cancelNow: Bool = lock.withLock {
            self.task = task
            return stopped
        }
        if cancelNow { task.cancel() }
    }

    func stop() {
        let current: Task<[Scheduler.RunResult], Never>? = lock.withLock {
            stopped = true
            return task
        }
        current?.cancel()
    }
}
