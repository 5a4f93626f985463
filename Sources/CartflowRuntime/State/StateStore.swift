import CartflowCore
import Foundation

/// The state database: every workflow run, each collection's trigger intent and runner, every downloaded
/// file (size and SHA-256) and every export — what makes `cartflow run` resumable and never pay twice.
/// It never holds the API key. Thread-safe: one connection behind a lock.
public final class StateStore: @unchecked Sendable {
    /// Migrations in order; the database's `user_version` says how many have run.
    static let migrations: [String] = [
        """
        CREATE TABLE workflow_runs (
            id INTEGER PRIMARY KEY,
            workflow TEXT NOT NULL,
            source_path TEXT NOT NULL,
            status TEXT NOT NULL,            -- running | succeeded | failed | blocked | timed_out | partial | abandoned
            started_at TEXT NOT NULL,
            finished_at TEXT,
            detail TEXT
        );
        CREATE INDEX workflow_runs_by_name ON workflow_runs(workflow, id);
        CREATE TABLE collection_runs (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES workflow_runs(id),
            collection TEXT NOT NULL,        -- the local name
            collection_id INTEGER NOT NULL,
            phase TEXT NOT NULL,             -- pending | intent | triggered | fetched | exported | failed | blocked | timed_out
            baseline_runner INTEGER,         -- newest runner id seen before the trigger
            runner_id INTEGER,
            attribution TEXT,                -- exact | ambiguous | adopted_after_crash | not_observed
            candidates TEXT,                 -- runner ids seen as new, comma separated
            items INTEGER,
            exacted INTEGER,
            intent_at TEXT,
            triggered_at TEXT,
            detail TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE(run_id, collection)
        );
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            collection_run_id INTEGER NOT NULL REFERENCES collection_runs(id),
            name TEXT NOT NULL,
            link TEXT NOT NULL,
            local_path TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            downloaded_at TEXT NOT NULL,
            UNIQUE(collection_run_id, name)
        );
        CREATE TABLE exports (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES workflow_runs(id),
            step INTEGER NOT NULL,
            path TEXT NOT NULL,
            format TEXT NOT NULL,
            records INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            exported_at TEXT NOT NULL,
            UNIQUE(run_id, step, path)
        );
        CREATE TABLE leases (
            workflow TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            heartbeat REAL NOT NULL
        );
        CREATE TABLE schedule_slots (
            workflow TEXT PRIMARY KEY,
            last_slot TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
        // The slot waiting behind a running run (`overlap: queue`), kept so a restart does not lose it.
        """
        ALTER TABLE schedule_slots ADD COLUMN queued_slot TEXT;
        """,
        // Which schedule the slot belongs to (`Schedule.slotFingerprint`), so an edit made while the daemon was
        // down is not caught up as if its past slots had been missed. NULL in rows written before.
        """
        ALTER TABLE schedule_slots ADD COLUMN schedule_fingerprint TEXT;
        """,
        // When the runner scraped, as the run history reported it once the files were ready (the runner's
        // `updated_at`, else its `created_at`), for the `scraped_at` provenance column. NULL in rows written before.
        """
        ALTER TABLE collection_runs ADD COLUMN scraped_at TEXT;
        """,
        // Strings with invalid Unicode the export repaired (U+FFFD), for `cartflow status`. 0 in rows written before.
        """
        ALTER TABLE exports ADD COLUMN repaired_strings INTEGER NOT NULL DEFAULT 0;
        """,
    ]

    private let database: SQLiteDatabase
    private let lock = NSLock()
    public var path: String { database.path }

    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        try migrate()
    }

    private func migrate() throws {
        try lock.withLock {
            try database.transaction {
                let version = try database.query("PRAGMA user_version").first?.first?.int ?? 0
                guard version <= Self.migrations.count else {
                    throw DatabaseError(
                        code: 0, message: "written by a newer cartflow (schema \(version))", context: database.path)
                }
                for index in version..<Self.migrations.count {
                    try database.execute(Self.migrations[index])
                    try database.execute("PRAGMA user_version = \(index + 1)")
                }
            }
        }
    }

    @discardableResult
    private func locked<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try lock.withLock { try body(database) }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    // MARK: Workflow runs

    /// Run statuses that `run` resumes rather than starting afresh: anything that may hold a paid trigger whose
    /// results are not all exported (crashed, timed out, failed or partial after a trigger, blocked).
    public static let resumableStatuses: Set<String> = ["running", "timed_out", "failed", "partial", "blocked"]

    /// The workflow's newest run when it has not finished (see `resumableStatuses`); nil when the newest run
    /// succeeded, was skipped or abandoned, or there is none.
    public func unfinishedRun(workflow: String) throws -> WorkflowRunRecord? {
        try locked { db in
            try db.query(
                "SELECT \(WorkflowRunRecord.columns) FROM workflow_runs WHERE workflow = ? ORDER BY id DESC LIMIT 1",
                [.text(workflow)]
            ).first.map(WorkflowRunRecord.init(row:))
        }.flatMap { Self.resumableStatuses.contains($0.status) ? $0 : nil }
    }

    public func runs(workflow: String? = nil, limit: Int = 20) throws -> [WorkflowRunRecord] {
        try locked { db in
            let rows: [[SQLValue]]
            if let workflow {
                rows = try db.query(
                    "SELECT \(WorkflowRunRecord.columns) FROM workflow_runs WHERE workflow = ? ORDER BY id DESC LIMIT ?",
                    [.text(workflow), .int(Int64(limit))])
            } else {
                rows = try db.query(
                    "SELECT \(WorkflowRunRecord.columns) FROM workflow_runs ORDER BY id DESC LIMIT ?",
                    [.int(Int64(limit))])
            }
            return rows.map(WorkflowRunRecord.init(row:))
        }
    }

    /// Starts a run with one pending row per collection.
    public func createRun(
        workflow: String, sourcePath: String, collections: [(name: String, id: Int)], lease: LeaseClaim? = nil
    ) throws -> WorkflowRunRecord {
        try locked { db in
            try db.transaction {
                try Self.verify(lease, db)
                let now = Self.timestamp()
                try db.query(
                    "INSERT INTO workflow_runs (workflow, source_path, status, started_at) VALUES (?, ?, 'running', ?)",
                    [.text(workflow), .text(sourcePath), .text(now)])
                let runID = Int(db.lastInsertRowID)
                for collection in collections {
                    try db.query(
                        "INSERT INTO collection_runs (run_id, collection, collection_id, phase, updated_at) VALUES (?, ?, ?, 'pending', ?)",
                        [.int(Int64(runID)), .text(collection.name), .int(Int64(collection.id)), .text(now)])
                }
                return WorkflowRunRecord(
                    id: runID, workflow: workflow, sourcePath: sourcePath, status: "running", startedAt: now,
                    finishedAt: nil, detail: nil)
            }
        }
    }

    /// What `ensureCollections` changed in a resumed run's rows, for the run's messages.
    public enum CollectionChange: Sendable, Equatable {
        /// A stored row of this collection id was carried over from its old name to the file's new name.
        case renamed(from: String, to: String, collectionID: Int)
        /// A stored row whose collection id is no longer the file's for its name; it keeps its history under
        /// `storedAs` and is treated as removed from the workflow.
        case replaced(name: String, oldID: Int, newID: Int, storedAs: String)
    }

    /// The name a replaced row is kept under (`collection` is unique per run): the old name, its collection id
    /// and its row id, never a name a workflow's collection has.
    static func retiredName(_ name: String, collectionID: Int, row: Int) -> String {
        "\(name) [collection \(collectionID), replaced, row \(row)]"
    }

    /// Matches a resumed run's rows to the file's collections by name **and** collection id, then adds pending
    /// rows for the collections it does not have yet (the file gained a collection, or changed one's id):
    /// - a row whose collection id matches the file's entry of the same name is kept;
    /// - a row whose collection id the file now gives under another name (a renamed key) is carried over to
    ///   that name: its trigger, runner and files are kept, so the collection is never triggered again;
    /// - any other row under a name the file uses with another id is renamed out of the way
    ///   (`retiredName`) and so treated as removed: its runner is never adopted under the new id.
    @discardableResult
    public func ensureCollections(runID: Int, collections: [(name: String, id: Int)], lease: LeaseClaim? = nil)
        throws -> [CollectionChange]
    {
        try locked { db in
            try db.transaction {
                try Self.verify(lease, db)
                let rows = try db.query(
                    "SELECT id, collection, collection_id FROM collection_runs WHERE run_id = ? ORDER BY id",
                    [.int(Int64(runID))]
                ).map { (row: $0[0].int ?? 0, name: $0[1].text ?? "", id: $0[2].int ?? 0) }
                let matches = ResumeRules.matchingRows(
                    recorded: rows.map { (name: $0.name, id: Int?.some($0.id)) }, wanted: collections)
                let claimed = Set(matches.compactMap { $0.map { rows[$0].row } })
                // Carried over: the file's entry takes the unclaimed row of its collection id under another name.
                let carried = zip(collections, matches).compactMap {
                    collection, match -> (row: Int, from: String, to: String, id: Int)? in
                    guard let match, rows[match].name != collection.name else { return nil }
                    return (rows[match].row, rows[match].name, collection.name, collection.id)
                }
                let names = Set(collections.map(\.name))
                let newIDs = Dictionary(collections.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
                // Replaced: an unclaimed row under a name the file now uses for another collection id.
                let replaced = rows.filter { !claimed.contains($0.row) && names.contains($0.name) }
                let now = Self.timestamp()
                // Out of the way first (names are unique per run), then to their final names.
                for moved in carried.map(\.row) + replaced.map(\.row) {
                    try db.query(
                        "UPDATE collection_runs SET collection = ?, updated_at = ? WHERE id = ?",
                        [.text("\u{1}moving \(moved)"), .text(now), .int(Int64(moved))])
                }
                var changes: [CollectionChange] = []
                for row in replaced {
                    let storedAs = Self.retiredName(row.name, collectionID: row.id, row: row.row)
                    try db.query(
                        "UPDATE collection_runs SET collection = ?, updated_at = ? WHERE id = ?",
                        [.text(storedAs), .text(now), .int(Int64(row.row))])
                    changes.append(
                        .replaced(name: row.name, oldID: row.id, newID: newIDs[row.name] ?? 0, storedAs: storedAs))
                }
                for move in carried {
                    try db.query(
                        "UPDATE collection_runs SET collection = ?, updated_at = ? WHERE id = ?",
                        [.text(move.to), .text(now), .int(Int64(move.row))])
                    changes.append(.renamed(from: move.from, to: move.to, collectionID: move.id))
                }
                for collection in collections {
                    try db.query(
                        "INSERT OR IGNORE INTO collection_runs (run_id, collection, collection_id, phase, updated_at) VALUES (?, ?, ?, 'pending', ?)",
                        [.int(Int64(runID)), .text(collection.name), .int(Int64(collection.id)), .text(now)])
                }
                return changes
            }
        }
    }

    public func finishRun(_ runID: Int, status: String, detail: String? = nil, lease: LeaseClaim? = nil) throws {
        try locked { db in
            try db.transaction {
                try Self.verify(lease, db)
                try db.query(
                    "UPDATE workflow_runs SET status = ?, finished_at = ?, detail = ? WHERE id = ?",
                    [.text(status), .text(Self.timestamp()), SQLValue(detail), .int(Int64(runID))])
            }
        }
    }

    /// Marks a run as given up on purpose (`run --new`), keeping its history.
    public func abandonRun(_ runID: Int, lease: LeaseClaim? = nil) throws {
        try finishRun(runID, status: "abandoned", detail: "superseded by a run started with --new", lease: lease)
    }

    // MARK: Collection runs

    public func collectionRuns(runID: Int) throws -> [CollectionRunRecord] {
        try locked { db in
            try db.query(
                "SELECT \(CollectionRunRecord.columns) FROM collection_runs WHERE run_id = ? ORDER BY id",
                [.int(Int64(runID))]
            ).map(CollectionRunRecord.init(row:))
        }
    }

    public func collectionRun(runID: Int, collection: String) throws -> CollectionRunRecord? {
        try locked { db in
            try db.query(
                "SELECT \(CollectionRunRecord.columns) FROM collection_runs WHERE run_id = ? AND collection = ?",
                [.int(Int64(runID)), .text(collection)]
            ).first.map(CollectionRunRecord.init(row:))
        }
    }

    /// Commits the intent to trigger, with the newest runner id seen before — before the trigger is sent. With a
    /// lease, the lease is checked in the same transaction: a process that lost it can never record an intent,
    /// so it never gets to send the trigger.
    public func recordIntent(_ id: Int, baselineRunner: Int, items: Int?, lease: LeaseClaim? = nil) throws {
        try update(
            id, set: "phase = 'intent', baseline_runner = ?, items = ?, intent_at = ?, runner_id = NULL, detail = NULL",
            [.int(Int64(baselineRunner)), SQLValue(items), .text(Self.timestamp())], lease: lease)
    }

    /// The trigger was accepted; the runner is not known yet.
    public func recordTriggered(_ id: Int, lease: LeaseClaim? = nil) throws {
        try update(id, set: "phase = 'triggered', triggered_at = ?", [.text(Self.timestamp())], lease: lease)
    }

    /// The runner that belongs to this trigger, and how sure we are (`detail`, when given, replaces the recorded one).
    public func recordRunner(
        _ id: Int, runner: Int, attribution: String, candidates: [Int], detail: String? = nil,
        lease: LeaseClaim? = nil
    ) throws {
        try update(
            id,
            set: "phase = 'triggered', runner_id = ?, attribution = ?, candidates = ?, detail = COALESCE(?, detail)",
            [
                .int(Int64(runner)), .text(attribution),
                .text(candidates.map(String.init).joined(separator: ",")), SQLValue(detail),
            ], lease: lease)
    }

    /// Sets the phase and detail; `exacted`, `items` and `scrapedAt` (the runner's time from the run history) are
    /// kept as recorded when nil.
    public func recordPhase(
        _ id: Int, phase: String, detail: String? = nil, exacted: Int? = nil, items: Int? = nil,
        scrapedAt: String? = nil, lease: LeaseClaim? = nil
    ) throws {
        try update(
            id,
            set:
                "phase = ?, detail = ?, exacted = COALESCE(?, exacted), items = COALESCE(?, items), scraped_at = COALESCE(?, scraped_at)",
            [.text(phase), SQLValue(detail), SQLValue(exacted), SQLValue(items), SQLValue(scrapedAt)], lease: lease)
    }

    /// Records that no runner could be attributed to an intent (never re-triggered by itself).
    public func recordNotObserved(_ id: Int, detail: String, lease: LeaseClaim? = nil) throws {
        try update(
            id, set: "phase = 'failed', attribution = 'not_observed', detail = ?", [.text(detail)], lease: lease)
    }

    private func update(_ id: Int, set assignments: String, _ values: [SQLValue], lease: LeaseClaim?) throws {
        try locked { db in
            try db.transaction {
                try Self.verify(lease, db)
                try db.query(
                    "UPDATE collection_runs SET \(assignments), updated_at = ? WHERE id = ?",
                    values + [.text(Self.timestamp()), .int(Int64(id))])
            }
        }
    }

    // MARK: Files and exports

    public func files(collectionRunID: Int) throws -> [FileRecord] {
        try locked { db in
            try db.query(
                "SELECT name, link, local_path, size, sha256 FROM files WHERE collection_run_id = ? ORDER BY id",
                [.int(Int64(collectionRunID))]
            ).map {
                FileRecord(
                    name: $0[0].text ?? "", link: $0[1].text ?? "", localPath: $0[2].text ?? "", size: $0[3].int ?? 0,
                    sha256: $0[4].text ?? "")
            }
        }
    }

    public func recordFile(collectionRunID: Int, file: FileRecord, lease: LeaseClaim? = nil) throws {
        try recordFiles(collectionRunID: collectionRunID, files: [file], lease: lease)
    }

    /// Records downloaded files in one transaction (one commit for a batch of pages).
    public func recordFiles(collectionRunID: Int, files: [FileRecord], lease: LeaseClaim? = nil) throws {
        guard !files.isEmpty else { return }
        try locked { db in
            try db.transaction {
                try Self.verify(lease, db)
                for file in files {
                    try db.query(
                        """
                        INSERT INTO files (collection_run_id, name, link, local_path, size, sha256, downloaded_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(collection_run_id, name) DO UPDATE SET link = excluded.link,
                            local_path = excluded.local_path, size = excluded.size, sha256 = excluded.sha256,
                            downloaded_at = excluded.downloaded_at
                        """,
                        [
                            .int(Int64(collectionRunID)), .text(file.name), .text(file.link), .text(file.localPath),
                            .int(Int64(file.size)), .text(file.sha256), .text(Self.timestamp()),
                        ])
                }
            }
        }
    }

    public func recordExport(
        runID: Int, step: Int, path: String, format: String, records: Int, bytes: Int, repairedStrings: Int = 0,
        lease: LeaseClaim? = nil
    ) throws {
        try locked { db in
            try db.transaction {
                try Self.verify(lease, db)
                try db.query(
                    """
                    INSERT INTO exports (run_id, step, path, format, records, bytes, exported_at, repaired_strings)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(run_id, step, path) DO UPDATE SET records = excluded.records, bytes = excluded.bytes,
                        exported_at = excluded.exported_at, repaired_strings = excluded.repaired_strings
                    """,
                    [
                        .int(Int64(runID)), .int(Int64(step)), .text(path), .text(format), .int(Int64(records)),
                        .int(Int64(bytes)), .text(Self.timestamp()), .int(Int64(repairedStrings)),
                    ])
            }
        }
    }

    public func exports(runID: Int) throws -> [ExportRecord] {
        try locked { db in
            try db.query(
                """
                SELECT step, path, format, records, bytes, repaired_strings FROM exports WHERE run_id = ?
                ORDER BY step, path
                """,
                [.int(Int64(runID))]
            ).map {
                ExportRecord(
                    step: $0[0].int ?? 0, path: $0[1].text ?? "", format: $0[2].text ?? "", records: $0[3].int ?? 0,
                    bytes: $0[4].int ?? 0, repairedStrings: $0[5].int ?? 0)
            }
        }
    }

    // MARK: Leases

    /// Takes the lease on a workflow, or returns the current holder when it is alive.
    /// A holder is dead when its heartbeat is older than `staleAfter`, or when it is a process of this host
    /// that no longer exists.
    /// `pid` is this process unless a test records another one.
    public func acquireLease(
        workflow: String, holder: String, now: Double, staleAfter: Double, pid ownPID: Int = Int(getpid())
    ) throws -> LeaseHolder? {
        let pid = Int64(ownPID)
        let host = ProcessInfo.processInfo.hostName
        return try locked { db in
            try db.transaction {
                if let row = try db.query(
                    "SELECT holder, pid, host, heartbeat FROM leases WHERE workflow = ?", [.text(workflow)]
                ).first {
                    let current = LeaseHolder(
                        holder: row[0].text ?? "", pid: row[1].int ?? 0, host: row[2].text ?? "",
                        heartbeat: row[3].real ?? 0)
                    if current.holder != holder && Self.isAlive(current, now: now, staleAfter: staleAfter) {
                        return current
                    }
                }
                try db.query(
                    "INSERT OR REPLACE INTO leases (workflow, holder, pid, host, heartbeat) VALUES (?, ?, ?, ?, ?)",
                    [.text(workflow), .text(holder), .int(pid), .text(host), .real(now)])
                return nil
            }
        }
    }

    /// The current lease of a workflow, if any (alive or not), for `cartflow status`.
    public func lease(workflow: String) throws -> LeaseHolder? {
        try locked { db in
            try db.query("SELECT holder, pid, host, heartbeat FROM leases WHERE workflow = ?", [.text(workflow)]).first
                .map {
                    LeaseHolder(
                        holder: $0[0].text ?? "", pid: $0[1].int ?? 0, host: $0[2].text ?? "",
                        heartbeat: $0[3].real ?? 0)
                }
        }
    }

    /// One run by its id.
    public func run(id: Int) throws -> WorkflowRunRecord? {
        try locked { db in
            try db.query("SELECT \(WorkflowRunRecord.columns) FROM workflow_runs WHERE id = ?", [.int(Int64(id))]).first
                .map(WorkflowRunRecord.init(row:))
        }
    }

    /// Renews the holder's lease. Throws `LeaseLostError` (naming the new holder, if any) when the lease is no
    /// longer this holder's: another process took it over while this one was paused or its heartbeat stalled.
    public func heartbeat(workflow: String, holder: String, now: Double) throws {
        try locked { db in
            try db.transaction {
                try Self.verify(LeaseClaim(workflow: workflow, holder: holder), db)
                try db.query(
                    "UPDATE leases SET heartbeat = ? WHERE workflow = ? AND holder = ?",
                    [.real(now), .text(workflow), .text(holder)])
            }
        }
    }

    /// Throws `LeaseLostError` when the lease is no longer the claim's holder's (a read: nothing is renewed).
    public func verifyLease(_ claim: LeaseClaim) throws {
        try locked { db in try Self.verify(claim, db) }
    }

    /// The lease check run inside a write's own transaction (`BEGIN IMMEDIATE`, so no other process can take the
    /// lease over between the check and the write). No claim: nothing to check.
    private static func verify(_ claim: LeaseClaim?, _ db: SQLiteDatabase) throws {
        guard let claim else { return }
        let current = try db.query(
            "SELECT holder, pid, host, heartbeat FROM leases WHERE workflow = ?", [.text(claim.workflow)]
        ).first.map(LeaseHolder.init(row:))
        guard current?.holder == claim.holder else {
            throw LeaseLostError(workflow: claim.workflow, current: current)
        }
    }

    /// The live holder of a workflow's lease, if any (a read: nothing is taken). Used by the scheduler to see a
    /// run of the workflow going on in another process.
    public func liveLeaseHolder(workflow: String, now: Double, staleAfter: Double) throws -> LeaseHolder? {
        try locked { db in
            guard
                let row = try db.query(
                    "SELECT holder, pid, host, heartbeat FROM leases WHERE workflow = ?", [.text(workflow)]
                ).first
            else { return nil }
            let current = LeaseHolder(
                holder: row[0].text ?? "", pid: row[1].int ?? 0, host: row[2].text ?? "", heartbeat: row[3].real ?? 0)
            return Self.isAlive(current, now: now, staleAfter: staleAfter) ? current : nil
        }
    }

    /// A holder is dead when its heartbeat is older than `staleAfter`, or when it is a process of this host that
    /// no longer exists.
    public static func isAlive(_ holder: LeaseHolder, now: Double, staleAfter: Double) -> Bool {
        !holder.processIsGone && now - holder.heartbeat <= staleAfter
    }

    public func releaseLease(workflow: String, holder: String) throws {
        try locked { db in
            try db.transaction {
                try db.query("DELETE FROM leases WHERE workflow = ? AND holder = ?", [.text(workflow), .text(holder)])
            }
        }
    }

    // MARK: Schedules

    /// The scheduler's memory of a workflow: the last slot decided and the slot queued behind a running run
    /// (UTC text such as `2024-05-04T08:00:00Z`); `nil` when the workflow was never scheduled.
    public func scheduleSlots(workflow: String) throws -> (lastSlot: String, queuedSlot: String?)? {
        try locked { db in try Self.readScheduleSlots(db, workflow: workflow) }.map { ($0.lastSlot, $0.queuedSlot) }
    }

    /// Claims slots for one scheduler among several sharing this database (daemons, `schedule --once`): reads the
    /// stored slots and hands them to `decide` inside one `BEGIN IMMEDIATE` transaction, and stores what it
    /// returns only as a compare-and-set on what was read — when the last slot moves forward (the stored one is
    /// earlier), or stays and the queued slot or the fingerprint changes; never backwards. No other process can
    /// write in between, so two schedulers never claim the same slot. `decide` returns nil to store nothing; it must not call this store.
    /// Returns whether the proposal was stored, and the record as it stands after the transaction.
    @discardableResult
    public func claimScheduleSlots(
        workflow: String, _ decide: (_ stored: ScheduleSlotRecord?) throws -> ScheduleSlotRecord?
    ) throws -> (claimed: Bool, record: ScheduleSlotRecord?) {
        try locked { db in
            try db.transaction {
                let stored = try Self.readScheduleSlots(db, workflow: workflow)
                guard let proposal = try decide(stored), proposal != stored else { return (false, stored) }
                // Slot texts are fixed-width UTC (`2024-05-04T08:00:00Z`): text order is time order. The same slot
                // with another queued slot or schedule fingerprint is an update of that decision.
                if let stored, proposal.lastSlot < stored.lastSlot { return (false, stored) }
                try db.query(
                    """
                    INSERT INTO schedule_slots (workflow, last_slot, queued_slot, schedule_fingerprint, updated_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(workflow) DO UPDATE SET last_slot = excluded.last_slot,
                        queued_slot = excluded.queued_slot, schedule_fingerprint = excluded.schedule_fingerprint,
                        updated_at = excluded.updated_at
                    """,
                    [
                        .text(workflow), .text(proposal.lastSlot), SQLValue(proposal.queuedSlot),
                        SQLValue(proposal.fingerprint), .text(Self.timestamp()),
                    ])
                return (true, proposal)
            }
        }
    }

    private static func readScheduleSlots(_ db: SQLiteDatabase, workflow: String) throws -> ScheduleSlotRecord? {
        try db.query(
            "SELECT last_slot, queued_slot, schedule_fingerprint FROM schedule_slots WHERE workflow = ?",
            [.text(workflow)]
        ).first.map { ScheduleSlotRecord(lastSlot: $0[0].text ?? "", queuedSlot: $0[1].text, fingerprint: $0[2].text) }
    }
}

public struct WorkflowRunRecord: Sendable, Equatable {
    static let columns = "id, workflow, source_path, status, started_at, finished_at, detail"
    public var id: Int
    public var workflow: String
    public var sourcePath: String
    public var status: String
    public var startedAt: String
    public var finishedAt: String?
    public var detail: String?

    init(row: [SQLValue]) {
        self.init(
            id: row[0].int ?? 0, workflow: row[1].text ?? "", sourcePath: row[2].text ?? "",
            status: row[3].text ?? "", startedAt: row[4].text ?? "", finishedAt: row[5].text, detail: row[6].text)
    }

    init(
        id: Int, workflow: String, sourcePath: String, status: String, startedAt: String, finishedAt: String?,
        detail: String?
    ) {
        self.id = id
        self.workflow = workflow
        self.sourcePath = sourcePath
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.detail = detail
    }
}

public struct CollectionRunRecord: Sendable, Equatable {
    static let columns =
        "id, collection, collection_id, phase, baseline_runner, runner_id, attribution, candidates, items, exacted, intent_at, triggered_at, detail, scraped_at"
    public var id: Int
    public var collection: String
    public var collectionID: Int
    public var phase: String
    public var baselineRunner: Int?
    public var runnerID: Int?
    public var attribution: String?
    public var candidates: [Int]
    public var items: Int?
    public var exacted: Int?
    public var intentAt: String?
    /// When this process sent the trigger (its own clock).
    public var triggeredAt: String?
    public var detail: String?
    /// When the runner scraped, as the run history reports it (`updated_at`, else `created_at`), recorded when
    /// its files are fetched; nil before, and in runs recorded by a cartflow that did not store it.
    public var scrapedAt: String?

    init(row: [SQLValue]) {
        id = row[0].int ?? 0
        collection = row[1].text ?? ""
        collectionID = row[2].int ?? 0
        phase = row[3].text ?? ""
        baselineRunner = row[4].int
        runnerID = row[5].int
        attribution = row[6].text
        candidates = (row[7].text ?? "").split(separator: ",").compactMap { Int($0) }
        items = row[8].int
        exacted = row[9].int
        intentAt = row[10].text
        triggeredAt = row[11].text
        detail = row[12].text
        scrapedAt = row[13].text
    }
}

public struct FileRecord: Sendable, Equatable {
    public var name: String
    public var link: String
    public var localPath: String
    public var size: Int
    public var sha256: String

    public init(name: String, link: String, localPath: String, size: Int, sha256: String) {
        self.name = name
        self.link = link
        self.localPath = localPath
        self.size = size
        self.sha256 = sha256
    }
}

public struct ExportRecord: Sendable, Equatable {
    public var step: Int
    public var path: String
    public var format: String
    public var records: Int
    public var bytes: Int
    /// Strings with invalid Unicode replaced by U+FFFD in what was written.
    public var repairedStrings: Int = 0
}

/// A workflow's row of `schedule_slots`: the last slot decided and the slot queued behind a running run, as UTC
/// text (`2024-05-04T08:00:00Z`).
public struct ScheduleSlotRecord: Sendable, Equatable {
    public var lastSlot: String
    public var queuedSlot: String?
    /// The `Schedule.slotFingerprint` of the schedule the slot was decided under; nil in rows from before it
    /// was recorded.
    public var fingerprint: String?

    public init(lastSlot: String, queuedSlot: String?, fingerprint: String? = nil) {
        self.lastSlot = lastSlot
        self.queuedSlot = queuedSlot
        self.fingerprint = fingerprint
    }
}

public struct LeaseHolder: Sendable, Equatable {
    public var holder: String
    public var pid: Int
    public var host: String
    public var heartbeat: Double

    init(holder: String, pid: Int, host: String, heartbeat: Double) {
        self.holder = holder
        self.pid = pid
        self.host = host
        self.heartbeat = heartbeat
    }

    init(row: [SQLValue]) {
        self.init(holder: row[0].text ?? "", pid: row[1].int ?? 0, host: row[2].text ?? "", heartbeat: row[3].real ?? 0)
    }

    /// Whether this holder's process is known to be gone (same host, no such process), however fresh its heartbeat.
    public var processIsGone: Bool {
        host == ProcessInfo.processInfo.hostName && kill(pid_t(pid), 0) != 0 && errno == ESRCH
    }
}

/// Whose lease a write is made under: a write given a claim first checks, inside its own transaction, that the
/// workflow's lease is still the claim's holder's.
public struct LeaseClaim: Sendable, Equatable {
    public var workflow: String
    public var holder: String

    public init(workflow: String, holder: String) {
        self.workflow = workflow
        self.holder = holder
    }
}

/// A write (or a heartbeat) found the workflow's lease held by another process, or by none: this process lost it
/// and must stop without recording or sending anything more.
public struct LeaseLostError: Error, Sendable, Equatable {
    public var workflow: String
    /// Who holds the lease now (nil: taken over and since released).
    public var current: LeaseHolder?
}
