import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// `cartflow status`, and C28 across the commands of the runner: the key shows nowhere.
@Suite(.serialized) struct StatusEndToEndTests {
    @Test func statusShowsRunsCollectionsFilesAndExports() async throws {
        let h = try CrashHarness()
        #expect(try await h.run().exitCode == 0)
        let runner = try #require(h.triggers.first?.runnerID)
        let text = try await h.run(["status", "crash.yaml"])
        #expect(text.exitCode == 0, "stderr: \(text.stderr)")
        #expect(text.stdout.contains("crash  run #1  succeeded"))
        #expect(text.stdout.contains("laptops (101): fetched, runner \(runner), 250 items"))
        #expect(text.stdout.contains("3 files"))
        #expect(text.stdout.contains("export out/laptops.csv (csv, "))

        let json = try await h.run(["status", "--json"])
        #expect(json.exitCode == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        #expect(runs[0]["status"] as? String == "succeeded")
        let collection = try #require((runs[0]["collections"] as? [[String: Any]])?.first)
        #expect(collection["runner"] as? Int == runner)
        #expect(collection["attribution"] as? String == "exact")
        #expect(collection["files"] as? Int == 3)
        #expect(
            (collection["file_list"] as? [[String: Any]])?.allSatisfy { ($0["sha256"] as? String)?.count == 64 } == true
        )
        #expect((runs[0]["exports"] as? [[String: Any]])?.first?["path"] as? String == "out/laptops.csv")

        let one = try await h.run(["status", "--run", "1"])
        #expect(one.stdout.contains("sha256 "))
        let missing = try await h.run(["status", "--run", "9"])
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("no run #9"))
    }

    /// An export that repaired invalid Unicode says so in `status`, as the run's summary did.
    @Test func statusCountsRepairedStrings() async throws {
        let directory = try CartflowProcess.temporaryDirectory("status")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("state.db").path
        do {
            let state = try StateStore(path: database)
            let run = try state.createRun(workflow: "w", sourcePath: "w.yaml", collections: [("a", 1)])
            try state.recordExport(
                runID: run.id, step: 0, path: "out/a.csv", format: "csv", records: 3, bytes: 40, repairedStrings: 2)
            try state.recordExport(
                runID: run.id, step: 1, path: "out/a.ndjson", format: "ndjson", records: 3, bytes: 50)
            try state.finishRun(run.id, status: "succeeded")
        }
        let text = try await CartflowProcess.run(["status", "--state", database], in: directory)
        #expect(text.exitCode == 0, "stderr: \(text.stderr)")
        #expect(
            text.stdout.contains(
                "  export out/a.csv (csv, 3 records, 40 bytes, 2 strings with invalid Unicode repaired)"))
        #expect(text.stdout.contains("  export out/a.ndjson (ndjson, 3 records, 50 bytes)\n"))
        let json = try await CartflowProcess.run(["status", "--json", "--state", database], in: directory)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let exports = try #require((object["runs"] as? [[String: Any]])?.first?["exports"] as? [[String: Any]])
        #expect(exports.map { $0["repaired_strings"] as? Int } == [2, 0])
    }

    /// `cartflow export --run N` re-exports a recorded run from its verified page files, and refuses a changed one.
    @Test func exportOfARecordedRun() async throws {
        let h = try CrashHarness()
        #expect(try await h.run().exitCode == 0)
        let runner = try #require(h.triggers.first?.runnerID)
        let export = try await h.run([
            "export", "--run", "1", "--format", "csv", "--out", "again.csv", "--provenance", "runner",
        ])
        #expect(export.exitCode == 0, "stderr: \(export.stderr)")
        let rows = try CSVReader.parse(
            try String(contentsOf: h.directory.appendingPathComponent("again.csv"), encoding: .utf8))
        let original = try CSVReader.parse(
            try String(contentsOf: h.directory.appendingPathComponent("out/laptops.csv"), encoding: .utf8))
        #expect(rows.count == original.count)
        #expect(rows.dropFirst().allSatisfy { $0.first == String(runner) })

        let unknown = try await h.run(["export", "--run", "1", "--from", "phones", "--format", "csv", "--out", "x.csv"])
        #expect(unknown.exitCode == 1)
        #expect(unknown.stderr.contains("run #1 has no collection phones (it has laptops)"))

        let record = try #require(try h.collection())
        let file = try #require(try h.state().files(collectionRunID: record.id).first)
        try Data("[]".utf8).write(to: URL(fileURLWithPath: file.localPath))
        let changed = try await h.run(["export", "--run", "1", "--format", "csv", "--out", "y.csv"])
        #expect(changed.exitCode == 1)
        #expect(
            changed.stderr.contains(
                "no longer matches its recorded size and SHA-256; run #1 has finished, so no command downloads it again without paying (`cartflow run` would start a new run, and pay for its triggers): restore the file from a copy\n"
            ), "stderr: \(changed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: h.directory.appendingPathComponent("y.csv").path))
    }

    @Test func statusWithoutADatabaseSaysSoAndCreatesNothing() async throws {
        let directory = try CartflowProcess.temporaryDirectory("status")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await CartflowProcess.run(["status"], in: directory)
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("nothing has run here yet"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(".cartflow").path))
        // The JSON has the same keys as with a database, so a script need not special-case a first run.
        let json = try await CartflowProcess.run(["status", "--json"], in: directory)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["runs"] as? [Any])?.isEmpty == true)
        #expect((object["leases"] as? [Any])?.isEmpty == true)
    }

    /// A lease whose process is gone is shown as stale, not as held, and a run recorded as running with nobody
    /// behind it as interrupted, in the text and in the JSON (`leases[].alive`, `runs[].interrupted`). Before,
    /// status said "held by process N … last heartbeat 1 s ago" and "running" for a dead process.
    @Test func aLeaseOfAProcessThatIsGoneIsShownAsStale() async throws {
        let directory = try CartflowProcess.temporaryDirectory("status")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.db").path
        let state = try StateStore(path: path)
        _ = try state.createRun(workflow: "crash", sourcePath: "crash.yaml", collections: [("laptops", 101)])
        let gone = 2_000_000_000
        #expect(
            try state.acquireLease(
                workflow: "crash", holder: "ghost", now: Date().timeIntervalSince1970, staleAfter: 60, pid: gone) == nil
        )
        let host = ProcessInfo.processInfo.hostName

        let text = try await CartflowProcess.run(["status", "--state", path], in: directory)
        #expect(text.exitCode == 0, "stderr: \(text.stderr)")
        #expect(
            text.stdout.contains(
                "crash: lease of process \(gone) on \(host) is stale (process gone); `cartflow run` resumes it"))
        #expect(!text.stdout.contains("held by"))
        #expect(
            text.stdout.contains(
                "crash  run #1  interrupted (recorded as running, no live process; `cartflow run` resumes it)"))
        let json = try await CartflowProcess.run(["status", "--json", "--state", path], in: directory)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let lease = try #require((object["leases"] as? [[String: Any]])?.first)
        #expect(lease["pid"] as? Int == gone)
        #expect(lease["alive"] as? Bool == false)
        #expect((object["runs"] as? [[String: Any]])?.first?["interrupted"] as? Bool == true)

        // A live holder (this test's process, a fresh heartbeat) is shown as holding it, the run as running.
        try state.releaseLease(workflow: "crash", holder: "ghost")
        #expect(
            try state.acquireLease(
                workflow: "crash", holder: "alive", now: Date().timeIntervalSince1970, staleAfter: 60)
                == nil)
        let live = try await CartflowProcess.run(["status", "--state", path], in: directory)
        #expect(live.stdout.contains("crash: held by process \(getpid()) on \(host) (last heartbeat "))
        #expect(live.stdout.contains("crash  run #1  running"))
        let liveJSON = try await CartflowProcess.run(["status", "--json", "--state", path], in: directory)
        let liveObject = try #require(
            try JSONSerialization.jsonObject(with: Data(liveJSON.stdout.utf8)) as? [String: Any])
        #expect((liveObject["leases"] as? [[String: Any]])?.first?["alive"] as? Bool == true)
        #expect((liveObject["runs"] as? [[String: Any]])?.first?["interrupted"] as? Bool == false)
    }

    /// C28: run (successful, failing, resumed) and status with --verbose; the key and its percent-encoded form
    /// appear in no output, no file, not the state database nor the sandbox log.
    @Test func theKeyNeverShowsInRunOrStatus() async throws {
        var faults = SandboxFaults()
        faults.httpError = FaultRule(first: 1, endpoints: [.trigger])
        faults.truncate = FaultRule(first: 5)
        faults.rivalRunner = FaultRule(first: 1)
        let h = try CrashHarness(faults: faults)
        var outputs: [String] = []
        for arguments in [
            ["run", "crash.yaml", "--verbose"], ["status", "crash.yaml", "--verbose"],
            ["status", "--json", "--verbose"],
            ["status", "--run", "1", "--verbose"], ["run", "crash.yaml", "--verbose", "--new"],
            ["run", "crash.yaml", "--verbose", "--state", "other/state.db"],
            ["export", "--run", "1", "--format", "csv", "--out", "again.csv", "--verbose"],
        ] {
            let result = try await h.run(arguments)
            outputs += [result.stdout, result.stderr]
        }
        // A refused key echoes nothing of it either.
        let wrong = try await CartflowProcess.run(
            ["run", "crash.yaml", "--verbose"], in: h.directory,
            environment: ["MULTICART_API_KEY": h.key + "x", "MULTICART_BASE_URL": h.server.baseURL!.absoluteString])
        #expect(wrong.exitCode == 1)
        outputs += [wrong.stdout, wrong.stderr]
        #expect(outputs.joined().contains("laptops"))
        let encoded = h.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(encoded != h.key)
        var haystacks = outputs
        let enumerator = FileManager.default.enumerator(atPath: h.directory.path)
        var files = 0
        while let relative = enumerator?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: h.directory.appendingPathComponent(relative).path) {
                haystacks.append(String(decoding: data, as: UTF8.self))
                files += 1
            }
        }
        #expect(files > 8)  // state.db and its WAL, downloads, exports, the sandbox log
        for text in haystacks {
            #expect(!text.contains(h.key))
            #expect(!text.contains(encoded))
            #expect(!text.contains("S3cr3t"))
        }
    }
}
