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
        #expect(changed.stderr.contains("no longer matches its recorded size and SHA-256"))
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
