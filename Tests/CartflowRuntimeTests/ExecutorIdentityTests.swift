import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// A resumed run matches its collections by name and collection id, and a finished runner with nothing to
/// download where results are expected is never recorded as fetched (docs/running.md).
@Suite struct ExecutorIdentityTests {
    func harness(neverFinish: Bool = false) throws -> ExecutorHarness {
        var faults = SandboxFaults()
        if neverFinish { faults.neverFinish = FaultRule(first: 1) }
        return try ExecutorHarness(
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "AU Phones", items: 900),
            ], faults: faults)
    }

    // MARK: Collection identity on a resume

    /// The audit's 1a: `laptops` changed from id 101 to 102 while 101's trigger was unsettled (killed during the
    /// trigger). Before, 102's history was read against 101's baseline and 102's old runner adopted, with phones
    /// data exported as laptops. Now 101's record is treated as removed (named as left behind, never adopted
    /// under 102) and 102 starts afresh: one trigger, of 102, and its own new runner.
    @Test func aChangedCollectionIDRetiresTheOldRowAndNeverAdoptsUnderTheNewID() async throws {
        let h = try harness()
        let run = try h.state.createRun(workflow: "wf", sourcePath: "wf.yaml", collections: [("laptops", 101)])
        let record = try #require(try h.state.collectionRuns(runID: run.id).first)
        let baseline = try #require(h.server.snapshot().runners[101]?.first?.id)
        try h.state.recordIntent(record.id, baselineRunner: baseline, items: 250)
        let ours = try #require(h.server.startRunner(collection: 101))
        let before102 = Set(h.server.snapshot().runners[102]?.map(\.id) ?? [])

        let report = try await h.executor(h.workflow(collections: [CollectionSpec(name: "laptops", id: 102)])).run()
        #expect(report.resumed)
        #expect(report.runID == run.id)
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
        let laptops = try #require(report.collections.first { $0.name == "laptops" })
        #expect(laptops.collectionID == 102)
        #expect(laptops.attribution == "exact")
        let runner = try #require(laptops.runnerID)
        #expect(runner != ours)
        #expect(!before102.contains(runner))
        #expect(h.server.snapshot().runners[102]?.contains { $0.id == runner } == true)
        #expect(report.collections.count == 1)
        #expect(
            report.messages.contains {
                $0.hasPrefix("laptops (collection 101, now 102 in the workflow)") && $0.contains("left behind")
            })
        // 101's row is kept, under another name, with its intent: never reconciled against 102's history.
        let rows = try h.state.collectionRuns(runID: run.id)
        let retired = try #require(rows.first { $0.collectionID == 101 })
        #expect(retired.collection != "laptops")
        #expect(retired.runnerID == nil)
        #expect(retired.intentAt != nil)
    }

    /// The same with 101's runner known (timed out): it is named as paid for and left behind.
    @Test func aChangedCollectionIDNamesThePaidRunnerLeftBehind() async throws {
        let h = try harness(neverFinish: true)
        let first = try await h.executor(h.workflow(collections: [CollectionSpec(name: "laptops", id: 101)])).run()
        #expect(first.outcome == .timedOut)
        let paid = try #require(first.collections.first?.runnerID)
        let second = try await h.executor(h.workflow(collections: [CollectionSpec(name: "laptops", id: 102)])).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(h.triggers == 2)
        #expect(second.collections.first?.runnerID != paid)
        #expect(second.collections.first?.collectionID == 102)
        #expect(
            second.messages.contains {
                $0.hasPrefix("laptops (collection 101, now 102 in the workflow)")
                    && $0.contains("its runner \(paid) (paid for) was not fetched and is left behind")
            })
    }

    /// The audit's 1b: the key renamed `laptops` → `notebooks` (same id 101) while its runner had timed out.
    /// Before, the resumed run triggered 101 again (two paid triggers). Now the row is carried over: the same
    /// runner is polled, fetched and exported under the new name, with exactly one trigger.
    @Test func aRenamedKeyCarriesItsPaidRunnerOverWithoutATrigger() async throws {
        let h = try harness(neverFinish: true)
        let first = try await h.executor(h.workflow(collections: [CollectionSpec(name: "laptops", id: 101)])).run()
        #expect(first.outcome == .timedOut)
        let paid = try #require(first.collections.first?.runnerID)
        #expect(h.server.finishRunner(paid))

        let second = try await h.executor(h.workflow(collections: [CollectionSpec(name: "notebooks", id: 101)])).run()
        #expect(second.resumed)
        #expect(second.runID == first.runID)
        #expect(second.outcome == .succeeded)
        #expect(h.triggers == 1)
        let notebooks = try #require(second.collections.first)
        #expect(notebooks.name == "notebooks")
        #expect(notebooks.runnerID == paid)
        #expect(notebooks.phase == "fetched")
        #expect(notebooks.files == 3)
        #expect(second.exports.first?.records == notebooks.exacted)
        #expect(!second.messages.contains { $0.contains("left behind") })
        #expect(h.lines.all.contains { $0.hasPrefix("notebooks: collection 101 was 'laptops' in this run") })
        #expect(try h.state.collectionRuns(runID: first.runID).map(\.collection) == ["notebooks"])
    }

    // MARK: Nothing to download

    /// Rewrites every history answer: no page links, no ZIP link unless `keepZip`, and no `total_results` when
    /// `dropTotal` (the audit's runner: results scraped, the collection's total not reported); with `emptyZip`,
    /// every ZIP download is an archive with no entries.
    static func withoutPages(keepZip: Bool, dropTotal: Bool = false, emptyZip: Bool = false) -> ClosureTransport {
        let real = URLSessionTransport()
        return ClosureTransport { request in
            var response = try await real.send(request)
            if emptyZip && request.url.path.hasSuffix(".zip") && response.status == 200 {
                // Only the end-of-central-directory record: a valid archive of zero entries.
                response.body = Data([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18))
                response.headers["content-length"] = "22"
                return response
            }
            guard request.url.path.contains(MultiCartClient.historyPath.trimmingCharacters(in: ["/"])) else {
                return response
            }
            var text = String(decoding: response.body, as: UTF8.self)
            text = text.replacingOccurrences(
                of: #""pages":\[[^\]]*\]"#, with: #""pages":[]"#, options: .regularExpression)
            if dropTotal {
                text = text.replacingOccurrences(
                    of: #""total_results":[0-9]+"#, with: #""total_results":null"#, options: .regularExpression)
            }
            if !keepZip {
                text = text.replacingOccurrences(
                    of: #""all_pages":"[^"]*""#, with: #""all_pages":null"#, options: .regularExpression)
            }
            response.body = Data(text.utf8)
            return response
        }
    }

    /// The audit's 2: a finished runner listing no page files (`pages: []`) with results scraped. Before, it was
    /// "fetched" with 0 files and the run reported a success, so the next run started afresh (and paid again).
    /// Now the collection fails with its runner kept, and the next run fetches it: one trigger in all.
    /// (Before, with `total_results` missing, it was fetched with 0 files and reported as a success.)
    @Test(arguments: [false, true])
    func aFinishedRunnerWithNoPagesAndNoZipFailsResumably(dropTotal: Bool) async throws {
        let h = try ExecutorHarness()
        let first = try await h.executor(
            h.workflow(), transport: Self.withoutPages(keepZip: false, dropTotal: dropTotal)
        ).run()
        #expect(first.outcome == .failed)
        let result = try #require(first.collections.first)
        let runner = try #require(result.runnerID)
        #expect(result.phase == "failed")
        #expect(result.files == 0)
        #expect(result.detail?.contains("lists no page files and no ZIP") == true)
        #expect(first.exports.isEmpty)
        #expect(try h.state.unfinishedRun(workflow: "wf")?.id == first.runID)

        let second = try await h.executor(h.workflow()).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(second.collections.first?.runnerID == runner)
        #expect(second.collections.first?.files == 3)
        #expect(h.triggers == 1)
    }

    /// With its ZIP link still there, `fetch.from: pages` falls back to the ZIP, and says so.
    @Test func aFinishedRunnerWithNoPagesIsFetchedFromItsZip() async throws {
        let h = try ExecutorHarness()
        let report = try await h.executor(h.workflow(), transport: Self.withoutPages(keepZip: true)).run()
        #expect(report.outcome == .succeeded)
        #expect(h.triggers == 1)
        let result = try #require(report.collections.first)
        #expect(result.files == 3)
        #expect(report.exports.first?.records == result.exacted)
        #expect(h.lines.all.contains { $0.contains("lists no page files") && $0.contains("fetching its ZIP instead") })
    }

    /// A ZIP with no entries where results are expected is the same failure: runner kept, fetched next run.
    @Test func anEmptyZipWhereResultsAreExpectedFailsResumably() async throws {
        let h = try ExecutorHarness()
        let zip = h.workflow(fetch: FetchConfig(from: .zip))
        let first = try await h.executor(zip, transport: Self.withoutPages(keepZip: true, emptyZip: true)).run()
        #expect(first.outcome == .failed)
        let result = try #require(first.collections.first)
        let runner = try #require(result.runnerID)
        #expect(result.phase == "failed")
        #expect(result.files == 0)
        // Refused as unreadable by the ZIP reader, or as holding no page files: never recorded as fetched.
        #expect(
            result.detail?.contains("ZIP could not be read") == true || result.detail?.contains("no page files") == true
        )
        #expect(first.exports.isEmpty)

        let second = try await h.executor(zip).run()
        #expect(second.resumed)
        #expect(second.outcome == .succeeded)
        #expect(second.collections.first?.runnerID == runner)
        #expect(second.collections.first?.files == 3)
        #expect(h.triggers == 1)
    }
}
