import CartflowCore
import Foundation

/// The daemon behind `cartflow schedule`: keeps each scheduled workflow's last slot in the state database, wakes
/// at the next slot, asks `SlotDecider` what to do, and starts runs through the injected `fire` closure. Time,
/// sleeping and running are injected so tests drive it on a virtual clock. The rules are in docs/schedules.md.
public actor Scheduler {
    /// Starts one run of a workflow for a slot and returns its outcome. Throwing `CancellationError` means the
    /// run was interrupted at a checkpoint (resumable); `RunError.needsAttention` (`RunReport.scheduledOutcome()`)
    /// that it cannot finish by itself; any other error is logged as a failed run.
    public typealias Fire = @Sendable (Workflow, FireTime) async throws -> RunReport.Outcome

    public struct Options: Sendable {
        /// The longest sleep, in seconds: how soon a file edit, a wall-clock jump or the end of another
        /// process's run is noticed. Idle cost is one wake per interval, whatever the number of workflows.
        public var pollInterval: TimeInterval = 10
        /// A lease whose heartbeat is older than this belongs to a dead process (as in `Executor.Options`).
        public var leaseStaleAfter: TimeInterval = 60
        /// How late a slot may be and still count as due now (`SlotDecider.defaultTolerance`).
        public var tolerance: TimeInterval = SlotDecider.defaultTolerance

        public init() {}
    }

    /// One run the scheduler started, and how it ended.
    public struct RunResult: Sendable, Equatable {
        public var workflow: String
        public var slot: Date
        /// `nil` when the run threw (see `error`) or was interrupted.
        public var outcome: RunReport.Outcome?
        public var interrupted: Bool
        public var error: String?
        /// The run did not start because another process (a second scheduler, a `cartflow run`) was running the
        /// workflow when it tried to take the lease: skipped like `overlap: skip`, nothing spent, not a failure.
        public var skippedRunningElsewhere = false
        /// The run cannot finish by itself (`RunReport.attention`): every slot resumes it and none scrapes
        /// afresh until someone looks (`cartflow run --new`). Logged as such at every slot; `--once` exits 1.
        public var needsAttention = false
    }

    struct Entry {
        var workflow: Workflow
        var schedule: Schedule
        var lastSlot: Date?
        var queuedSlot: Date?
        /// When to decide next; `nil` when the schedule never fires again.
        var nextWake: Date?
    }

    private var entries: [String: Entry] = [:]
    /// Runs in flight by workflow name; at most one per workflow (the rest is overlap).
    private var runs: [String: Task<Void, Never>] = [:]
    private var results: [RunResult] = []
    private let state: StateStore
    private let options: Options
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Date) async throws -> Void
    private let fire: Fire
    private let log: @Sendable (String) -> Void
    private let reload: (@Sendable () -> [Workflow]?)?
    private let wake = WakeSignal()

    /// - Parameters:
    ///   - workflows: the workflows to schedule; those without a `schedule` are ignored.
    ///   - now: the wall clock (slots are wall-clock instants).
    ///   - sleep: waits until the given wall-clock instant, or throws to stop the daemon (cancellation).
    ///   - reload: called at each wake; returns the new set of workflows when files changed, else `nil`.
    public init(
        workflows: [Workflow], state: StateStore, options: Options = Options(),
        now: @escaping @Sendable () -> Date, sleep: @escaping @Sendable (Date) async throws -> Void,
        fire: @escaping Fire, log: @escaping @Sendable (String) -> Void,
        reload: (@Sendable () -> [Workflow]?)? = nil
    ) throws {
        self.state = state
        self.options = options
        self.now = now
        self.sleep = sleep
        self.fire = fire
        self.log = log
        self.reload = reload
        let start = now()
        for workflow in Self.unique(workflows, log: log) {
            guard let schedule = workflow.schedule else { continue }
            entries[workflow.name] = try Self.entry(workflow, schedule: schedule, state: state, now: start)
        }
    }

    /// A new entry from the state database; due at once, so the first tick decides it (first start or catch-up).
    private static func entry(_ workflow: Workflow, schedule: Schedule, state: StateStore, now: Date) throws -> Entry {
        let stored = try state.scheduleSlots(workflow: workflow.name)
        return Entry(
            workflow: workflow, schedule: schedule, lastSlot: stored.flatMap { SlotText.parse($0.lastSlot) },
            queuedSlot: stored?.queuedSlot.flatMap(SlotText.parse), nextWake: now)
    }

    /// The workflows with distinct names, the first file winning: two files with one name would share a slot.
    private static func unique(_ workflows: [Workflow], log: @Sendable (String) -> Void) -> [Workflow] {
        var seen: [String: String] = [:]
        var result: [Workflow] = []
        for workflow in workflows {
            if let first = seen[workflow.name] {
                log(
                    "\(workflow.name) is the name of both \(first) and \(workflow.sourcePath); "
                        + "only \(first) is scheduled (names must be unique)")
                continue
            }
            seen[workflow.name] = workflow.sourcePath
            result.append(workflow)
        }
        return result
    }

    // MARK: Queries (for tests and the command)

    /// The names of the workflows being scheduled, sorted.
    public var scheduledWorkflows: [String] { entries.keys.sorted() }
    /// Every run started so far, in the order they ended.
    public var finishedRuns: [RunResult] { results }
    /// Whether a run of the workflow is going in this process.
    public func isRunning(_ workflow: String) -> Bool { runs[workflow] != nil }
    public func lastSlot(of workflow: String) -> Date? { entries[workflow]?.lastSlot }
    public func queuedSlot(of workflow: String) -> Date? { entries[workflow]?.queuedSlot }

    /// The earliest instant any workflow needs a decision; `nil` when nothing will ever fire.
    public var nextWake: Date? {
        var earliest: Date?
        // A slot queued behind a run in another process is looked at again at each poll (see `run`).
        for entry in entries.values {
            if let wake = entry.nextWake, earliest.map({ wake < $0 }) ?? true { earliest = wake }
        }
        return earliest
    }

    // MARK: Changes to the workflows

    /// Replaces the set of workflows (after files changed). A workflow keeps its slots; one whose schedule
    /// changed starts from now: slots of the new schedule that lie in the past are not caught up, and no slot
    /// at or before the last one decided ever runs. A run in flight keeps the version it started with.
    public func update(_ workflows: [Workflow]) {
        let current = now()
        var kept: Set<String> = []
        for workflow in Self.unique(workflows, log: log) {
            guard let schedule = workflow.schedule else { continue }
            kept.insert(workflow.name)
            if var entry = entries[workflow.name] {
                entry.workflow = workflow
                if entry.schedule.slotFingerprint != schedule.slotFingerprint {
                    entry.schedule = schedule
                    let from = current.addingTimeInterval(-options.tolerance)
                    if entry.lastSlot.map({ $0 < from }) ?? true { entry.lastSlot = from }
                    // Only forward: another scheduler may have decided later slots meanwhile.
                    let fingerprint = schedule.slotFingerprint
                    let record = try? state.claimScheduleSlots(workflow: workflow.name) { stored in
                        let storedLast = stored.flatMap { SlotText.parse($0.lastSlot) }
                        let last = max(storedLast ?? from, from)
                        return ScheduleSlotRecord(
                            lastSlot: SlotText.format(last),
                            queuedSlot: stored?.queuedSlot ?? entry.queuedSlot.map(SlotText.format),
                            fingerprint: fingerprint)
                    }.record
                    if let last = record.flatMap({ SlotText.parse($0.lastSlot) }), last > from {
                        entry.lastSlot = last
                    }
                    entry.nextWake = current
                    log("\(workflow.name) schedule changed; slots from now on follow the new schedule")
                } else {
                    // `catch_up` and `overlap` apply from the next decision; a slot already queued stays queued.
                    entry.schedule = schedule
                }
                entries[workflow.name] = entry
            } else {
                do {
                    entries[workflow.name] = try Self.entry(workflow, schedule: schedule, state: state, now: current)
                    log("\(workflow.name) is scheduled (\(workflow.sourcePath))")
                } catch {
                    log("\(workflow.name) is not scheduled: the state database failed: \(Executor.describe(error))")
                }
            }
        }
        for name in entries.keys where !kept.contains(name) {
            entries[name] = nil
            log("\(name) is no longer scheduled" + (runs[name] != nil ? "; its run in flight goes on" : ""))
        }
    }

    // MARK: Deciding

    /// Decides every workflow that is due at `now()`, stores the slots and starts the runs; returns the next
    /// instant a decision is needed. Workflows that are not due cost nothing.
    @discardableResult
    public func tick() -> Date? {
        let current = now()
        for name in entries.keys.sorted() {
            guard let entry = entries[name] else { continue }
            let due =
                (entry.nextWake.map { $0 <= current } ?? false) || (entry.queuedSlot != nil && runs[name] == nil)
            if due { decide(name, entry, at: current) }
        }
        return nextWake
    }

    /// Decides one workflow and claims the slots it fires. The state database, not this daemon's memory, is the
    /// truth: another scheduler on the same database (a second daemon, `schedule --once` from cron) may have
    /// decided slots since this one last looked. So the stored slots are read, the decision made from them and
    /// stored in one transaction (`StateStore.claimScheduleSlots`); only slots this claim stored are fired.
    private func decide(_ name: String, _ entry: Entry, at current: Date) {
        var entry = entry
        let running = runs[name] != nil || runningElsewhere(name, at: current)
        let schedule = entry.schedule
        let fingerprint = schedule.slotFingerprint
        let tolerance = options.tolerance
        let remembered = (lastSlot: entry.lastSlot, queuedSlot: entry.queuedSlot)
        var decision: SlotDecision?
        var proposal: ScheduleSlotRecord?
        var firedElsewhere: [FireTime] = []
        var changedSince: String?
        let claim: (claimed: Bool, record: ScheduleSlotRecord?)
        do {
            claim = try state.claimScheduleSlots(workflow: name) { stored in
                // A slot stored later than the one remembered was decided by another scheduler: start from it.
                var last = remembered.lastSlot
                var queued = remembered.queuedSlot
                if let stored, let storedLast = SlotText.parse(stored.lastSlot), last.map({ storedLast >= $0 }) ?? true
                {
                    last = storedLast
                    queued = stored.queuedSlot.flatMap(SlotText.parse)
                    if storedLast != remembered.lastSlot || queued != remembered.queuedSlot {
                        // What this daemon would have fired from its memory and another scheduler has decided.
                        let fromMemory = SlotDecider.decide(
                            schedule, lastSlot: remembered.lastSlot, now: current, runInProgress: running,
                            queuedSlot: remembered.queuedSlot, tolerance: tolerance)
                        firedElsewhere = fromMemory.slotsToRun.filter {
                            $0.instant <= storedLast && $0.instant != queued
                        }
                    }
                }
                // The stored slot belongs to another schedule (edited while no daemon watched, or by another
                // scheduler's version of the file): the new schedule's past slots were never due; start from now.
                if let stored, let old = stored.fingerprint, old != fingerprint {
                    changedSince = stored.lastSlot
                    let from = current.addingTimeInterval(-tolerance)
                    if last.map({ $0 < from }) ?? true { last = from }
                }
                let made = SlotDecider.decide(
                    schedule, lastSlot: last, now: current, runInProgress: running, queuedSlot: queued,
                    tolerance: tolerance)
                decision = made
                guard let newLast = made.lastSlot else { return nil }
                let record = ScheduleSlotRecord(
                    lastSlot: SlotText.format(newLast), queuedSlot: made.queuedSlot.map(SlotText.format),
                    fingerprint: fingerprint)
                guard record != stored else { return nil }
                proposal = record
                return record
            }
        } catch {
            // Without the record a restart could fire the slot again; decide again at the next wake.
            log("\(name): cannot claim the slot in the state database (\(Executor.describe(error))); not firing")
            entry.nextWake = current.addingTimeInterval(options.pollInterval)
            entries[name] = entry
            return
        }
        if let changedSince {
            log(
                "\(name) schedule changed since its last slot (\(changedSince)) was stored; slots from now on follow "
                    + "the new schedule, its past slots are not caught up")
        }
        for slot in firedElsewhere {
            log(
                "\(name) \(slot.local) (\(slot.utcText)) slot already fired by another scheduler "
                    + "(the state database records it); not firing it again")
        }
        guard let decision else { return }
        if proposal != nil && !claim.claimed {
            // The store never moves a slot backwards: it holds a later one than this daemon decided from.
            log("\(name) slot already fired by another scheduler (the state database holds a later slot); not firing")
            entry.lastSlot = claim.record.flatMap { SlotText.parse($0.lastSlot) } ?? entry.lastSlot
            entry.queuedSlot = claim.record?.queuedSlot.flatMap(SlotText.parse)
            entry.nextWake = current.addingTimeInterval(options.pollInterval)
            entries[name] = entry
            return
        }
        for action in decision.actions {
            log("\(name) \(action)" + (action.slot.explanation.map { " (\($0))" } ?? ""))
        }
        entry.lastSlot = decision.lastSlot
        entry.queuedSlot = decision.queuedSlot
        entry.nextWake = decision.nextWake
        entries[name] = entry
        let slots = decision.slotsToRun
        if !slots.isEmpty { start(name, workflow: entry.workflow, slots: slots) }
    }

    /// Whether another process holds the workflow's lease (a `cartflow run` or a second daemon).
    private func runningElsewhere(_ name: String, at current: Date) -> Bool {
        do {
            return try state.liveLeaseHolder(
                workflow: name, now: current.timeIntervalSince1970, staleAfter: options.leaseStaleAfter) != nil
        } catch {
            log(
                "\(name): cannot read the lease from the state database (\(Executor.describe(error))); assuming a run is going"
            )
            return true
        }
    }

    // MARK: Running

    /// Runs the slots one after another in a task of their own; the loop goes on deciding other workflows.
    private func start(_ name: String, workflow: Workflow, slots: [FireTime]) {
        let fire = self.fire
        let log = self.log
        runs[name] = Task {
            var finished: [RunResult] = []
            for slot in slots {
                if Task.isCancelled {
                    log("\(name) \(slot.utcText) not started: the scheduler is stopping")
                    break
                }
                var result = RunResult(
                    workflow: name, slot: slot.instant, outcome: nil, interrupted: false, error: nil)
                do {
                    let outcome = try await fire(workflow, slot)
                    result.outcome = outcome
                    log("\(name) \(slot.utcText) " + Self.text(outcome))
                } catch let error as RunError {
                    if case .needsAttention = error {
                        result.needsAttention = true
                        result.error = error.description
                        log("\(name) \(slot.utcText) needs attention: \(error.description)")
                    } else if case .leaseHeld(_, let pid, let host) = error {
                        // Another scheduler or a `cartflow run` took the lease first: it is that process's run.
                        result.skippedRunningElsewhere = true
                        log(
                            "\(name) \(slot.utcText) run skipped: process \(pid) on \(host) is running the workflow "
                                + "(another scheduler or a `cartflow run`); nothing spent")
                    } else {
                        result.error = error.description
                        log("\(name) \(slot.utcText) run failed: \(error.description)")
                    }
                } catch is CancellationError {
                    result.interrupted = true
                    log("\(name) \(slot.utcText) run interrupted at a checkpoint; the next run resumes it")
                } catch {
                    result.error = Executor.describe(error)
                    log("\(name) \(slot.utcText) run failed: \(Executor.describe(error))")
                }
                finished.append(result)
            }
            self.runFinished(name, results: finished)
        }
    }

    static func text(_ outcome: RunReport.Outcome) -> String {
        switch outcome {
        case .succeeded: "run succeeded"
        case .blocked: "blocked by credits: the run did not start (nothing spent)"
        case .skipped: "run skipped: credits are short (on_insufficient: skip)"
        case .timedOut: "run still going at the poll timeout; the next run resumes it"
        case .partial: "run partial: some collections failed"
        case .failed: "run failed"
        }
    }

    private func runFinished(_ name: String, results finished: [RunResult]) {
        runs[name] = nil
        results.append(contentsOf: finished)
        // A queued slot can run now: wake the loop rather than wait for the next slot.
        if entries[name]?.queuedSlot != nil { wake.signal() }
    }

    /// Cancels every run in flight: each stops at its next checkpoint and stays resumable.
    public func cancelRuns() {
        for task in runs.values { task.cancel() }
    }

    /// Waits until no run is in flight.
    public func waitForRuns() async {
        while let task = runs.values.first {
            await task.value
        }
    }

    // MARK: Loops

    /// Fires whatever is due now, waits for those runs, and returns them (`cartflow schedule --once`).
    public func runOnce() async -> [RunResult] {
        let before = results.count
        tick()
        await waitForRuns()
        return Array(results[before...])
    }

    /// Runs until its task is cancelled or `sleep` throws: reload changed files, decide what is due, sleep until
    /// the next slot (at most `pollInterval`), or until a run ends with a slot queued behind it. On the way out,
    /// runs in flight are cancelled and awaited: each stops at its next checkpoint and stays resumable.
    public func run() async {
        do {
            while true {
                try Task.checkCancellation()
                if let changed = reload?() { update(changed) }
                let current = now()
                let limit = current.addingTimeInterval(options.pollInterval)
                let target = tick().map { min($0, limit) } ?? limit
                try await sleepOrWake(until: target)
            }
        } catch {
            // Cancellation (a signal) or the injected sleep stopping: both mean shut down.
        }
        await shutdown()
    }

    private func sleepOrWake(until target: Date) async throws {
        let sleep = self.sleep
        let wake = self.wake
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await sleep(target) }
            group.addTask { await wake.wait() }
            try await group.next()
            group.cancelAll()
        }
    }

    private func shutdown() async {
        let inFlight = runs.keys.sorted()
        if !inFlight.isEmpty {
            log("stopping: interrupting \(inFlight.joined(separator: ", ")) at the next checkpoint")
        }
        for task in runs.values { task.cancel() }
        await waitForRuns()
        log("stopped")
    }
}

/// Slots as stored in the state database: UTC, whole seconds, `2024-05-04T08:00:00Z`.
enum SlotText {
    static func format(_ date: Date) -> String {
        formatter().string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
    }

    static func parse(_ text: String) -> Date? { formatter().date(from: text) }

    private static func formatter() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }
}
