import Foundation

/// What the scheduler does with one slot (or one group of missed slots), with the reason for the daemon's
/// one-line-per-decision log.
public struct SlotAction: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Due now (within the tolerance): start a run.
        case fired
        /// Missed while the scheduler was not running, run now under `catch_up`.
        case caughtUp = "caught up"
        /// The slot queued behind the previous run: start it now that the run is over.
        case firedFromQueue = "fired from queue"
        /// The previous run is still going: run this slot when it finishes (`overlap: queue`).
        case queued
        /// The previous run is still going: this slot does not run (`overlap: skip`, or the queue is full).
        case skippedByOverlap = "skipped by overlap"
        /// Missed slots that `catch_up` does not run; `count` says how many, `slot` is the latest of them.
        case missed
        /// The latest slot before the first start of a workflow with no history: not run, only recorded.
        case beforeFirstStart = "before first start"
    }

    public var kind: Kind
    /// The slot; for a group of missed slots, the latest of the group.
    public var slot: FireTime
    /// How many slots this action covers (more than one only for `missed`).
    public var count: Int
    /// A plain sentence starting with the kind, e.g. `caught up: the latest of 3 missed slots (catch_up: latest)`.
    public var reason: String

    public init(kind: Kind, slot: FireTime, count: Int = 1, reason: String) {
        self.kind = kind
        self.slot = slot
        self.count = count
        self.reason = reason
    }

    /// Whether the daemon starts a run for this action.
    public var startsRun: Bool { kind == .fired || kind == .caughtUp || kind == .firedFromQueue }

    /// `2024-03-10 03:00 -04:00 (2024-03-10T07:00:00Z) fired: due now`.
    public var description: String { "\(slot.local) (\(slot.utcText)) \(reason)" }
}

/// The outcome of one scheduling decision for one workflow: what to do now and what to remember.
public struct SlotDecision: Sendable, Hashable {
    /// In order; one log line each. The runs to start are the actions with `startsRun`, one after another in
    /// this order.
    public var actions: [SlotAction]
    /// The latest slot decided (fired, caught up, queued, skipped or missed); store it (UTC) and pass it back as
    /// `lastSlot` next time. Unchanged when nothing was due.
    public var lastSlot: Date?
    /// The slot waiting for the running run to finish, if any; pass it back next time.
    public var queuedSlot: Date?
    /// When to decide again: the first slot after both now and `lastSlot`; `nil` if the schedule never fires
    /// again within the search horizon. A queued slot also needs a decision when the running run finishes.
    public var nextWake: Date?

    public init(actions: [SlotAction], lastSlot: Date?, queuedSlot: Date?, nextWake: Date?) {
        self.actions = actions
        self.lastSlot = lastSlot
        self.queuedSlot = queuedSlot
        self.nextWake = nextWake
    }

    /// The slots to run now, in order.
    public var slotsToRun: [FireTime] { actions.filter(\.startsRun).map(\.slot) }
}

/// Decides which slots of a schedule to run now, from the last slot decided, the current instant and whether the
/// previous run is still going. Pure: the daemon supplies the instants and keeps the state. Rules and examples
/// are in docs/schedules.md.
public enum SlotDecider {
    /// How late a slot may be decided and still count as due now rather than missed.
    public static let defaultTolerance: TimeInterval = 60
    /// `catch_up: all` runs at most this many missed slots (the latest ones, in order); older ones are missed.
    public static let catchUpAllLimit = 10
    /// Missed slots are counted up to this many for the log; beyond it the message says "more than".
    public static let missedCountLimit = 10_000

    public static func decide(
        _ schedule: Schedule, lastSlot: Date?, now: Date, runInProgress: Bool, queuedSlot: Date?,
        tolerance: TimeInterval = defaultTolerance
    ) -> SlotDecision {
        let nowSeconds = Int(now.timeIntervalSince1970.rounded(.down))
        let tolerance = max(0, Int(tolerance.rounded(.down)))
        let dueFrom = nowSeconds - tolerance
        let clock = WallClock(schedule.timezone)
        var actions: [SlotAction] = []
        var queued = queuedSlot
        var newLast = lastSlot.map { Int($0.timeIntervalSince1970.rounded(.down)) }

        if let slot = queued, !runInProgress {
            let fireTime = clock.fireTime(at: Int(slot.timeIntervalSince1970.rounded(.down)), adjustments: [])
            actions.append(
                SlotAction(
                    kind: .firedFromQueue, slot: fireTime, reason: "fired from queue: the previous run finished"))
            queued = nil
        }

        // Slots to start, before overlap is applied.
        var candidates: [SlotAction] = []
        if let last = newLast {
            // Only slots after the last one decided: a restart or a clock set back never runs a slot twice.
            if last < nowSeconds {
                let keep = schedule.catchUp == .all ? catchUpAllLimit : 1
                let due = dueSlots(schedule, after: last, through: nowSeconds, keep: keep)
                if let latest = due.recent.last {
                    newLast = latest.unixSeconds
                    candidates = catchUp(schedule, due: due, dueFrom: dueFrom, actions: &actions)
                }
            }
        } else {
            // First start, no history: only slots from now on (within the tolerance) run. The latest earlier slot
            // is recorded so that a later downtime is caught up normally.
            let horizonStart = nowSeconds - ScheduleCalculator.searchHorizonDays * 86_400
            let due = dueSlots(schedule, after: horizonStart, through: nowSeconds, keep: 1, countEarlier: false)
            if let latest = due.recent.last {
                newLast = latest.unixSeconds
                if latest.unixSeconds >= dueFrom {
                    candidates = [SlotAction(kind: .fired, slot: latest, reason: "fired: due now")]
                } else {
                    actions.append(
                        SlotAction(
                            kind: .beforeFirstStart, slot: latest,
                            reason: "before first start: not run, there is no history "
                                + "(only slots from now on run)"))
                }
            }
        }

        for candidate in candidates {
            guard runInProgress else {
                actions.append(candidate)
                continue
            }
            switch schedule.overlap {
            case .skip:
                actions.append(
                    SlotAction(
                        kind: .skippedByOverlap, slot: candidate.slot,
                        reason: "skipped by overlap: the previous run is still going (overlap: skip)"))
            case .queue:
                if queued == nil {
                    queued = candidate.slot.instant
                    actions.append(
                        SlotAction(
                            kind: .queued, slot: candidate.slot,
                            reason: "queued: runs when the previous run finishes (overlap: queue)"))
                } else {
                    actions.append(
                        SlotAction(
                            kind: .skippedByOverlap, slot: candidate.slot,
                            reason: "skipped by overlap: a slot is already queued (overlap: queue holds one)"))
                }
            }
        }

        let wakeAfter = max(nowSeconds, newLast ?? nowSeconds)
        let next = ScheduleCalculator.nextFireTimes(schedule, after: Date(unixSeconds: wakeAfter), count: 1).first
        return SlotDecision(
            actions: actions, lastSlot: newLast.map(Date.init(unixSeconds:)), queuedSlot: queued,
            nextWake: next?.instant)
    }

    /// Applies `catch_up` to the due slots: appends the `missed` summary to `actions` and returns the slots to
    /// start (before overlap).
    private static func catchUp(_ schedule: Schedule, due: DueSlots, dueFrom: Int, actions: inout [SlotAction])
        -> [SlotAction]
    {
        func onTime(_ slot: FireTime) -> Bool { slot.unixSeconds >= dueFrom }
        func countText(_ n: Int, exact: Bool) -> String {
            let noun = n == 1 ? "slot" : "slots"
            return exact ? "\(n) \(noun)" : "more than \(n) slots"
        }
        switch schedule.catchUp {
        case .latest:
            let latest = due.recent[due.recent.count - 1]
            let earlier = due.earlier + due.recent.count - 1
            if earlier > 0, let lastMissed = due.recent.dropLast().last ?? due.latestEarlier {
                actions.append(
                    SlotAction(
                        kind: .missed, slot: lastMissed, count: earlier,
                        reason: "missed: \(countText(earlier, exact: due.earlierExact)) not run "
                            + "(catch_up: latest runs only the latest)"))
            }
            if onTime(latest) { return [SlotAction(kind: .fired, slot: latest, reason: "fired: due now")] }
            let total = earlier + 1
            let what =
                earlier == 0
                ? "the one missed slot"
                : "the latest of \(due.earlierExact ? "" : "more than ")\(total) missed slots"
            return [SlotAction(kind: .caughtUp, slot: latest, reason: "caught up: \(what) (catch_up: latest)")]

        case .all:
            if due.earlier > 0, let lastMissed = due.latestEarlier {
                actions.append(
                    SlotAction(
                        kind: .missed, slot: lastMissed, count: due.earlier,
                        reason: "missed: \(countText(due.earlier, exact: due.earlierExact)) not run "
                            + "(catch_up: all runs at most the \(catchUpAllLimit) latest)"))
            }
            return due.recent.map { slot in
                onTime(slot)
                    ? SlotAction(kind: .fired, slot: slot, reason: "fired: due now")
                    : SlotAction(
                        kind: .caughtUp, slot: slot, reason: "caught up: missed slot, run in order (catch_up: all)")
            }

        case .none:
            let latest = due.recent[due.recent.count - 1]
            let runs = onTime(latest)
            let missed = due.earlier + due.recent.count - (runs ? 1 : 0)
            let lastMissed = runs ? (due.recent.dropLast().last ?? due.latestEarlier) : latest
            if missed > 0, let lastMissed {
                actions.append(
                    SlotAction(
                        kind: .missed, slot: lastMissed, count: missed,
                        reason: "missed: \(countText(missed, exact: due.earlierExact)) not run (catch_up: none)"))
            }
            return runs ? [SlotAction(kind: .fired, slot: latest, reason: "fired: due now")] : []
        }
    }

    /// The latest slots in (`after`, `through`] and how many came before them.
    struct DueSlots {
        /// At most `keep` slots, in order, the last one the latest due.
        var recent: [FireTime]
        /// How many due slots precede `recent`.
        var earlier: Int
        var earlierExact: Bool
        /// The latest of the `earlier` slots.
        var latestEarlier: FireTime?
    }

    /// Finds the latest due slots by widening a window back from `through`, so a long downtime does not walk
    /// through every missed slot; then counts the earlier ones up to `missedCountLimit`.
    static func dueSlots(
        _ schedule: Schedule, after: Int, through: Int, keep: Int, countEarlier: Bool = true
    ) -> DueSlots {
        var span = 3_600
        var found: [FireTime] = []
        while true {
            let windowStart = max(after, through - span)
            // One more than kept, so the latest earlier slot is known without walking all of them.
            found = slots(schedule, after: windowStart, through: through, limit: Int.max)
            if found.count > keep || windowStart == after { break }
            span *= 4
        }
        let recent = Array(found.suffix(keep))
        let latestEarlier = found.count > keep ? found[found.count - keep - 1] : nil
        guard countEarlier, let first = recent.first, latestEarlier != nil else {
            return DueSlots(recent: recent, earlier: 0, earlierExact: true, latestEarlier: nil)
        }
        let earlier: Int
        if case .interval(let step) = schedule.every, schedule.days.isEmpty, schedule.windows.isEmpty {
            // A plain grid: the slots before `first` are every `step` back to `after`, no need to walk them.
            earlier = min((first.unixSeconds - 1 - after) / step.value, missedCountLimit + 1)
        } else {
            earlier = slots(schedule, after: after, through: first.unixSeconds - 1, limit: missedCountLimit + 1).count
        }
        return DueSlots(
            recent: recent, earlier: min(earlier, missedCountLimit), earlierExact: earlier <= missedCountLimit,
            latestEarlier: latestEarlier)
    }

    /// The slots in (`after`, `through`], at most `limit` of them (the earliest).
    static func slots(_ schedule: Schedule, after: Int, through: Int, limit: Int) -> [FireTime] {
        var result: [FireTime] = []
        var cursor = after
        // Small batches first: the usual range holds one or two slots, and computing a daily schedule's next 64
        // slots to find one would cost 64 days of work.
        var batchSize = 2
        while result.count < limit && cursor < through {
            let batch = ScheduleCalculator.nextFireTimes(schedule, after: Date(unixSeconds: cursor), count: batchSize)
            for slot in batch {
                if slot.unixSeconds > through || result.count == limit { return result }
                result.append(slot)
            }
            guard let last = batch.last, batch.count == batchSize else { break }
            cursor = last.unixSeconds
            batchSize = min(batchSize * 2, 256)
        }
        return result
    }
}
