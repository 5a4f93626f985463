import Foundation

/// The dry run's decision stage: workflow + step graph + gathered facts + the current instant → `Plan`.
/// Pure (no I/O, no clock): the same inputs give the same plan, which is what the golden tests rely on.
public enum Planner {
    /// How many fire times a plan lists.
    public static let fireTimeCount = 5

    public static func plan(_ workflow: Workflow, graph: StepGraph, facts: PlanFacts, now: Date) -> Plan {
        let unfinished: PlanFacts.UnfinishedRun? = {
            if case .unfinished(_, let run) = facts.state { return run }
            return nil
        }()
        var notes: [String] = []
        // The recorded row each collection continues, as `run` matches them on resume (a renamed key keeps its row).
        let recordedRows =
            unfinished.map { run in
                ResumeRules.matchingRows(
                    recorded: run.collections.map { (name: $0.name, id: $0.collectionID) },
                    wanted: workflow.collections.map { (name: $0.name, id: $0.id) })
            } ?? []
        var recordedFor: [String: PlanFacts.ResumableCollection] = [:]
        for (spec, row) in zip(workflow.collections, recordedRows) {
            if let run = unfinished, let row { recordedFor[spec.name] = run.collections[row] }
        }

        // Collections: which would be triggered, what each costs, and what the server is doing.
        var collections: [Plan.Collection] = []
        for spec in workflow.collections {
            let recorded = recordedFor[spec.name]
            if let recorded, recorded.name != spec.name {
                notes.append(
                    "\(spec.name): collection \(spec.id) was '\(recorded.name)' in the unfinished run; run carries its "
                        + "trigger, runner and files over under the new name (no new trigger)")
            }
            let triggered = recorded.map { ResumeRules.needsTrigger(phase: $0.phase) } ?? true
            let items = itemFact(spec, facts: facts, notes: &notes)
            let resume: String? =
                unfinished == nil
                ? nil
                : recorded.map {
                    ResumeRules.resumeAction(phase: $0.phase, runnerID: $0.runnerID, attribution: $0.attribution)
                }
                    ?? "not in the unfinished run yet: would be added and triggered (and paid for)"
            let server = serverInfo(
                spec, facts: facts, ourRunner: recorded?.runnerID, baseline: recorded?.unsettledBaseline,
                triggered: triggered, notes: &notes)
            collections.append(
                Plan.Collection(
                    name: spec.name, id: spec.id, items: items, triggered: triggered, resume: resume, server: server))
        }

        // A collection edited out of the file after its trigger was paid for — or given another id, which `run`
        // treats as removed and starts afresh — is named by `run`, so the plan names it too.
        let continued = Set(recordedRows.compactMap { $0 })
        for (index, recorded) in (unfinished?.collections ?? []).enumerated()
        where !continued.contains(index) && recorded.phase != "fetched" {
            // Renamed away from, or given another id: what was recorded under this name is not continued.
            var gone = "\(recorded.name): no longer in the workflow"
            var subject = "it"
            if let spec = workflow.collection(named: recorded.name), let oldID = recorded.collectionID {
                gone = "\(recorded.name): the workflow now names collection \(spec.id) (was \(oldID))"
                subject = "collection \(oldID)"
            }
            if let runner = recorded.runnerID {
                let whose = subject == "it" ? "its" : "\(subject)'s"
                notes.append("\(gone); \(whose) runner \(runner) (paid for) is not fetched and is left behind")
            } else if recorded.baselineRunner != nil {
                notes.append(
                    "\(gone); a trigger was sent for \(subject) and its runner, never identified, is left behind")
            }
        }

        // Credits: the executor's own rules (CreditCheck) over the collections that would be triggered.
        let toTrigger = collections.filter(\.triggered)
        let online = facts.isOnline
        // Offline, an unknown count is one the run will still ask the API for: it does not block the plan.
        let counted = toTrigger.filter { online || $0.items.value != nil }.map {
            (name: $0.name, items: $0.items.value)
        }
        let check = CreditCheck.evaluate(spendable: facts.balance?.spendable, items: counted, rules: workflow.credits)
        let spendable: Plan.Fact =
            facts.balance.map {
                Plan.Fact(value: $0.spendable, source: .checked, origin: "POST /users/credits/: " + $0.origin)
            }
            ?? Plan.Fact(value: nil, source: .unknown, origin: "not checked (offline)")
        let unknownItems = toTrigger.filter { $0.items.value == nil }.map(\.name)
        let credits = Plan.Credits(
            spendable: spendable, available: facts.balance?.available, used: facts.balance?.used,
            frozen: facts.balance?.frozen, total: check.total, unknownItems: unknownItems, triggering: toTrigger.count,
            balanceAfter: check.totalOverflows
                ? nil : facts.balance.map { CreditCheck.remaining($0.spendable, after: check.total) ?? Int.min },
            reserve: workflow.credits.reserve,
            maxSpend: workflow.credits.maxSpend, onInsufficient: onInsufficientText(workflow.credits.onInsufficient),
            totalOverflows: check.totalOverflows)
        var verdict = verdictFor(
            check, credits: credits, rules: workflow.credits, online: online, triggering: toTrigger.count,
            resumes: unfinished?.id)
        // Collections `run` would not fetch whatever the credits say: a trigger that left no visible runner is
        // never sent again (ResumeRules), and a trigger for a collection that someone else's runner is processing
        // is refused (409 conflict). `run` goes on with the others and ends partial, or fails without any.
        // A not-observed trigger whose collection now shows a runner newer than its baseline is not stuck: `run`
        // reads the history again and adopts it (as adopted late).
        let stuck = workflow.collections.filter { spec in
            guard let recorded = recordedFor[spec.name],
                recorded.phase == "failed" && recorded.runnerID == nil && recorded.attribution == "not_observed"
            else { return false }
            if case .runner(let id, _, _) = facts.newestRunners[spec.name], let baseline = recorded.baselineRunner,
                id > baseline
            {
                return false
            }
            return true
        }.map(\.name)
        // The credit rules gate only what is still to be triggered: collections the unfinished run already
        // triggered (paid for) are polled, fetched and exported whatever they decide.
        let advancing = workflow.collections.map(\.name).filter { name in
            guard let recorded = recordedFor[name] else { return false }
            return !ResumeRules.needsTrigger(phase: recorded.phase) && recorded.phase != "fetched"
                && !stuck.contains(name)
        }
        if !advancing.isEmpty && [.blocked, .skipped, .waits].contains(verdict.outcome) {
            let names = advancing.joined(separator: ", ")
            verdict.summary +=
                "; \(names) (already triggered, paid for) \(advancing.count == 1 ? "is" : "are") still polled, "
                + "fetched and exported"
        }
        let refused = collections.filter { $0.triggered && $0.server.processing == true && !$0.server.ours }
        if verdict.outcome == .runs && !(stuck.isEmpty && refused.isEmpty) {
            verdict = unfetchedVerdict(
                verdict, refused: refused, stuck: stuck, collections: workflow.collections.count)
        }
        if !online && !unknownItems.isEmpty {
            notes.append(
                "the item count of \(unknownItems.joined(separator: ", ")) is unknown offline (no `items:` hint); "
                    + "the run asks the API for it")
        }

        return Plan(
            workflow: workflow.name, file: workflow.sourcePath, description: workflow.description, mode: facts.mode,
            plannedAt: utcText(Int(now.timeIntervalSince1970.rounded(.down))), graph: graph, collections: collections,
            credits: credits, verdict: verdict, state: stateInfo(facts.state),
            outputs: outputs(workflow, now: now, unfinished: unfinished, recordedFor: recordedFor),
            schedule: workflow.schedule.map { scheduleInfo($0, now: now) }, notes: notes)
    }

    // MARK: Facts

    static func itemFact(_ spec: CollectionSpec, facts: PlanFacts, notes: inout [String]) -> Plan.Fact {
        let hint = "items: hint in the workflow"
        switch facts.itemCounts[spec.name] {
        case .checked(let count):
            if let expected = spec.items, expected != count {
                notes.append(
                    "\(spec.name): the API counts \(count) items, the workflow's `items:` hint says \(expected)")
            }
            return Plan.Fact(value: count, source: .checked, origin: "ASIN list with_count of collection \(spec.id)")
        case .unavailable(let reason):
            if let items = spec.items {
                return Plan.Fact(value: items, source: .assumed, origin: "\(hint) (the API could not tell: \(reason))")
            }
            return Plan.Fact(
                value: nil, source: .unknown, origin: "the API could not tell (\(reason)) and there is no items: hint")
        case nil:
            if let items = spec.items {
                return Plan.Fact(value: items, source: .assumed, origin: hint + (facts.isOnline ? "" : " (offline)"))
            }
            return Plan.Fact(value: nil, source: .unknown, origin: "not checked (offline) and no items: hint")
        }
    }

    static func serverInfo(
        _ spec: CollectionSpec, facts: PlanFacts, ourRunner: Int?, baseline: Int? = nil, triggered: Bool,
        notes: inout [String]
    ) -> Plan.Server {
        switch facts.newestRunners[spec.name] {
        case nil:
            return Plan.Server(
                source: .unknown, newestRunner: nil, processing: nil, ours: false, text: "not checked (offline)")
        case .unavailable(let reason):
            return Plan.Server(
                source: .unknown, newestRunner: nil, processing: nil, ours: false,
                text: "run history unavailable: \(reason)")
        case .noRunner:
            return Plan.Server(
                source: .checked, newestRunner: nil, processing: false, ours: false, text: "no runner yet")
        case .runner(let id, let generated, let createdAt):
            let ours = ourRunner == id
            // A trigger without a recorded answer: `run` adopts the earliest runner newer than the baseline.
            if let baseline, !ours {
                let since = createdAt.map { " since \($0)" } ?? ""
                let text =
                    id > baseline
                    ? (generated ? "newest runner \(id) has finished" : "runner \(id) is processing\(since)")
                        + ", newer than runner \(baseline) recorded before this workflow's trigger: run adopts the "
                        + "earliest runner newer than \(baseline)"
                    : (generated ? "newest runner \(id) has finished" : "runner \(id) is processing\(since)")
                        + "; no runner newer than \(baseline) (recorded before this workflow's trigger) yet"
                return Plan.Server(
                    source: .checked, newestRunner: id, processing: !generated, ours: false, text: text)
            }
            if generated {
                return Plan.Server(
                    source: .checked, newestRunner: id, processing: false, ours: ours,
                    text: "newest runner \(id) has finished; nothing processing"
                        + (ours ? " (it is this workflow's unfinished run's)" : ""))
            }
            let since = createdAt.map { " since \($0)" } ?? ""
            if ours {
                return Plan.Server(
                    source: .checked, newestRunner: id, processing: true, ours: true,
                    text: "runner \(id) is processing\(since): this workflow's unfinished run; run polls it")
            }
            if triggered {
                notes.append(
                    "\(spec.name): runner \(id) of collection \(spec.id) is processing now, started outside this "
                        + "workflow (a schedule or a person); a trigger is refused while it runs")
            }
            return Plan.Server(
                source: .checked, newestRunner: id, processing: true, ours: false,
                text: "runner \(id) is processing\(since), not started by this workflow")
        }
    }

    static func stateInfo(_ state: PlanFacts.State) -> Plan.StateInfo {
        switch state {
        case .absent(let path):
            return Plan.StateInfo(
                path: path, source: .checked, text: "no state database yet: nothing to resume", resumesRun: nil,
                runStatus: nil, runStartedAt: nil)
        case .noUnfinishedRun(let path):
            return Plan.StateInfo(
                path: path, source: .checked, text: "no unfinished run: run starts a new one", resumesRun: nil,
                runStatus: nil, runStartedAt: nil)
        case .unfinished(let path, let run):
            return Plan.StateInfo(
                path: path, source: .checked,
                text: "run #\(run.id) (\(run.status), started \(run.startedAt)) is unfinished: run resumes it "
                    + "instead of starting a new one (`run --new` abandons it)",
                resumesRun: run.id, runStatus: run.status, runStartedAt: run.startedAt)
        case .unreadable(let path, let reason):
            return Plan.StateInfo(
                path: path, source: .unknown, text: "could not be read (\(reason))", resumesRun: nil, runStatus: nil,
                runStartedAt: nil)
        }
    }

    // MARK: Verdict

    static func onInsufficientText(_ rule: CreditRules.OnInsufficient) -> String {
        switch rule {
        case .fail: return "fail"
        case .skip: return "skip"
        case .wait(let limit, let interval): return "wait up to \(limit), every \(interval)"
        }
    }

    static func verdictFor(
        _ check: CreditCheck.Verdict, credits: Plan.Credits, rules: CreditRules, online: Bool, triggering: Int,
        resumes: Int?
    ) -> Plan.Verdict {
        if triggering == 0 {
            return Plan.Verdict(
                outcome: .runs, checked: online,
                summary: "runs: resumes run #\(resumes.map(String.init) ?? "?"); nothing to trigger, no credits spent",
                reasons: [])
        }
        let need = "needs \(check.total)" + (rules.reserve > 0 ? " + reserve \(rules.reserve)" : "")
        if check.passes {
            if credits.balanceAfter == nil {
                return Plan.Verdict(
                    outcome: .runs, checked: false,
                    summary: "runs if the balance allows: \(need)"
                        + (rules.maxSpend.map { "; within max_spend \($0)" } ?? "")
                        + " (the balance is not checked offline)",
                    reasons: [])
            }
            let has = credits.spendable.value.map { ", has \($0)" } ?? ""
            let limit = rules.maxSpend.map { "; within max_spend \($0)" } ?? ""
            return Plan.Verdict(outcome: .runs, checked: online, summary: "runs: \(need)\(has)\(limit)", reasons: [])
        }
        let reasons = check.reasons
        let joined = reasons.joined(separator: "; ")
        switch rules.onInsufficient {
        case .fail:
            return Plan.Verdict(outcome: .blocked, checked: online, summary: "blocked: " + joined, reasons: reasons)
        case .skip:
            return Plan.Verdict(
                outcome: .skipped, checked: online, summary: "skipped (on_insufficient: skip): " + joined,
                reasons: reasons)
        case .wait where !check.waitingCanHelp:
            // The executor blocks at once: waiting cannot fix a spending limit or an unknown count.
            return Plan.Verdict(
                outcome: .blocked, checked: online,
                summary: "blocked: " + joined + " (on_insufficient: wait does not wait: more credits would not "
                    + "change it)",
                reasons: reasons)
        case .wait(let limit, let interval):
            return Plan.Verdict(
                outcome: .waits, checked: online,
                summary: "waits for credits (on_insufficient: wait, every \(interval) up to \(limit)), "
                    + "then blocked if still short: " + joined,
                reasons: reasons)
        }
    }

    /// A verdict that would run, turned into what `run` does when some collections cannot be fetched: `partial`
    /// (exit 6) while others are, `fails` (exit 1) when none is.
    static func unfetchedVerdict(_ verdict: Plan.Verdict, refused: [Plan.Collection], stuck: [String], collections: Int)
        -> Plan.Verdict
    {
        func listed(_ names: [String]) -> String { names.joined(separator: ", ") }
        var reasons: [String] = []
        if !refused.isEmpty {
            let runners = refused.map { $0.server.newestRunner.map { "runner \($0)" } ?? "a runner" }
            reasons.append(
                "\(listed(refused.map(\.name))) \(refused.count == 1 ? "is" : "are") processing on the server "
                    + "(\(listed(runners)), not started by this workflow): run's trigger would be refused "
                    + "(409 conflict) while it runs")
        }
        if !stuck.isEmpty {
            reasons.append(
                "\(listed(stuck)) \(stuck.count == 1 ? "is" : "are") not fetched (\(stuck.count == 1 ? "its" : "their") "
                    + "trigger produced no visible runner; `run --new` starts a fresh run)")
        }
        let unfetched = refused.count + stuck.count
        let none = unfetched >= collections
        let outcome: Plan.Verdict.Outcome = none ? .fails : .partial
        // `runs: needs …` / `runs if the balance allows: needs …` keep their credit words after the new outcome.
        let rest = verdict.summary.hasPrefix("runs") ? String(verdict.summary.dropFirst(4)) : ": " + verdict.summary
        return Plan.Verdict(
            outcome: outcome, checked: verdict.checked,
            summary: outcome.rawValue + rest + "; " + reasons.joined(separator: "; ") + ", so the run "
                + (none ? "fails" : "ends partial") + " and the exports that read \(unfetched == 1 ? "it" : "them") "
                + "are not written",
            reasons: reasons)
    }

    // MARK: Outputs

    static func outputs(
        _ workflow: Workflow, now: Date, unfinished: PlanFacts.UnfinishedRun?,
        recordedFor: [String: PlanFacts.ResumableCollection]
    ) -> [Plan.Output] {
        var values = ["workflow": workflow.name]
        var timeNote: String
        if let run = unfinished, run.startedAt.count >= 19 {
            // The executor names files after the run's start, read from the same stored text.
            let text = Array(run.startedAt)
            values["date"] = String(text[0..<10])
            values["time"] = String(text[11..<13]) + String(text[14..<16]) + String(text[17..<19])
            values["run"] = String(run.id)
            timeNote = "{date}/{time}: the start of run #\(run.id), UTC (checked)"
        } else {
            let seconds = Int(now.timeIntervalSince1970.rounded(.down))
            let stamp = utcText(seconds)
            values["date"] = String(stamp.prefix(10))
            values["time"] = stamp.dropFirst(11).prefix(8).replacingOccurrences(of: ":", with: "")
            timeNote = "{date}/{time}: the run's start, UTC, assumed to be now"
        }
        var result: [Plan.Output] = []
        for (index, step) in workflow.steps.enumerated() {
            let reads = step.from ?? workflow.collections.map(\.name)
            let names = PathTemplate.names(in: step.path)
            let groups: [String?] = PathTemplate.isPerCollection(step.path) ? reads.map { $0 } : [nil]
            for collection in groups {
                var stepValues = values
                if let collection {
                    stepValues["collection"] = collection
                    if let runner = recordedFor[collection]?.runnerID {
                        stepValues["runner"] = String(runner)
                    }
                }
                let path = PathTemplate.expand(step.path, values: stepValues)
                var unresolved: [String] = []
                for name in names where stepValues[name] == nil && !unresolved.contains(name) {
                    unresolved.append(name)
                }
                var notes: [String] = []
                if names.contains("date") || names.contains("time") { notes.append(timeNote) }
                if names.contains("run") && values["run"] == nil {
                    notes.append("{run}: the id the state database gives the new run, known when it starts")
                }
                if unresolved.contains("runner") {
                    notes.append("{runner}: the runner id, known once the run has triggered")
                }
                result.append(
                    Plan.Output(
                        step: index + 1, format: step.format.rawValue, template: step.path, path: path,
                        collection: collection, reads: collection.map { [$0] } ?? reads, unresolved: unresolved,
                        notes: notes))
            }
        }
        return result
    }

    // MARK: Schedule

    static func scheduleInfo(_ schedule: Schedule, now: Date) -> Plan.ScheduleInfo {
        let fires = ScheduleCalculator.nextFireTimes(schedule, after: now, count: fireTimeCount).map { fire in
            Plan.Fire(
                local: fire.local.description, utc: fire.utcText, movedByDaylightSaving: fire.movedByDaylightSaving,
                note: fire.explanation)
        }
        return Plan.ScheduleInfo(
            rule: rule(schedule), zone: schedule.timezone.description, catchUp: schedule.catchUp.rawValue,
            overlap: schedule.overlap.rawValue, next: fires)
    }

    /// The schedule in words, as the workflow states it.
    static func rule(_ schedule: Schedule) -> String {
        let times = schedule.at.map(\.description).joined(separator: ", ")
        let days = schedule.days.map(\.description).joined(separator: ", ")
        var text: String
        switch schedule.every {
        case .interval(let step):
            text = "every \(step)"
            if !schedule.windows.isEmpty {
                text += " within " + schedule.windows.map(\.description).joined(separator: ", ")
            }
            if !days.isEmpty { text += " on \(days)" }
        case .daily:
            text = "daily at " + (times.isEmpty ? ScheduleCalculator.defaultTime.description : times)
            if !days.isEmpty { text += " on \(days)" }
        case .weekly:
            text =
                "weekly on " + (days.isEmpty ? ScheduleCalculator.defaultWeeklyDay.description : days) + " at "
                + (times.isEmpty ? ScheduleCalculator.defaultTime.description : times)
        case .monthly:
            let dates =
                schedule.daysOfMonth.isEmpty
                ? String(ScheduleCalculator.defaultDayOfMonth)
                : schedule.daysOfMonth.map(String.init).joined(separator: ", ")
            text = "monthly on day \(dates) at " + (times.isEmpty ? ScheduleCalculator.defaultTime.description : times)
        }
        return text
    }
}
