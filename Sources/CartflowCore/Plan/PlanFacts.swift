/// What `cartflow plan` learned outside the workflow file before planning: the balance, item counts and run
/// history from the API's read-only endpoints, and the unfinished run in the state database. Gathered by the CLI,
/// consumed by the pure `Planner`; every field is optional so an offline plan is the same code with less known.
public struct PlanFacts: Sendable, Equatable {
    /// Where the facts came from.
    public enum Mode: Sendable, Equatable {
        /// The MultiCart API at this base URL.
        case api(baseURL: String)
        /// The embedded emulator (`--sandbox`).
        case sandbox
        /// No network at all (`--offline`).
        case offline
    }

    /// The balance as `POST /users/credits/` reported it (the client's own type).
    public typealias Balance = CreditBalance

    /// A collection's item count from the ASIN list, or why the API could not tell.
    public enum ItemCount: Sendable, Equatable {
        case checked(Int)
        case unavailable(reason: String)
    }

    /// The newest runner of a collection on the server (run history, `limit: 1`), or why it could not be read.
    public enum NewestRunner: Sendable, Equatable {
        case noRunner
        case runner(id: Int, generated: Bool, createdAt: String?)
        case unavailable(reason: String)
    }

    /// One collection of an unfinished run, as the state database records it.
    public struct ResumableCollection: Sendable, Equatable {
        public var name: String
        /// The MultiCart collection id recorded with it; nil matches the file's collection by name alone.
        public var collectionID: Int?
        public var phase: String
        public var runnerID: Int?
        public var attribution: String?
        public var items: Int?
        /// The newest runner seen before this collection's trigger (recorded with the intent).
        public var baselineRunner: Int?

        public init(
            name: String, collectionID: Int? = nil, phase: String, runnerID: Int? = nil, attribution: String? = nil,
            items: Int? = nil, baselineRunner: Int? = nil
        ) {
            self.name = name
            self.collectionID = collectionID
            self.phase = phase
            self.runnerID = runnerID
            self.attribution = attribution
            self.items = items
            self.baselineRunner = baselineRunner
        }

        /// The baseline `run` settles against: a trigger may have been sent but no runner is recorded yet (the
        /// executor's reconciliation, and its second look at a trigger recorded as not observed).
        public var unsettledBaseline: Int? {
            guard runnerID == nil, let baselineRunner else { return nil }
            let unsettled = phase == "intent" || phase == "triggered" || phase == "failed"
            return unsettled ? baselineRunner : nil
        }
    }

    /// The newest unfinished run of the workflow in the state database, which `run` would resume.
    public struct UnfinishedRun: Sendable, Equatable {
        public var id: Int
        public var status: String
        /// As stored, `2026-06-20T09:00:00.000Z`.
        public var startedAt: String
        public var collections: [ResumableCollection]

        public init(id: Int, status: String, startedAt: String, collections: [ResumableCollection]) {
            self.id = id
            self.status = status
            self.startedAt = startedAt
            self.collections = collections
        }
    }

    /// What the state database said.
    public enum State: Sendable, Equatable {
        /// The file does not exist: nothing to resume (plan does not create it).
        case absent(path: String)
        /// Read; no unfinished run of this workflow.
        case noUnfinishedRun(path: String)
        case unfinished(path: String, run: UnfinishedRun)
        /// Could not be read (locked, corrupt, newer schema).
        case unreadable(path: String, reason: String)
    }

    public var mode: Mode
    /// Nil offline.
    public var balance: Balance?
    /// By local collection name; missing entries were not asked (offline).
    public var itemCounts: [String: ItemCount]
    /// By local collection name; missing entries were not asked (offline).
    public var newestRunners: [String: NewestRunner]
    public var state: State

    public init(
        mode: Mode, balance: Balance? = nil, itemCounts: [String: ItemCount] = [:],
        newestRunners: [String: NewestRunner] = [:], state: State
    ) {
        self.mode = mode
        self.balance = balance
        self.itemCounts = itemCounts
        self.newestRunners = newestRunners
        self.state = state
    }

    /// Whether the API (or the sandbox) was asked.
    public var isOnline: Bool { mode != .offline }
}
