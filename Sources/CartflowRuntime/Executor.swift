import CartflowCore
import Foundation
import MultiCart

/// Runs a workflow for real: credits → trigger → poll → fetch per collection, then the export steps.
/// Every decision that costs money is committed to the state database before it is acted on, so a crash at
/// any point is resumed by the next run without a second trigger.
public struct Executor: Sendable {
    public struct Options: Sendable {
        /// Start a fresh run even when an unfinished one exists (which is then marked abandoned).
        public var startNew = false
        /// Where downloaded result files are kept (per run, collection and runner below it).
        public var downloadsDirectory: String
        /// The directory relative export paths are resolved against.
        public var workingDirectory: String
        /// A lease whose heartbeat is older than this is taken over.
        public var leaseStaleAfter: Duration = Options.defaultLeaseStaleAfter
        /// The lease timeout `run` uses, and `status` judges leases by.
        public static let defaultLeaseStaleAfter: Duration = .seconds(60)
        public var heartbeatEvery: Duration = .seconds(10)
        /// The clock the heartbeat waits on: real time, whatever clock drives the run, since it tells other
        /// processes that this one is alive. Tests replace it to make a heartbeat happen at a chosen moment.
        public var heartbeatClock: any RuntimeClock = SystemClock()
        /// Wait for another process's lease to be released (checking every `leaseCheckEvery`) instead of refusing.
        public var waitForLease = false
        public var leaseCheckEvery: Duration = .seconds(2)

        public init(downloadsDirectory: String, workingDirectory: String, startNew: Bool = false) {
            self.downloadsDirectory = downloadsDirectory
            self.workingDirectory = workingDirectory
            self.startNew = startNew
        }
    }

    public let workflow: Workflow
    public let client: MultiCartClient
    public let state: StateStore
    public let clock: any RuntimeClock
    public let options: Options
    /// Progress lines for stderr.
    public let progress: @Sendable (String) -> Void
    /// Detail lines for --verbose.
    public let detail: @Sendable (String) -> Void
    /// The wall clock, only for names of files (`{date}`) and records; never for timing.
    public let wallClock: @Sendable () -> Date
    /// Collections this invocation sent a trigger for (what it spent, as opposed to what it resumed).
    private let sentTriggers = LockedSet()
    /// The lease this run holds, set once it is taken: every write to the state database checks it in its own
    /// transaction, so a process that lost the lease (paused past the lease timeout, taken over) records nothing
    /// more and never records the intent it would need to trigger.
    private var lease: LeaseClaim?

    public init(
        workflow: Workflow, client: MultiCartClient, state: StateStore, clock: any RuntimeClock = SystemClock(),
        options: Options, progress: @escaping @Sendable (String) -> Void = { _ in },
        detail: @escaping @Sendable (String) -> Void = { _ in }, wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.workflow = workflow
        self.client = client
        self.state = state
        self.clock = clock
        self.options = options
        self.progress = progress
        self.detail = detail
        self.wallClock = wallClock
    }

    /// Runs (or resumes) the workflow and reports what happened. Throws only for problems outside a run's
    /// normal outcomes (the state database failing, another process holding or taking over the lease), and
    /// `CancellationError` when its task is cancelled: the run is then left resumable, not failed.
    public func run() async throws -> RunReport {
        let holder = UUID().uuidString
        let wallNow: @Sendable () -> Double = { [wallClock] in wallClock().timeIntervalSince1970 }
        var announced = false
        while let current = try state.acquireLease(
            workflow: workflow.name, holder: holder, now: wallNow(),
            staleAfter: Double(options.leaseStaleAfter.components.seconds))
        {
            guard options.waitForLease else {
                throw RunError.leaseHeld(workflow: workflow.name, pid: current.pid, host: current.host)
            }
            if !announced {
                progress(
                    "workflow '\(workflow.name)' is being run by process \(current.pid) on \(current.host); waiting for it"
                )
                announced = true
            }
            try await clock.sleep(for: options.leaseCheckEvery)
        }
        defer { try? state.releaseLease(workflow: workflow.name, holder: holder) }
        var leased = self
        leased.lease = LeaseClaim(workflow: workflow.name, holder: holder)
        do {
            // The run and its heartbeat side by side: whichever ends first ends the other. A heartbeat that finds
            // the lease lost (or cannot renew it) cancels the run at its next checkpoint; the writes it might still
            // attempt before then are refused by their own lease check.
            return try await withThrowingTaskGroup(of: RunReport?.self) { group in
                group.addTask { [leased] in try await leased.runHoldingLease() }
                group.addTask { [leased] in
                    try await leased.keepLease(holder: holder, now: wallNow)
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let report = result { return report }
                }
                throw CancellationError()
            }
        } catch let lost as LeaseLostError {
            throw RunError.leaseLost(workflow: workflow.name, pid: lost.current?.pid, host: lost.current?.host)
        }
    }

    /// Renews the lease every `heartbeatEvery` until cancelled; throws when the lease was lost or cannot be renewed.
    private func keepLease(holder: String, now: @Sendable () -> Double) async throws {
        while true {
            try await options.heartbeatClock.sleep(for: options.heartbeatEvery)
            do {
                try state.heartbeat(workflow: workflow.name, holder: holder, now: now())
            } catch let lost as LeaseLostError {
                throw lost
            } catch {
                // Without a heartbeat the lease goes stale and another process may take the run over while this
                // one goes on: stop instead (the run stays resumable).
                throw RunError.leaseNotRenewed(workflow: workflow.name, detail: Self.describe(error))
            }
        }
    }

    private func runHoldingLease() async throws -> RunReport {
        let collections = workflow.collections.map { (name: $0.name, id: $0.id) }
        var resumed = false
        var changes: [StateStore.CollectionChange] = []
        var run: WorkflowRunRecord
        if let unfinished = try state.unfinishedRun(workflow: workflow.name) {
            if options.startNew {
                // Say what is given up: a paid runner not fetched, or a trigger whose outcome is unknown.
                let left = try state.collectionRuns(runID: unfinished.id).compactMap { row -> String? in
                    if let runner = row.runnerID, row.phase != "fetched" {
                        return "\(row.collection)'s runner \(runner) (paid for, not fetched)"
                    }
                    if row.runnerID == nil, row.intentAt != nil, row.phase != "not_triggered", row.phase != "blocked" {
                        return "\(row.collection)'s trigger (its runner, if any, never identified)"
                    }
                    return nil
                }
                try state.abandonRun(unfinished.id, lease: lease)
                progress(
                    "abandoned unfinished run #\(unfinished.id) (--new)"
                        + (left.isEmpty
                            ? "" : "; left behind: \(left.joined(separator: ", "))"))
                run = try state.createRun(
                    workflow: workflow.name, sourcePath: workflow.sourcePath, collections: collections, lease: lease)
            } else {
                run = unfinished
                resumed = true
                // Rows are matched by name and collection id: a renamed key keeps its row (never triggered
                // again), a changed id retires the old row (its runner is never adopted under the new id).
                changes = try state.ensureCollections(runID: run.id, collections: collections, lease: lease)
                progress("resuming run #\(run.id) of \(workflow.name), started \(run.startedAt)")
                for change in changes {
                    switch change {
                    case .renamed(let from, let to, let id):
                        progress(
                            "\(to): collection \(id) was '\(from)' in this run; carrying its trigger, runner and "
                                + "files over under the new name (no new trigger)")
                    case .replaced(let name, let oldID, let newID, _):
                        progress(
                            "\(name): the workflow now names collection \(newID) (was \(oldID)); collection "
                                + "\(oldID)'s record in this run is treated as removed, \(newID) starts afresh")
                    }
                }
            }
        } else {
            run = try state.createRun(
                workflow: workflow.name, sourcePath: workflow.sourcePath, collections: collections, lease: lease)
            progress("run #\(run.id) of \(workflow.name)")
        }
        do {
            return try await carryOut(run, resumed: resumed, changes: changes)
        } catch let error where !(error is CancellationError) && !(error is LeaseLostError) {
            // An error that ends the run early (the key refused, the API unreachable) is recorded, so the run
            // does not read `running` with no process behind it; `failed` is resumed like any unfinished run.
            // (A run whose lease was lost records nothing: it belongs to the process that took it over.)
            try? state.finishRun(run.id, status: "failed", detail: Self.describe(error), lease: lease)
            throw error
        }
    }

    /// Reconcile → credits → trigger, poll, fetch → export for one run record.
    private func carryOut(
        _ run: WorkflowRunRecord, resumed: Bool, changes: [StateStore.CollectionChange] = []
    ) async throws -> RunReport {
        var messages: [String] = []
        // An intent without its answer (a crash between commit and answer) is settled against the run history
        // before anything else, so the credit check and the triggers below see what was really spent.
        let unsettled = try state.collectionRuns(runID: run.id).filter { record in
            workflow.collections.contains { $0.name == record.collection } && Self.needsReconciliation(record)
        }
        var failed: Set<String> = []
        for record in unsettled {
            guard let spec = workflow.collection(named: record.collection) else { continue }
            progress("\(spec.name): an earlier run recorded a trigger without its answer; checking the run history")
            do {
                _ = try await attribute(record, spec: spec, afterCrash: true)
            } catch {
                failed.insert(record.collection)
                messages.append(Self.describe(error, of: record.collection))
            }
        }
        // A trigger recorded as refused is looked at again before it is sent again: if its collection gained a
        // runner since, the refusal may have been misread (an older cartflow took any envelope error for one).
        let refused = try state.collectionRuns(runID: run.id).filter { record in
            workflow.collections.contains { $0.name == record.collection } && Self.isRecordedRefusal(record)
        }
        for record in refused {
            guard let spec = workflow.collection(named: record.collection) else { continue }
            do {
                try await reconcileRefusal(record, spec: spec)
            } catch {
                failed.insert(record.collection)
                messages.append(Self.describe(error, of: record.collection))
            }
        }
        // A trigger recorded as not observed (no runner appeared within the grace period) is looked at again by
        // every later run, read-only: a runner that appeared since, however late, is adopted rather than left
        // behind while `--new` pays again. Not one just recorded above (its grace period has only now ended).
        let unobserved = try state.collectionRuns(runID: run.id).filter { record in
            workflow.collections.contains { $0.name == record.collection } && Self.isUnobserved(record)
                && !failed.contains(record.collection)
        }
        for record in unobserved {
            guard let spec = workflow.collection(named: record.collection) else { continue }
            do {
                try await adoptLateRunner(record, spec: spec)
            } catch {
                failed.insert(record.collection)
                messages.append(Self.describe(error, of: record.collection))
            }
        }
        let records = try state.collectionRuns(runID: run.id).filter { record in
            workflow.collections.contains { $0.name == record.collection }
        }
        let fetchedBefore = Set(records.filter { $0.phase == "fetched" }.map(\.collection))

        // Credits: only collections that still need a trigger cost anything, and only they are gated. Those
        // already triggered (an intent or a runner, paid for) advance whatever the credits say — poll, fetch,
        // export — side by side with the credit decision. One whose history could not be read above is neither
        // triggered (nor reset to pending) nor advanced until it can be.
        let toTrigger = records.filter { Self.needsTrigger($0) && !failed.contains($0.collection) }
        let triggered = records.filter { !Self.needsTrigger($0) && !failed.contains($0.collection) }
        let advanced = try await advance(triggered: triggered, toTrigger: toTrigger, runID: run.id)
        var blockedByRules = false
        var skippedByRules = false
        switch advanced.credits {
        case .blocked(let reason)?:
            messages.append(reason)
            blockedByRules = true
        case .skipped(let reason)?:
            messages.append(reason)
            skippedByRules = true
        case .proceed?, nil: break
        }
        // A cancelled run (the scheduler stopping, the heartbeat finding the lease lost) stops here, before
        // exports and before any status is written: each collection's phase is already recorded, the run stays
        // 'running', and the next run resumes it instead of paying again. A lease lost meanwhile (a collection's
        // write was refused) stops the run here too, before any export file is written.
        try Task.checkCancellation()
        try verifyLease()
        messages.append(contentsOf: advanced.ends.compactMap(\.message).sorted())

        // Exports over whatever has been fetched.
        let allRecords = try state.collectionRuns(runID: run.id)
        let finalRecords = allRecords.filter { record in
            workflow.collections.contains { $0.name == record.collection }
        }
        // A collection edited out of the file while its trigger was already paid for is not forgotten silently.
        // One whose name now stands for another collection id (replaced) is named as it was.
        var replacedNames: [String: String] = [:]
        for case .replaced(let name, let oldID, let newID, let storedAs) in changes {
            replacedNames[storedAs] = "\(name) (collection \(oldID), now \(newID) in the workflow)"
        }
        for record in allRecords where !finalRecords.contains(where: { $0.id == record.id }) {
            guard record.phase != "fetched" else { continue }
            let name = replacedNames[record.collection] ?? record.collection
            let gone =
                replacedNames[record.collection] != nil
                ? "collection \(record.collectionID) is no longer in the workflow under this name"
                : "no longer in the workflow"
            if let runner = record.runnerID {
                messages.append(
                    "\(name): \(gone); its runner \(runner) (paid for) was not fetched and is left behind")
            } else if record.intentAt != nil && record.phase != "not_triggered" {
                messages.append(
                    "\(name): \(gone); a trigger was sent for it and its runner, never identified, is left behind")
            }
        }
        // Collections no later run can finish by itself: the run needs a person (see `attention`).
        let missingRunners = Set(advanced.ends.filter(\.runnerMissing).map(\.collection))
        let attention = finalRecords.compactMap { record in
            Self.attentionReason(record, runnerMissing: missingRunners.contains(record.collection))
        }
        // A run that needs attention is resumed by every later run (and scheduler slot) without ever finishing:
        // a step it already wrote from the same files is not written again each time, as if it were new.
        let writtenBefore = attention.isEmpty ? [] : try state.exports(runID: run.id)
        var exports: [RunReport.ExportResult] = []
        var exportFailed = false
        // The files this run's steps write (folded absolute paths) and which step writes each: a template the
        // loader cannot tell apart from another (`out/{date}.csv` beside `out/2026-12-04.csv`) may still name
        // the same file on the day, and the second step must not silently replace the first one's file.
        var claimed: [String: Int] = [:]
        let fetched = Set(finalRecords.filter { $0.phase == "fetched" }.map(\.collection))
        if !fetched.isEmpty {
            for (index, step) in workflow.steps.enumerated() {
                let wanted = step.from ?? workflow.collections.map(\.name)
                let missing = wanted.filter { !fetched.contains($0) }
                if !missing.isEmpty {
                    messages.append(
                        "step \(index + 1) (\(step.format.rawValue) → \(step.path)) not written: "
                            + "\(missing.joined(separator: ", ")) not fetched")
                    continue
                }
                let earlier = writtenBefore.filter { $0.step == index }
                if !earlier.isEmpty && wanted.allSatisfy(fetchedBefore.contains)
                    && earlier.allSatisfy({ FileManager.default.fileExists(atPath: resolve($0.path)) })
                {
                    messages.append(
                        "step \(index + 1) (\(step.format.rawValue) → \(step.path)) not written again: an earlier "
                            + "attempt of run #\(run.id) wrote it from the same files, and the run needs attention")
                    continue
                }
                do {
                    exports += try export(
                        step, index: index, collections: wanted, records: finalRecords, run: run, claimed: &claimed)
                } catch let lost as LeaseLostError {
                    throw lost
                } catch {
                    exportFailed = true
                    messages.append(
                        "step \(index + 1) (\(step.format.rawValue) → \(step.path)) failed: \(Self.describe(error))")
                }
            }
        }

        let outcome = Self.outcome(
            phases: finalRecords.map(\.phase), blockedByRules: blockedByRules, skippedByRules: skippedByRules,
            exportFailed: exportFailed)
        let status: String =
            switch outcome {
            case .succeeded: "succeeded"
            case .blocked: "blocked"
            case .skipped: "skipped"
            case .timedOut: "timed_out"
            case .partial: "partial"
            case .failed: "failed"
            }
        try state.finishRun(run.id, status: status, detail: messages.first, lease: lease)
        return try report(
            run: run, resumed: resumed, outcome: outcome, exports: exports, messages: messages, attention: attention)
    }

    /// An export path as recorded (relative to the working directory unless absolute), resolved.
    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (options.workingDirectory as NSString).appendingPathComponent(path)
    }

    /// How one collection's turn ended in this run: the message for the summary, if it did not get fetched.
    struct CollectionEnd: Sendable {
        var collection: String
        var message: String?
        /// Its recorded runner is not in the run history (looked twice).
        var runnerMissing = false
    }

    /// What the credit decision and the collections' turns came to.
    struct Advanced: Sendable {
        /// Nil when nothing needed a trigger.
        var credits: CreditDecision?
        var ends: [CollectionEnd]
    }

    private enum Branch: Sendable {
        case collection(CollectionEnd)
        case credits(CreditDecision, [CollectionEnd])
        case creditsFailed(any Error)
    }

    /// Trigger → poll → fetch, collections in parallel. The collections already triggered start at once; those
    /// still to be triggered wait for the credit decision, which gates only them (blocked or skipped, they are
    /// recorded so and not triggered). An error of the decision itself (the balance unreadable, the key refused)
    /// is thrown once the triggered collections have had their turn.
    private func advance(triggered: [CollectionRunRecord], toTrigger: [CollectionRunRecord], runID: Int)
        async throws -> Advanced
    {
        let branches = await withTaskGroup(of: Branch.self) { group in
            for record in triggered {
                guard let spec = workflow.collection(named: record.collection) else { continue }
                group.addTask { .collection(await self.advanceRecordingFailure(record, spec: spec, runID: runID)) }
            }
            if !toTrigger.isEmpty {
                group.addTask {
                    do {
                        return try await self.decideAndTrigger(toTrigger, runID: runID)
                    } catch {
                        return .creditsFailed(error)
                    }
                }
            }
            var branches: [Branch] = []
            for await branch in group { branches.append(branch) }
            return branches
        }
        var result = Advanced(credits: nil, ends: [])
        for branch in branches {
            switch branch {
            case .collection(let end): result.ends.append(end)
            case .credits(let decision, let ends):
                result.credits = decision
                result.ends += ends
            case .creditsFailed(let error): throw error
            }
        }
        return result
    }

    /// The credit decision for the collections still to be triggered, recorded on each, then their turns.
    private func decideAndTrigger(_ toTrigger: [CollectionRunRecord], runID: Int) async throws -> Branch {
        let decision = try await checkCredits(for: toTrigger)
        switch decision {
        case .proceed(let counts):
            // A collection blocked or skipped by an earlier attempt is a fresh decision now: back to pending.
            for record in toTrigger {
                try state.recordPhase(
                    record.id, phase: "pending", detail: nil, items: counts[record.collection], lease: lease)
            }
        case .blocked(let reason):
            for record in toTrigger {
                try state.recordPhase(record.id, phase: "blocked", detail: reason, lease: lease)
            }
            return .credits(decision, [])
        case .skipped(let reason):
            for record in toTrigger {
                try state.recordPhase(record.id, phase: "skipped", detail: reason, lease: lease)
            }
            return .credits(decision, [])
        }
        let current = try toTrigger.compactMap { try state.collectionRun(runID: runID, collection: $0.collection) }
        let ends = await withTaskGroup(of: CollectionEnd.self) { group in
            for record in current {
                guard let spec = workflow.collection(named: record.collection) else { continue }
                group.addTask { await self.advanceRecordingFailure(record, spec: spec, runID: runID) }
            }
            var ends: [CollectionEnd] = []
            for await end in group { ends.append(end) }
            return ends
        }
        return .credits(decision, ends)
    }

    /// One collection's turn; a failure is recorded on it (see `recordFailure`) and returned for the summary.
    private func advanceRecordingFailure(_ record: CollectionRunRecord, spec: CollectionSpec, runID: Int) async
        -> CollectionEnd
    {
        do {
            try await advance(record, spec: spec, runID: runID)
            return CollectionEnd(collection: record.collection)
        } catch {
            // A poll timeout has recorded its own phase (`timed_out`), and a cancelled run is no failure: the
            // phase already recorded stays, and the next run resumes from it.
            if !(error is CancellationError) && !Self.isPollTimeout(error) {
                try? recordFailure(runID: runID, collection: record.collection, message: Self.describe(error))
            }
            var missing = false
            if case RunError.runnerMissing = error { missing = true }
            return CollectionEnd(
                collection: record.collection, message: Self.describe(error, of: record.collection),
                runnerMissing: missing)
        }
    }

    static func isPollTimeout(_ error: any Error) -> Bool {
        if case RunError.pollTimeout = error { return true }
        return false
    }

    /// Why no later run can finish this collection by itself, or nil: its trigger produced no visible runner
    /// (still none in the history), or its recorded runner is not in the run history.
    static func attentionReason(_ record: CollectionRunRecord, runnerMissing: Bool) -> String? {
        if isUnobserved(record) {
            return "\(record.collection): its trigger produced no visible runner (none newer than "
                + "\(record.baselineRunner.map(String.init) ?? "?") in the run history of collection "
                + "\(record.collectionID))"
        }
        if runnerMissing, let runner = record.runnerID {
            return "\(record.collection): its runner \(runner) is not in the run history of collection "
                + "\(record.collectionID)"
        }
        return nil
    }

    static func needsTrigger(_ record: CollectionRunRecord) -> Bool {
        ResumeRules.needsTrigger(phase: record.phase)
    }

    /// A trigger may have been sent but no runner is recorded: only the run history can say what happened.
    static func needsReconciliation(_ record: CollectionRunRecord) -> Bool {
        record.runnerID == nil && record.intentAt != nil
            && (record.phase == "intent" || record.phase == "triggered"
                || (record.phase == "failed" && record.attribution != "not_observed"))
    }

    /// A trigger whose runner was not observed within the grace period: looked for again by every later run.
    static func isUnobserved(_ record: CollectionRunRecord) -> Bool {
        record.runnerID == nil && record.intentAt != nil && record.phase == "failed"
            && record.attribution == "not_observed"
    }

    /// An intent that was answered with a refusal (`not_triggered`): triggered again only once the run history
    /// shows no runner newer than its baseline.
    static func isRecordedRefusal(_ record: CollectionRunRecord) -> Bool {
        record.phase == "not_triggered" && record.intentAt != nil && record.runnerID == nil
            && record.baselineRunner != nil
    }

    /// Records why a collection stopped. After an intent the phase becomes `failed` (the runner, if known, is
    /// kept, so the next run resumes it); before one, the phase stays as it was so the next run may trigger.
    private func recordFailure(runID: Int, collection: String, message: String) throws {
        guard let record = try state.collectionRun(runID: runID, collection: collection) else { return }
        let keep = ["fetched", "blocked", "not_triggered", "skipped"]
        if keep.contains(record.phase) || (record.phase == "failed" && record.attribution == "not_observed") { return }
        let phase = record.intentAt != nil ? "failed" : record.phase
        try state.recordPhase(record.id, phase: phase, detail: message, lease: lease)
    }

    /// Throws `LeaseLostError` when another process has taken this run's lease over.
    private func verifyLease() throws {
        if let lease { try state.verifyLease(lease) }
    }

    /// The run's outcome from its collections' phases. The credit rules decide it (blocked, skipped) only when
    /// every collection they did not stop was fetched: a paid collection still polling, timed out or failed
    /// keeps the run resumable under that outcome instead.
    static func outcome(phases: [String], blockedByRules: Bool, skippedByRules: Bool = false, exportFailed: Bool)
        -> RunReport.Outcome
    {
        let fetched = phases.filter { $0 == "fetched" }.count
        if phases.contains("timed_out") { return .timedOut }
        if fetched == phases.count { return exportFailed ? .failed : .succeeded }
        let unfetched = phases.filter { $0 != "fetched" }
        if !exportFailed {
            if skippedByRules && unfetched.allSatisfy({ $0 == "skipped" }) { return .skipped }
            if unfetched.allSatisfy({ $0 == "blocked" }) && (fetched == 0 || blockedByRules) { return .blocked }
        }
        return fetched > 0 ? .partial : .failed
    }

    // MARK: Credits

    /// Said after a block that `on_insufficient: wait` does not wait for (the planner says the same).
    static let notWaitedFor = " (not waited for: more credits would not change it)"

    enum CreditDecision: Sendable {
        case proceed([String: Int])
        case blocked(String)
        case skipped(String)
    }

    /// Checks the balance against the items of the collections still to be triggered, the reserve and the
    /// spending limit. Collections already triggered are not counted: they are paid for.
    private func checkCredits(for records: [CollectionRunRecord]) async throws -> CreditDecision {
        var counts: [String: Int] = [:]
        for record in records {
            guard let spec = workflow.collection(named: record.collection) else { continue }
            do {
                counts[record.collection] = try await client.itemCount(collectionID: spec.id)
            } catch let error as MultiCartError where !error.isTransient {
                if case .authentication = error { throw error }
                if let hint = spec.items {
                    counts[record.collection] = hint
                    detail("\(spec.name): item count unavailable (\(error)); using items: \(hint) from the workflow")
                }
            } catch {
                if let hint = spec.items { counts[record.collection] = hint } else { throw error }
            }
        }
        let items = records.map { (name: $0.collection, items: counts[$0.collection]) }
        let started = clock.now()
        while true {
            let balance = try await client.credits()
            // The same decision `cartflow plan` shows (CartflowCore's CreditCheck).
            let verdict = CreditCheck.evaluate(spendable: balance.spendable, items: items, rules: workflow.credits)
            let unknown = verdict.unknown
            progress(
                "credits: \(balance.spendable) spendable, this run needs \(verdict.total)"
                    + (unknown.isEmpty ? "" : " + unknown for \(unknown.joined(separator: ", "))"))
            guard let reason = verdict.blockedMessage else { return .proceed(counts) }
            switch workflow.credits.onInsufficient {
            case .fail: return .blocked(reason)
            case .skip:
                return .skipped(
                    reason.replacingOccurrences(of: "blocked by credits", with: "skipped (on_insufficient: skip)"))
            case .wait(let limit, let interval):
                // Only a short balance changes while waiting; a spending limit or an unknown count never does.
                guard verdict.waitingCanHelp else { return .blocked(reason + Self.notWaitedFor) }
                if clock.now() - started >= limit.duration {
                    return .blocked(reason + " (waited \(limit))")
                }
                progress("\(reason); waiting \(interval) for credits (on_insufficient: wait, limit \(limit))")
                try await clock.sleep(for: interval.duration)
            }
        }
    }

    // MARK: One collection

    /// Takes one collection from wherever it stands to `fetched`, recording each step.
    private func advance(_ record: CollectionRunRecord, spec: CollectionSpec, runID: Int) async throws {
        var record = record
        if record.phase == "failed" && record.runnerID == nil && record.attribution == "not_observed" {
            throw RunError.notObserved(
                collection: spec.name,
                detail: "an earlier trigger produced no visible runner, and the run history still shows none "
                    + "newer than \(record.baselineRunner.map(String.init) ?? "?"); not triggering again by itself — "
                    + "run with --new to trigger a new run")
        }
        var answered = true
        switch record.phase {
        case "fetched":
            // Files on disk are trusted only while they match their recorded size and hash.
            let files = try state.files(collectionRunID: record.id)
            if files.allSatisfy({ Fetcher.verify($0, at: $0.localPath) }) {
                progress("\(spec.name): already fetched (runner \(record.runnerID.map(String.init) ?? "?"))")
                return
            }
            progress("\(spec.name): downloaded files changed or went missing; fetching them again")
        case _ where Self.needsTrigger(record):
            answered = try await trigger(record, spec: spec)
        default:
            break
        }
        record = try state.collectionRun(runID: runID, collection: spec.name) ?? record
        if record.phase == "blocked" || record.phase == "not_triggered" {
            throw RunError.triggerRefused(collection: spec.name, detail: record.detail ?? "refused")
        }
        guard record.intentAt != nil else {
            throw RunError.triggerRefused(collection: spec.name, detail: record.detail ?? "no trigger was recorded")
        }
        let runner: Int
        if let known = record.runnerID {
            runner = known
        } else {
            runner = try await attribute(record, spec: spec, afterCrash: false, answered: answered)
        }
        let finished = try await poll(record.id, runner: runner, spec: spec)
        if record.phase == "timed_out" {
            // An earlier run's timeout is over: what happens to the fetch is this collection's state now.
            try state.recordPhase(record.id, phase: "triggered", detail: nil, lease: lease)
        }
        try await fetch(record.id, runner: finished, spec: spec, runID: runID)
    }

    /// Commits the intent, sends the trigger once, and records the answer. Returns false when the answer was
    /// lost (the trigger may or may not have queued a runner: the run history decides, never a second trigger).
    private func trigger(_ record: CollectionRunRecord, spec: CollectionSpec) async throws -> Bool {
        let newest = try await client.runHistory(collectionID: spec.id, skip: 0, limit: 1).first?.id ?? 0
        // Checks the lease in the same transaction: a process that lost it stops here, before the trigger.
        try state.recordIntent(record.id, baselineRunner: newest, items: record.items, lease: lease)
        progress("\(spec.name): triggering collection \(spec.id) (newest runner before: \(newest))")
        do {
            try await client.triggerRun(collectionID: spec.id)
            sentTriggers.insert(record.collection)
            try state.recordTriggered(record.id, lease: lease)
            return true
        } catch let error as MultiCartError {
            if case .creditGate(_, let message) = error {
                try state.recordPhase(record.id, phase: "blocked", detail: "credit gate: \(message)", lease: lease)
                throw RunError.creditGate(collection: spec.name, message: message)
            }
            if error.certainlyNotApplied {
                try state.recordPhase(record.id, phase: "not_triggered", detail: error.description, lease: lease)
                throw error
            }
            // The request may have created a runner: never send it again; look at the history instead.
            sentTriggers.insert(record.collection)
            try state.recordPhase(
                record.id, phase: "intent", detail: "the trigger's answer was lost: \(error)", lease: lease)
            progress(
                "\(spec.name): the trigger's outcome is unknown (\(error)); checking the run history, not retrying")
            return false
        }
    }

    /// Looks at the history of a collection whose last trigger was recorded as refused. A runner newer than the
    /// baseline may be the one that trigger created (its answer misread as a refusal) or someone else's: it is
    /// adopted rather than paying again, recorded as ambiguous with every candidate. No new runner: the refusal
    /// stands and the collection is triggered as usual.
    private func reconcileRefusal(_ record: CollectionRunRecord, spec: CollectionSpec) async throws {
        let baseline = record.baselineRunner ?? 0
        let candidates = try await newerRunners(than: baseline, collection: spec.id, using: client).sorted()
        guard let earliest = candidates.first else { return }
        let note =
            "runner\(candidates.count == 1 ? "" : "s") \(candidates.map(String.init).joined(separator: ", ")) "
            + "appeared after a trigger recorded as refused (\(record.detail ?? "no detail")); adopting \(earliest) "
            + "instead of triggering again, recorded as ambiguous (run with --new to trigger a run of your own)"
        try state.recordRunner(
            record.id, runner: earliest, attribution: "ambiguous", candidates: candidates, detail: note, lease: lease)
        progress("\(spec.name): \(note)")
    }

    /// Looks at the history of a collection whose trigger was recorded as not observed (no runner within the grace
    /// period), read-only: the earliest runner newer than the baseline is adopted, recorded as `adopted_late`
    /// (`ambiguous` with every candidate when there are several). With none, it stays not observed.
    private func adoptLateRunner(_ record: CollectionRunRecord, spec: CollectionSpec) async throws {
        guard let baseline = record.baselineRunner else { return }
        let candidates = try await newerRunners(than: baseline, collection: spec.id, using: client).sorted()
        guard let earliest = candidates.first else {
            detail("\(spec.name): still no runner newer than \(baseline) in the run history")
            return
        }
        let ambiguous = candidates.count > 1
        let note =
            "runner\(ambiguous ? "s" : "") \(candidates.map(String.init).joined(separator: ", ")) appeared after "
            + "the grace period of a trigger recorded as not observed; adopting \(earliest)"
            + (ambiguous ? ", the earliest, recorded as ambiguous" : ", recorded as adopted late")
            + " (run with --new to trigger a run of your own)"
        try state.recordRunner(
            record.id, runner: earliest, attribution: ambiguous ? "ambiguous" : "adopted_late",
            candidates: candidates, detail: note, lease: lease)
        progress("\(spec.name): \(note)")
    }

    /// Finds the runner our trigger created: the earliest one newer than the baseline, looking back through as
    /// many history pages as it takes. Several candidates are recorded as ambiguous; none within the grace period
    /// is recorded as not observed (and never leads to a trigger by itself).
    private func attribute(
        _ record: CollectionRunRecord, spec: CollectionSpec, afterCrash: Bool, answered: Bool = true
    ) async throws -> Int {
        let baseline = record.baselineRunner ?? 0
        let grace = workflow.poll.attributionGrace.duration
        let started = clock.now()
        // Reads and their retries never carry the search past the grace period.
        let reader = client(boundedBy: grace, from: started)
        var wait = min(workflow.poll.interval.duration, .seconds(5))
        while true {
            var newer: [Int]?
            do {
                newer = try await newerRunners(than: baseline, collection: spec.id, using: reader)
            } catch let error as MultiCartError where error.isTransient {
                detail("\(spec.name): reading the run history failed, will retry: \(error)")
            }
            if let history = newer, let earliest = history.min() {
                let ambiguous = history.count > 1
                let attribution =
                    ambiguous
                    ? "ambiguous"
                    : afterCrash ? "adopted_after_crash" : answered ? "exact" : "adopted_after_lost_answer"
                try state.recordRunner(
                    record.id, runner: earliest, attribution: attribution, candidates: history.sorted(), lease: lease)
                if ambiguous {
                    progress(
                        "\(spec.name): several new runners (\(history.sorted().map(String.init).joined(separator: ", "))) "
                            + "— adopting the earliest, \(earliest); recorded as ambiguous")
                } else {
                    progress("\(spec.name): runner \(earliest)" + (attribution == "exact" ? "" : " adopted"))
                }
                return earliest
            }
            let elapsed = clock.now() - started
            if elapsed >= grace {
                let message =
                    "no runner newer than \(baseline) appeared within \(workflow.poll.attributionGrace) of the trigger; "
                    + "recorded as not observed, and no new trigger is sent by itself (every later run looks at the "
                    + "history again and adopts a runner that appears late; run with --new to try again)"
                try state.recordNotObserved(record.id, detail: message, lease: lease)
                throw RunError.notObserved(collection: spec.name, detail: message)
            }
            // The last look is taken at the end of the grace period, not a whole wait after it.
            try await clock.sleep(for: min(wait, grace - elapsed))
            wait = min(wait * 2, workflow.poll.maxInterval.duration)
        }
    }

    /// Every runner id newer than `baseline`, paging back through the history (newest first) until ids reach it.
    private func newerRunners(than baseline: Int, collection: Int, using client: MultiCartClient) async throws
        -> [Int]
    {
        let limit = 10
        var found: [Int] = []
        var skip = 0
        for _ in 0..<100 {
            let page = try await client.runHistory(collectionID: collection, skip: skip, limit: limit)
            found += page.map(\.id).filter { $0 > baseline }
            if page.count < limit || page.contains(where: { $0.id <= baseline }) { break }
            skip += limit
        }
        return found
    }

    /// Polls the history until the runner's files are generated, backing off up to `max_interval`. A runner the
    /// history does not list (deleted, or recorded for another collection) is named at once and, missing again at
    /// the next read, ends polling as a failure that keeps the runner — never a new trigger.
    private func poll(_ recordID: Int, runner: Int, spec: CollectionSpec) async throws -> RunnerRecord {
        let started = clock.now()
        let timeout = workflow.poll.timeout.duration
        var interval = workflow.poll.interval.duration
        var announced = false
        // Reads and their retries never carry polling past its deadline.
        let reader = client(boundedBy: timeout, from: started)
        var missing = 0
        while true {
            do {
                switch try await findRunner(runner, collection: spec.id, using: reader) {
                case .found(let found):
                    missing = 0
                    if found.isDownloadGenerated {
                        progress(
                            "\(spec.name): runner \(runner) finished (\(found.totalExacted.map(String.init) ?? "?") of \(found.totalResults.map(String.init) ?? "?") items scraped)"
                        )
                        return found
                    }
                case .absent:
                    missing += 1
                    let absence = "runner \(runner) is not in the run history of collection \(spec.id)"
                    if missing >= 2 {
                        let message =
                            absence + " (looked twice): it was deleted, or recorded for another collection; no "
                            + "new trigger is sent by itself — check the collection, or run with --new to trigger "
                            + "a new run"
                        try state.recordPhase(recordID, phase: "failed", detail: message, lease: lease)
                        throw RunError.runnerMissing(collection: spec.name, runner: runner, detail: message)
                    }
                    progress("\(spec.name): \(absence); looking once more before giving up on it")
                case .notReached:
                    break
                }
            } catch let error as MultiCartError where error.isTransient {
                detail("\(spec.name): polling failed, will retry: \(error)")
            }
            if !announced {
                progress(
                    "\(spec.name): waiting for runner \(runner) (every \(workflow.poll.interval), up to \(workflow.poll.timeout))"
                )
                announced = true
            }
            let elapsed = clock.now() - started
            if elapsed >= timeout {
                let message =
                    "runner \(runner) did not finish within \(workflow.poll.timeout); run again to resume polling"
                    + (missing > 0 ? " (it was not in the run history at the last check)" : "")
                try state.recordPhase(recordID, phase: "timed_out", detail: message, lease: lease)
                throw RunError.pollTimeout(collection: spec.name, runner: runner)
            }
            // Never past the deadline, and one last check right at it: a runner finishing in the final interval
            // is not given up on early.
            try await clock.sleep(for: min(interval, timeout - elapsed))
            interval = min(interval + interval / 2, workflow.poll.maxInterval.duration)
        }
    }

    /// What a read is given however little is left of a deadline, so that a last check made at the deadline can
    /// still be answered: polling and attribution end at most this long after their deadline.
    static let lastCheckAllowance: Duration = .seconds(10)

    /// The client with every call bounded by a deadline `limit` after `started` on the run's clock: each attempt
    /// gets at most what is left (never more than the client's own deadline) and retries stop at the deadline,
    /// counting the time the attempts took, not only the waits between them.
    private func client(boundedBy limit: Duration, from started: Duration) -> MultiCartClient {
        var bounded = client
        bounded.callerDeadline = CallerDeadline(
            remaining: { [clock] in limit - (clock.now() - started) }, leastPerAttempt: Self.lastCheckAllowance,
            sleep: { [clock] in try await clock.sleep(for: $0) })
        return bounded
    }

    /// What the history says of a recorded runner.
    enum RunnerLookup {
        case found(RunnerRecord)
        /// Read back past its id (or to the end of the history) without seeing it.
        case absent
        /// Not reached within the pages a poll reads.
        case notReached
    }

    /// The runner's record, paging back through the history until ids fall below it.
    private func findRunner(_ runner: Int, collection: Int, using client: MultiCartClient) async throws
        -> RunnerLookup
    {
        var skip = 0
        let limit = 10
        for _ in 0..<50 {
            let page = try await client.runHistory(collectionID: collection, skip: skip, limit: limit)
            if let found = page.first(where: { $0.id == runner }) { return .found(found) }
            if page.count < limit || (page.last.map { $0.id < runner } ?? true) { return .absent }
            skip += limit
        }
        return .notReached
    }

    // MARK: Fetch

    private func fetch(_ recordID: Int, runner: RunnerRecord, spec: CollectionSpec, runID: Int) async throws {
        let directory = downloadDirectory(runID: runID, collection: spec.name, runner: runner.id)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        AbandonedTemporaryFiles.remove(in: directory)
        let known = Dictionary(
            try state.files(collectionRunID: recordID).map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        var fetcher = Fetcher(client: client, concurrency: workflow.fetch.concurrency, progress: detail)
        fetcher.allowedHosts = workflow.api.allowedDownloadHosts
        let files: [FileRecord]
        let started = clock.now()
        // Results are expected unless the history says none were scraped: a count above zero, or no count at all.
        let expected = runner.totalExacted ?? runner.totalResults
        let resultsExpected = expected.map { $0 > 0 } ?? true
        let counted = expected.map { "\($0) results" } ?? "no result count"
        switch workflow.fetch.from {
        case .pages where runner.pageLinks.isEmpty && resultsExpected:
            // No page files where results are expected: the ZIP when there is one, else a refusal that keeps the
            // runner (the run fails, resumable) — never a fetch of nothing recorded as done.
            guard let link = runner.allPagesLink else {
                throw MultiCartError.contractSurprise(
                    endpoint: MultiCartClient.historyPath,
                    detail: "runner \(runner.id) is generated but lists no page files and no ZIP (\(counted)); "
                        + "kept, and the next run fetches it again")
            }
            progress("\(spec.name): runner \(runner.id) lists no page files (\(counted)); fetching its ZIP instead")
            files = try await fetcher.fetchZip(link, into: directory, known: known) { batch in
                try state.recordFiles(collectionRunID: recordID, files: batch, lease: lease)
            }
        case .pages:
            files = try await fetcher.fetchPages(runner.pageLinks, into: directory, known: known) { batch in
                try state.recordFiles(collectionRunID: recordID, files: batch, lease: lease)
            }
        case .zip:
            guard let link = runner.allPagesLink else {
                throw MultiCartError.contractSurprise(
                    endpoint: MultiCartClient.historyPath,
                    detail: "runner \(runner.id) is generated but has no ZIP link")
            }
            files = try await fetcher.fetchZip(link, into: directory, known: known) { batch in
                try state.recordFiles(collectionRunID: recordID, files: batch, lease: lease)
            }
        }
        if files.isEmpty && resultsExpected {
            throw MultiCartError.contractSurprise(
                endpoint: MultiCartClient.historyPath,
                detail: "runner \(runner.id) is generated but its download holds no page files (\(counted)); "
                    + "kept, and the next run fetches it again")
        }
        try state.recordPhase(
            recordID, phase: "fetched", detail: nil, exacted: runner.totalExacted, items: runner.totalResults,
            scrapedAt: runner.updatedAt ?? runner.createdAt, lease: lease)
        let elapsed = clock.now() - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        progress(
            "\(spec.name): \(files.count) file\(files.count == 1 ? "" : "s") downloaded "
                + "(\(files.map(\.size).reduce(0, +)) bytes in \(String(format: "%.3f", seconds)) s)")
    }

    func downloadDirectory(runID: Int, collection: String, runner: Int) -> String {
        (options.downloadsDirectory as NSString).appendingPathComponent(
            "\(PathTemplate.safeSegment(workflow.name))/run-\(runID)/\(PathTemplate.safeSegment(collection))/\(runner)")
    }

    // MARK: Export

    private func export(
        _ step: ExportStep, index: Int, collections: [String], records: [CollectionRunRecord], run: WorkflowRunRecord,
        claimed: inout [String: Int]
    ) throws -> [RunReport.ExportResult] {
        var inputs: [ExportInput] = []
        for name in collections {
            guard let record = records.first(where: { $0.collection == name }), let runner = record.runnerID else {
                continue
            }
            let pages = try state.files(collectionRunID: record.id).sorted { Fetcher.pageOrder($0.name, $1.name) }
            inputs.append(
                ExportInput(
                    collection: name, collectionID: record.collectionID, runnerID: runner,
                    scrapedAt: record.scrapedAt,
                    pages: pages.map { URL(fileURLWithPath: $0.localPath) }))
        }
        let started = ISO8601DateFormatter().date(from: String(run.startedAt.prefix(19)) + "Z") ?? wallClock()
        var values = [
            "workflow": workflow.name, "run": String(run.id), "date": Self.utcString(started, "yyyy-MM-dd"),
            "time": Self.utcString(started, "HHmmss"),
        ]
        let groups: [[ExportInput]] = PathTemplate.isPerCollection(step.path) ? inputs.map { [$0] } : [inputs]
        let targets = groups.map { group in
            if group.count == 1 {
                values["collection"] = group[0].collection
                values["runner"] = String(group[0].runnerID)
            }
            let relative = PathTemplate.expand(step.path, values: values)
            let path =
                relative.hasPrefix("/")
                ? relative : (options.workingDirectory as NSString).appendingPathComponent(relative)
            return (group: group, relative: relative, path: path, file: PathTemplate.folded(path))
        }
        // Checked for every file of the step before any is written: a step is written whole or not at all.
        for target in targets {
            if let other = claimed[target.file], other != index {
                throw RunError.outputCollision(path: target.relative, step: index + 1, otherStep: other + 1)
            }
        }
        for target in targets { claimed[target.file] = index }
        var results: [RunReport.ExportResult] = []
        for (group, relative, path, _) in targets {
            try Exporter.createDirectory(forFile: path)
            AbandonedTemporaryFiles.remove(
                in: (path as NSString).deletingLastPathComponent, target: (path as NSString).lastPathComponent)
            // The export file is written only while the lease is ours, and recorded under the same check.
            try verifyLease()
            let summary = try Exporter.export(step, inputs: group, to: path)
            try state.recordExport(
                runID: run.id, step: index, path: relative, format: step.format.rawValue,
                records: summary.recordsWritten, bytes: summary.bytes, repairedStrings: summary.repairedStrings,
                lease: lease)
            for warning in summary.warnings { progress("export \(relative): \(warning)") }
            var line = "exported \(summary.recordsWritten) records to \(relative)"
            if let note = ExportSummary.repairedNote(summary.repairedStrings) { line += " (\(note))" }
            progress(line)
            results.append(
                RunReport.ExportResult(
                    path: relative, format: step.format.rawValue, records: summary.recordsWritten,
                    repairedStrings: summary.repairedStrings))
        }
        return results
    }

    static func utcString(_ date: Date, _ format: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter.string(from: date)
    }

    // MARK: Report

    private func report(
        run: WorkflowRunRecord, resumed: Bool, outcome: RunReport.Outcome, exports: [RunReport.ExportResult],
        messages: [String], attention: [String]
    ) throws -> RunReport {
        let records = try state.collectionRuns(runID: run.id).filter { record in
            workflow.collections.contains { $0.name == record.collection }
        }
        let collections = try records.map { record in
            RunReport.CollectionResult(
                name: record.collection, collectionID: record.collectionID, runnerID: record.runnerID,
                attribution: record.attribution, items: record.items, exacted: record.exacted,
                creditsSpent: sentTriggers.contains(record.collection)
                    && (record.runnerID != nil || record.triggeredAt != nil) ? (record.items ?? 0) : 0,
                files: try state.files(collectionRunID: record.id).count, phase: record.phase, detail: record.detail)
        }
        return RunReport(
            runID: run.id, workflow: workflow.name, resumed: resumed, outcome: outcome, collections: collections,
            exports: exports, messages: messages, attention: attention)
    }

    static func describe(_ error: any Error) -> String {
        if let localized = error as? LocalizedError, let text = localized.errorDescription { return text }
        return String(describing: error)
    }

    /// An error of one collection for the summary, the collection named once at the start.
    static func describe(_ error: any Error, of collection: String) -> String {
        if let runError = error as? RunError, runError.collection == collection { return describe(error) }
        return "\(collection): \(describe(error))"
    }
}

/// A set of names shared by the tasks of one run.
final class LockedSet: @unchecked Sendable {
    private let lock = NSLock()
    private var names: Set<String> = []
    func insert(_ name: String) { _ = lock.withLock { names.insert(name) } }
    func contains(_ name: String) -> Bool { lock.withLock { names.contains(name) } }
}

/// Runtime failures with their context.
public enum RunError: Error, Sendable, LocalizedError, CustomStringConvertible {
    case leaseHeld(workflow: String, pid: Int, host: String)
    /// Another process took the lease over while this one held it (paused or stalled past the lease timeout).
    case leaseLost(workflow: String, pid: Int?, host: String?)
    /// The heartbeat could not renew the lease (the state database failing).
    case leaseNotRenewed(workflow: String, detail: String)
    case creditGate(collection: String, message: String)
    case triggerRefused(collection: String, detail: String)
    case notObserved(collection: String, detail: String)
    case pollTimeout(collection: String, runner: Int)
    /// A recorded runner the run history does not list.
    case runnerMissing(collection: String, runner: Int, detail: String)
    case foreignLink(host: String, detail: String)
    /// The run cannot finish by itself (`RunReport.attention`): said by a scheduler slot instead of a failure.
    case needsAttention(workflow: String, runID: Int, reasons: [String])
    /// Step `step` (1-based) would write a file that step `otherStep` writes in this run.
    case outputCollision(path: String, step: Int, otherStep: Int)

    public var description: String {
        switch self {
        case .leaseHeld(let workflow, let pid, let host):
            return "workflow '\(workflow)' is already running (process \(pid) on \(host)); wait for it to finish, "
                + "or run with --wait to start when it does"
        case .leaseLost(let workflow, let pid, let host):
            let who = pid.map { "to process \($0)" + (host.map { " on \($0)" } ?? "") } ?? "to another process"
            return "workflow '\(workflow)': lost the lease \(who) (this process was paused or stalled past the lease "
                + "timeout and the run was taken over); stopping without triggering or recording anything more"
        case .leaseNotRenewed(let workflow, let detail):
            return "workflow '\(workflow)': could not renew the lease (\(detail)); stopping so that no other process "
                + "takes the run over while this one goes on — `cartflow run` resumes it"
        case .creditGate(let collection, let message):
            return "\(collection): the credit gate refused the run: \(message)"
        case .triggerRefused(let collection, let detail): return "\(collection): not triggered: \(detail)"
        case .notObserved(let collection, let detail): return "\(collection): \(detail)"
        case .pollTimeout(let collection, let runner):
            return "\(collection): runner \(runner) is still running at the poll timeout; run again to resume"
        case .runnerMissing(let collection, _, let detail): return "\(collection): \(detail)"
        case .foreignLink(_, let detail): return detail
        case .needsAttention(let workflow, let runID, let reasons):
            return "run #\(runID) of workflow '\(workflow)' cannot finish by itself (" + reasons.joined(separator: "; ")
                + "): every later run resumes it instead of scraping afresh; check the collection, then "
                + "`cartflow run --new` starts a fresh run (and pays for new runners)"
        case .outputCollision(let path, let step, let otherStep):
            return "\(path) is written by step \(otherStep) in this run, and step \(step) would replace it; give "
                + "the two steps different paths (their templates differ, but name one file on this run's "
                + "date, time or number)"
        }
    }

    public var errorDescription: String? { description }

    /// The collection the description already starts with, if any.
    public var collection: String? {
        switch self {
        case .creditGate(let collection, _), .triggerRefused(let collection, _), .notObserved(let collection, _),
            .pollTimeout(let collection, _), .runnerMissing(let collection, _, _):
            return collection
        case .leaseHeld, .leaseLost, .leaseNotRenewed, .foreignLink, .needsAttention, .outputCollision: return nil
        }
    }
}
