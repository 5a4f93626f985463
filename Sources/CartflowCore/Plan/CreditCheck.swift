/// The workflow's credit rules applied to a balance and the items a run would trigger — the one decision that
/// both `cartflow run` (the executor) and `cartflow plan` make, so the plan's verdict is the run's verdict.
public enum CreditCheck {
    /// The outcome of the rules: the total, the collections whose count is unknown, and why the run may not go.
    public struct Verdict: Sendable, Equatable {
        /// Credits the run would spend: one per item of every collection with a known count.
        public var total: Int
        /// Collections (in the order given) whose item count is unknown.
        public var unknown: [String]
        /// Every rule the run breaks, in plain words; empty when it may go.
        public var reasons: [String]
        /// Whether the balance rule is among the reasons (the only one that more credits can fix).
        public var balanceShort = false
        /// Whether the counts add up to more than an `Int` holds: `total` is then `Int.max`, not a sum.
        public var totalOverflows = false

        /// Whether the rules let the run go.
        public var passes: Bool { reasons.isEmpty }

        /// Whether waiting for credits (`on_insufficient: wait`) can make the run go: the balance is the only
        /// rule broken. A spending limit, an unknown count or an impossible total stay broken however long one
        /// waits, so the run is blocked at once.
        public var waitingCanHelp: Bool { balanceShort && reasons.count == 1 }

        /// `blocked by credits: needs 250 + reserve 200, has 300` — the executor's message; nil when it passes.
        public var blockedMessage: String? {
            reasons.isEmpty ? nil : "blocked by credits: " + reasons.joined(separator: "; ")
        }
    }

    /// Applies `rules` to the collections about to be triggered (`items` nil = count unknown), in order.
    /// With `spendable` nil (an offline plan) the balance rule cannot be judged and is left out.
    public static func evaluate(spendable: Int?, items: [(name: String, items: Int?)], rules: CreditRules) -> Verdict {
        // Counts come from the API: their sum and the balance arithmetic are checked, never trapped on.
        let summed = total(of: items.compactMap(\.items))
        let total = summed ?? Int.max
        let unknown = items.filter { $0.items == nil }.map(\.name)
        var reasons: [String] = []
        if summed == nil {
            reasons.append(
                "the item counts add up to more than \(Int.max) credits, which no balance covers; check the "
                    + "collections' counts")
        }
        // Past `Int.max` the total is no number: the spending limit and the balance cannot be compared with it,
        // and the reason above already blocks the run.
        if summed != nil, let maxSpend = rules.maxSpend, total > maxSpend {
            reasons.append("the run needs \(total) credits but credits.max_spend is \(maxSpend)")
        }
        let reserve = rules.reserve
        var balanceShort = false
        if summed != nil, let spendable, remaining(spendable, after: total).map({ $0 < reserve }) ?? true {
            reasons.append("needs \(total)" + (reserve > 0 ? " + reserve \(reserve)" : "") + ", has \(spendable)")
            balanceShort = true
        }
        // An unknown count makes the reserve and the spending limit impossible to keep for sure.
        if !unknown.isEmpty && (reserve > 0 || rules.maxSpend != nil) {
            reasons.append(
                "cannot learn the item count of \(unknown.joined(separator: ", ")); add `items:` to the collection")
        }
        return Verdict(
            total: total, unknown: unknown, reasons: reasons, balanceShort: balanceShort, totalOverflows: summed == nil)
    }

    /// The credits of several collections, one per item; nil when the sum does not fit in an `Int`.
    public static func total(of counts: [Int]) -> Int? {
        var sum = 0
        for count in counts {
            let (next, overflow) = sum.addingReportingOverflow(count)
            if overflow { return nil }
            sum = next
        }
        return sum
    }

    /// `spendable − total`, the balance after the run; nil when it is below `Int.min` (far short).
    public static func remaining(_ spendable: Int, after total: Int) -> Int? {
        let (after, overflow) = spendable.subtractingReportingOverflow(total)
        return overflow ? nil : after
    }
}

/// What `cartflow run` does with each collection of an unfinished run it resumes, by the phase recorded in the
/// state database — shared by the executor and the plan.
public enum ResumeRules {
    /// Which recorded row of an unfinished run each collection of the file continues, in the file's order: the
    /// row of the same name and collection id, else a row of the same id under another name that no collection
    /// took (a renamed key: its trigger, runner and files are carried over, never paid again). A row of the same
    /// name but another id continues nothing (its runner is never adopted under the new id). A recorded row
    /// without an id (`nil`) matches by name alone. `StateStore.ensureCollections` and the plan both use it.
    public static func matchingRows(recorded: [(name: String, id: Int?)], wanted: [(name: String, id: Int)]) -> [Int?] {
        var claimed = Set<Int>()
        var matches: [Int?] = wanted.map { collection in
            let row = recorded.indices.first { index in
                !claimed.contains(index) && recorded[index].name == collection.name
                    && (recorded[index].id == nil || recorded[index].id == collection.id)
            }
            if let row { claimed.insert(row) }
            return row
        }
        for (position, collection) in wanted.enumerated() where matches[position] == nil {
            let row = recorded.indices.first { !claimed.contains($0) && recorded[$0].id == collection.id }
            if let row { claimed.insert(row) }
            matches[position] = row
        }
        return matches
    }

    /// Phases in which a collection has no runner of its own yet and is triggered (and paid for) by the next run.
    public static let triggerPhases: Set<String> = ["pending", "blocked", "skipped", "not_triggered"]

    /// Whether a collection in `phase` would be triggered again by the next run.
    public static func needsTrigger(phase: String) -> Bool { triggerPhases.contains(phase) }

    /// One sentence: what the next `run` does with a collection recorded in `phase` (no trigger unless said).
    public static func resumeAction(phase: String, runnerID: Int?, attribution: String?) -> String {
        if phase == "not_triggered" {
            // Its trigger was answered with a refusal; a runner that appeared since may be that trigger's.
            return "refused earlier: reads the run history first and adopts a runner that appeared since (as "
                + "ambiguous); otherwise would be triggered again (and paid for)"
        }
        if needsTrigger(phase: phase) { return "not triggered yet: would be triggered (and paid for)" }
        let runner = runnerID.map { "runner \($0)" }
        switch phase {
        case "fetched", "exported":
            return "already fetched (\(runner ?? "runner ?")): not fetched again"
        case "intent":
            return "a trigger was sent but its answer was not recorded: reads the run history to adopt the runner, "
                + "no new trigger"
        case "failed" where runnerID == nil && attribution == "not_observed":
            return "an earlier trigger produced no visible runner: reads the run history again and adopts the "
                + "earliest runner newer than the one recorded before that trigger (as adopted late); with none, "
                + "stops without triggering again (`run --new` starts a fresh run)"
        default:
            if let runner { return "\(phase): polls \(runner) and fetches its files, no new trigger" }
            return "\(phase): looks for its runner in the run history, no new trigger"
        }
    }
}
