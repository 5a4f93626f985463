import Foundation

/// The dry run's result: what `cartflow run` would do with a workflow now, every number with its origin.
/// Built by `Planner.plan` (pure), rendered by `PlanTextRenderer` and `PlanJSONRenderer`. Holds no secret.
public struct Plan: Sendable, Equatable {
    /// Where a fact came from.
    public enum Source: String, Sendable {
        /// Asked just now: the API's read-only endpoints, or the state database.
        case checked
        /// Taken on trust: the workflow's `items:` hint, or "the run starts now".
        case assumed
        /// A rule written in the workflow file.
        case workflow
        /// Not known before the run.
        case unknown
    }

    /// A number and where it came from.
    public struct Fact: Sendable, Equatable {
        public var value: Int?
        public var source: Source
        /// In plain words: `ASIN list with_count of collection 101`, `items: hint in the workflow`.
        public var origin: String

        public init(value: Int?, source: Source, origin: String) {
            self.value = value
            self.source = source
            self.origin = origin
        }
    }

    /// One collection: its cost, what `run` would do with it, and what the server is doing with it.
    public struct Collection: Sendable, Equatable {
        public var name: String
        public var id: Int
        public var items: Fact
        /// Whether the next run would trigger it (and pay for it).
        public var triggered: Bool
        /// With an unfinished run: what `run` does with it (resume, or trigger).
        public var resume: String?
        public var server: Server
    }

    /// What the run history says about a collection right now.
    public struct Server: Sendable, Equatable {
        public var source: Source
        public var newestRunner: Int?
        /// Whether the newest runner is still processing (nil when not known).
        public var processing: Bool?
        /// Whether that runner belongs to this workflow's unfinished run.
        public var ours: Bool
        public var text: String
    }

    /// The credit math.
    public struct Credits: Sendable, Equatable {
        public var spendable: Fact
        public var available: Int?
        public var used: Int?
        public var frozen: Int?
        /// One credit per item of each collection that would be triggered (known counts only).
        public var total: Int
        /// Collections that would be triggered but whose item count is unknown.
        public var unknownItems: [String]
        /// How many collections would be triggered.
        public var triggering: Int
        /// `spendable − total`; nil when the balance is unknown.
        public var balanceAfter: Int?
        public var reserve: Int
        public var maxSpend: Int?
        /// `fail`, `skip`, or `wait 1h every 5m`.
        public var onInsufficient: String
        /// Whether the counts add up to more than a number holds (`CreditCheck.Verdict.totalOverflows`): `total`
        /// and `balanceAfter` are then no figures, and are shown as such.
        public var totalOverflows = false
    }

    /// Whether the run would go, and why not.
    public struct Verdict: Sendable, Equatable {
        public enum Outcome: String, Sendable {
            /// Everything would run.
            case runs
            /// Stopped by the credit rules (`on_insufficient: fail`, or `wait` when credits cannot help).
            case blocked
            case skipped
            case waits
            /// The run would go but end partial: some collections would not be fetched (someone else's runner is
            /// processing them, or their trigger produced no visible runner).
            case partial
            /// The run would go but fetch nothing, for the same reasons.
            case fails
        }

        public var outcome: Outcome
        /// False when the balance was not checked (offline).
        public var checked: Bool
        /// `runs`, or `blocked: needs 250 + reserve 200, has 300`.
        public var summary: String
        /// The rules broken, the executor's words.
        public var reasons: [String]

        /// Whether `run` would spend nothing because of the credit rules.
        public var isBlocked: Bool { outcome == .blocked || outcome == .skipped || outcome == .waits }
    }

    /// The state database and the unfinished run `run` would resume.
    public struct StateInfo: Sendable, Equatable {
        public var path: String
        public var source: Source
        public var text: String
        public var resumesRun: Int?
        public var runStatus: String?
        public var runStartedAt: String?
    }

    /// One output file.
    public struct Output: Sendable, Equatable {
        /// 1-based step number in `steps:`.
        public var step: Int
        public var format: String
        public var template: String
        /// The expanded path, relative to the working directory unless absolute; unresolved placeholders stay.
        public var path: String
        /// The collection of a one-file-per-collection step.
        public var collection: String?
        public var reads: [String]
        /// Placeholders left as `{name}` because their value is known only during the run.
        public var unresolved: [String]
        /// How each placeholder was filled.
        public var notes: [String]
    }

    /// One upcoming fire time.
    public struct Fire: Sendable, Equatable {
        /// `2026-06-22 08:00 +10:00` in the schedule's zone.
        public var local: String
        /// `2026-06-21T22:00:00Z`.
        public var utc: String
        public var movedByDaylightSaving: Bool
        /// Why the slot moved (daylight saving, a short month), nil when it did not.
        public var note: String?
    }

    public struct ScheduleInfo: Sendable, Equatable {
        /// `weekly on mon, tue at 08:00, 18:00`.
        public var rule: String
        public var zone: String
        public var catchUp: String
        public var overlap: String
        public var next: [Fire]
    }

    public var workflow: String
    public var file: String
    public var description: String?
    public var mode: PlanFacts.Mode
    /// The instant the plan is for, `2026-06-20T09:00:00Z`.
    public var plannedAt: String
    public var graph: StepGraph
    public var collections: [Collection]
    public var credits: Credits
    public var verdict: Verdict
    public var state: StateInfo
    public var outputs: [Output]
    /// Nil for a manual-only workflow.
    public var schedule: ScheduleInfo?
    /// Things worth knowing that are not a verdict: a processing runner, a count that differs from its hint.
    public var notes: [String]
}
