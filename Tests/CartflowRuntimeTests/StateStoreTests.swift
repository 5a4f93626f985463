import CartflowTestSupport
import Foundation
import Testing

@testable import CartflowRuntime

/// The state database's rules that resuming depends on.
@Suite struct StateStoreTests {
    func store() throws -> (StateStore, URL) {
        let directory = try CartflowProcess.temporaryDirectory("state")
        return (try StateStore(path: directory.appendingPathComponent("s/state.db").path), directory)
    }

    @Test(arguments: [
        ("running", true), ("timed_out", true), ("failed", true), ("partial", true), ("blocked", true),
        ("succeeded", false), ("skipped", false), ("abandoned", false),
    ])
    func onlyTheNewestUnfinishedRunIsResumed(status: String, resumed: Bool) throws {
        let (state, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("a", 1)])
        try state.finishRun(run.id, status: status)
        #expect((try state.unfinishedRun(workflow: "w")?.id == run.id) == resumed)
        #expect(try state.unfinishedRun(workflow: "other") == nil)
    }

    @Test func anOlderFailedRunIsNotResumedAfterANewerSuccess() throws {
        let (state, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("a", 1)])
        try state.finishRun(old.id, status: "failed")
        let new = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("a", 1)])
        try state.finishRun(new.id, status: "succeeded")
        #expect(try state.unfinishedRun(workflow: "w") == nil)
    }

    @Test func filesAreRecordedInOneBatchAndUpdatedByName() throws {
        let (state, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("a", 1)])
        let record = try #require(try state.collectionRuns(runID: run.id).first)
        let files = (1...3).map {
            FileRecord(name: "p\($0)", link: "l", localPath: "/x/p\($0)", size: $0, sha256: "h\($0)")
        }
        try state.recordFiles(collectionRunID: record.id, files: files)
        try state.recordFiles(
            collectionRunID: record.id,
            files: [FileRecord(name: "p2", link: "l", localPath: "/x/p2", size: 9, sha256: "n")])
        let stored = try state.files(collectionRunID: record.id)
        #expect(stored.map(\.name) == ["p1", "p2", "p3"])
        #expect(stored[1].size == 9 && stored[1].sha256 == "n")
        let mode = try FileManager.default.attributesOfItem(atPath: state.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// A database from before the runner's scrape time was stored is migrated in place: its rows read nil (an
    /// empty `scraped_at` column), and the time is recorded from then on.
    @Test func anOlderDatabaseGainsTheScrapeTimeColumn() throws {
        let directory = try CartflowProcess.temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.db").path
        do {
            let old = try SQLiteDatabase(path: path)
            for (index, migration) in StateStore.migrations.prefix(3).enumerated() {
                try old.execute(migration)
                try old.execute("PRAGMA user_version = \(index + 1)")
            }
            try old.execute(
                """
                INSERT INTO workflow_runs (id, workflow, source_path, status, started_at) VALUES (1, 'w', 'w.yaml', 'succeeded', 't');
                INSERT INTO collection_runs (run_id, collection, collection_id, phase, runner_id, updated_at)
                    VALUES (1, 'a', 1, 'fetched', 7, 't');
                """)
        }
        let state = try StateStore(path: path)
        let record = try #require(try state.collectionRuns(runID: 1).first)
        #expect(record.runnerID == 7)
        #expect(record.scrapedAt == nil)
        try state.recordPhase(record.id, phase: "fetched", scrapedAt: "2026-06-20T12:05:00Z")
        try state.recordPhase(record.id, phase: "fetched")
        #expect(try state.collectionRuns(runID: 1).first?.scrapedAt == "2026-06-20T12:05:00Z")
    }

    /// Repaired-string counts are kept with each export; an export recorded before the column existed reads 0.
    @Test func exportsKeepTheirRepairedStringCount() throws {
        let directory = try CartflowProcess.temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.db").path
        do {
            let old = try SQLiteDatabase(path: path)
            for (index, migration) in StateStore.migrations.dropLast().enumerated() {
                try old.execute(migration)
                try old.execute("PRAGMA user_version = \(index + 1)")
            }
            try old.execute(
                """
                INSERT INTO workflow_runs (id, workflow, source_path, status, started_at) VALUES (1, 'w', 'w.yaml', 'succeeded', 't');
                INSERT INTO exports (run_id, step, path, format, records, bytes, exported_at)
                    VALUES (1, 0, 'out/a.csv', 'csv', 3, 40, 't');
                """)
        }
        let state = try StateStore(path: path)
        #expect(try state.exports(runID: 1).map(\.repairedStrings) == [0])
        try state.recordExport(
            runID: 1, step: 1, path: "out/b.csv", format: "csv", records: 2, bytes: 9, repairedStrings: 4)
        try state.recordExport(
            runID: 1, step: 0, path: "out/a.csv", format: "csv", records: 3, bytes: 40, repairedStrings: 1)
        #expect(try state.exports(runID: 1).map(\.repairedStrings) == [1, 4])
    }

    /// A changed page file of a recorded run: the hint names what downloads it again without paying — resuming the
    /// run, while `cartflow run` would resume it — and once the run has finished says that nothing does, never
    /// pointing at `cartflow run`, which would then start a new, paid run.
    @Test func aChangedFileSaysWhatRecoversItAndWhetherItIsPaid() throws {
        let (state, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("a", 1), ("b", 2)])
        let records = try state.collectionRuns(runID: run.id)
        try state.recordIntent(records[0].id, baselineRunner: 6, items: 5)
        try state.recordRunner(records[0].id, runner: 7, attribution: "exact", candidates: [7])
        let page = directory.appendingPathComponent("p1.json").path
        try state.recordFiles(
            collectionRunID: records[0].id,
            files: [FileRecord(name: "p1.json", link: "l", localPath: page, size: 2, sha256: "00")])
        try state.recordPhase(records[0].id, phase: "fetched")
        func message() -> String {
            do {
                _ = try state.exportInputs(runID: run.id)
                return "no error"
            } catch {
                return String(describing: error)
            }
        }
        let changed = "\(page) of run #\(run.id) no longer matches its recorded size and SHA-256; "
        // The run is unfinished (b was never triggered): resuming it downloads a's file again, but also pays for b.
        #expect(
            message()
                == changed
                + "`cartflow run w.yaml` resumes run #\(run.id) and downloads a's files again from runner 7, without a new trigger (it also triggers b, which is paid for)"
        )
        try state.finishRun(run.id, status: "succeeded")
        #expect(
            message()
                == changed
                + "run #\(run.id) has finished, so no command downloads it again without paying (`cartflow run` would start a new run, and pay for its triggers): restore the file from a copy, or leave a out with --from"
        )
        #expect(!message().contains("fetches it again"))
    }

    @Test func leaseRules() throws {
        let (state, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let now = Date().timeIntervalSince1970
        #expect(try state.acquireLease(workflow: "w", holder: "a", now: now, staleAfter: 60) == nil)
        // Alive (this process) and fresh: refused, with the holder named.
        #expect(try state.acquireLease(workflow: "w", holder: "b", now: now + 1, staleAfter: 60)?.holder == "a")
        // The holder itself may take it again; other workflows are independent.
        #expect(try state.acquireLease(workflow: "w", holder: "a", now: now + 1, staleAfter: 60) == nil)
        #expect(try state.acquireLease(workflow: "v", holder: "b", now: now + 1, staleAfter: 60) == nil)
        // Stale heartbeat: taken over.
        #expect(try state.acquireLease(workflow: "w", holder: "b", now: now + 100, staleAfter: 60) == nil)
        #expect(try state.lease(workflow: "w")?.holder == "b")
        // The holder that lost it finds out at its next heartbeat, and no write made under its lease goes through.
        #expect(throws: LeaseLostError.self) { try state.heartbeat(workflow: "w", holder: "a", now: now + 100) }
        do {
            try state.heartbeat(workflow: "w", holder: "a", now: now + 100)
        } catch let lost as LeaseLostError {
            #expect(lost.current?.holder == "b")
        }
        let run = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("c", 1)])
        let record = try #require(try state.collectionRuns(runID: run.id).first)
        #expect(throws: LeaseLostError.self) {
            try state.recordIntent(
                record.id, baselineRunner: 1, items: 5, lease: LeaseClaim(workflow: "w", holder: "a"))
        }
        #expect(try state.collectionRuns(runID: run.id).first?.intentAt == nil)
        try state.recordIntent(record.id, baselineRunner: 1, items: 5, lease: LeaseClaim(workflow: "w", holder: "b"))
        #expect(try state.collectionRuns(runID: run.id).first?.intentAt != nil)
        // A heartbeat keeps it fresh.
        try state.heartbeat(workflow: "w", holder: "b", now: now + 200)
        #expect(try state.acquireLease(workflow: "w", holder: "c", now: now + 230, staleAfter: 60)?.holder == "b")
        // Its process gone: taken over at once, however fresh its heartbeat.
        try state.releaseLease(workflow: "w", holder: "b")
        #expect(try state.acquireLease(workflow: "w", holder: "d", now: now, staleAfter: 60, pid: 2_000_000_000) == nil)
        #expect(try state.acquireLease(workflow: "w", holder: "e", now: now, staleAfter: 60) == nil)
        try state.releaseLease(workflow: "w", holder: "e")
        #expect(try state.lease(workflow: "w") == nil)
    }

    /// A resumed run's rows are matched by name and collection id: swapped ids carry each row over to the name
    /// that now holds its id; a changed id retires the old row (kept, under another name) and adds a pending one.
    @Test func ensureCollectionsMatchesByNameAndCollectionID() throws {
        let (state, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try state.createRun(
            workflow: "w", sourcePath: "w.yaml", collections: [("laptops", 101), ("phones", 102), ("tvs", 103)])
        let before = try state.collectionRuns(runID: run.id)
        let rowOf = { (id: Int) in before.first { $0.collectionID == id }!.id }
        let changes = try state.ensureCollections(
            runID: run.id, collections: [("laptops", 102), ("phones", 101), ("tvs", 104)])
        let after = try state.collectionRuns(runID: run.id)
        #expect(after.first { $0.collection == "laptops" }?.id == rowOf(102))
        #expect(after.first { $0.collection == "phones" }?.id == rowOf(101))
        let tvs = try #require(after.first { $0.collection == "tvs" })
        #expect(tvs.collectionID == 104)
        #expect(tvs.phase == "pending")
        let retired = try #require(after.first { $0.id == rowOf(103) })
        #expect(retired.collection == StateStore.retiredName("tvs", collectionID: 103, row: rowOf(103)))
        #expect(changes.count == 3)
        #expect(changes.contains(.renamed(from: "phones", to: "laptops", collectionID: 102)))
        #expect(changes.contains(.replaced(name: "tvs", oldID: 103, newID: 104, storedAs: retired.collection)))
        // Matched rows are left alone the next time.
        #expect(
            try state.ensureCollections(runID: run.id, collections: [("laptops", 102), ("phones", 101), ("tvs", 104)])
                .isEmpty)
    }
}
