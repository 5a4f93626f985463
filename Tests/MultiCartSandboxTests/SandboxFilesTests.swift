import CartflowArchive
import Foundation
import MultiCartSandbox
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Triggers a run and reads the history until the runner's files are generated; returns the runner record.
func finishedRun(_ client: TestClient, collection: Int = 101) async throws -> [String: Any] {
    let trigger = try await client.post("/schedules/run/result/", ["collection_id": collection])
    #expect(trigger.code == 200)
    for _ in 0..<10 {
        if let runner = try await client.history(collection, limit: 1).first,
            runner["is_download_generated"] as? Bool == true
        {
            return runner
        }
    }
    Issue.record("the runner never finished")
    return [:]
}

@Suite struct SandboxFilesTests {
    @Test func pageFilesWithSpacesAndZipEqualPages() async throws {
        let (server, client) = try startSandbox()
        defer { server.stop() }
        let runner = try await finishedRun(client)
        let id = try #require(runner["id"] as? Int)
        #expect(runner["total_results"] as? Int == 250)
        let links = try #require(runner["download_links"] as? [String: Any])
        let pages = try #require(links["pages"] as? [String])
        #expect(pages.count == 3)
        let base = client.base.absoluteString
        #expect(pages[0] == "\(base)/results/101/\(id)/AU Laptops_\(id)_Results_Page_1.json")
        let zipLink = try #require(links["all_pages"] as? String)
        #expect(zipLink == "\(base)/results/101/\(id)/AU Laptops_\(id)_Results_All_Pages.zip")

        var pageBytes: [Data] = []
        var records = 0
        var succeeded = 0
        for link in pages {
            let answer = try await client.get(link: link)
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/octet-stream")
            let array = try #require(try JSONSerialization.jsonObject(with: answer.data) as? [[String: Any]])
            records += array.count
            succeeded += array.filter { $0["status"] as? String == "success" }.count
            pageBytes.append(answer.data)
        }
        #expect(records == 250)
        #expect(succeeded == runner["total_exacted_result"] as? Int)
        #expect(succeeded < 250)

        let zip = try await client.get(link: zipLink)
        #expect(zip.status == 200)
        let entries = try ZipReader.readAll(data: zip.data)
        #expect(entries.map(\.name) == (1...3).map { "AU Laptops_\(id)_Results_Page_\($0).json" })
        #expect(entries.map(\.data) == pageBytes)
        #expect(server.expectedFile(collection: 101, runner: id, page: nil) == zip.data)

        // Downloads need no key; the log says none came.
        let fileRecords = server.requestLog().filter { $0.endpoint == .file }
        #expect(fileRecords.count == 4)
        #expect(fileRecords.allSatisfy { !$0.keyPresent && $0.httpStatus == 200 && $0.runnerID == id })
        #expect(fileRecords.first?.path == "/api/v1/results/101/\(id)/AU Laptops_\(id)_Results_Page_1.json")
    }

    @Test func filesOfUnfinishedOrUnknownRunnersAre404() async throws {
        let (server, client) = try startSandbox(completion: .never)
        defer { server.stop() }
        _ = try await client.post("/schedules/run/result/", ["collection_id": 101])
        let runner = try #require(try await client.history(101, limit: 1).first)
        let id = try #require(runner["id"] as? Int)
        #expect(runner["is_download_generated"] as? Bool == false)
        let early = try await client.get(
            link: "\(client.base.absoluteString)/results/101/\(id)/AU Laptops_\(id)_Results_Page_1.json")
        #expect(early.status == 404)
        let wrongName = try await client.get(
            link: "\(client.base.absoluteString)/results/101/\(id - 1)/Other_\(id - 1)_Results_Page_1.json")
        #expect(wrongName.status == 404)
        let beyond = try await client.get(
            link: "\(client.base.absoluteString)/results/101/\(id - 1)/AU Laptops_\(id - 1)_Results_Page_4.json")
        #expect(beyond.status == 404)
        let existing = try await client.get(
            link: "\(client.base.absoluteString)/results/101/\(id - 1)/AU Laptops_\(id - 1)_Results_Page_3.json")
        #expect(existing.status == 200)
    }

    @Test func recordsAreDeterministicPerSeed() async throws {
        func firstPage(seed: UInt64) async throws -> Data {
            let (server, client) = try startSandbox(seed: seed, existingRunners: 1)
            defer { server.stop() }
            let runner = try #require(try await client.history(101, limit: 1).first)
            let links = try #require(runner["download_links"] as? [String: Any])
            let page = try #require((links["pages"] as? [String])?.first)
            return try await client.get(link: page).data
        }
        let a = try await firstPage(seed: 1)
        let b = try await firstPage(seed: 1)
        let c = try await firstPage(seed: 2)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func recordsCarryAwkwardValues() async throws {
        let (server, client) = try startSandbox(collections: [
            SandboxCollection(id: 7, name: "Odd \"Names\", Inc", items: 300)
        ])
        defer { server.stop() }
        let runner = try #require(try await client.history(7, limit: 1).first)
        let links = try #require(runner["download_links"] as? [String: Any])
        var text = ""
        var records: [[String: Any]] = []
        for link in try #require(links["pages"] as? [String]) {
            let data = try await client.get(link: link).data
            text += String(decoding: data, as: UTF8.self)
            records += try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        }
        let successes = records.filter { $0["status"] as? String == "success" }
        let titles = successes.compactMap { $0["title"] as? String }
        #expect(titles.contains { $0.hasPrefix("=") })
        #expect(titles.contains { $0.contains(",") })
        #expect(titles.contains { $0.contains("\"") })
        #expect(titles.contains { $0.contains("—") })
        #expect(successes.contains { ($0["description"] as? String)?.contains("\n") == true })
        #expect(text.contains("🔥") || text.contains("🇦🇺"))
        #expect(text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) })
        #expect(text.contains("\"amount\":0.30000000000000004"))
        #expect(text.contains("\"amount\":1e21"))
        #expect(text.range(of: #""amount":[0-9]+\.[0-9]0,"#, options: .regularExpression) != nil)
        #expect(successes.contains { $0["rating"] == nil })
        #expect(successes.contains { $0["seller"] == nil })
        #expect(successes.contains { $0["coupon"] != nil })
        let failed = records.filter { $0["status"] as? String == "failed" }
        #expect(!failed.isEmpty)
        #expect(failed.allSatisfy { $0["error"] is String && $0["asin"] is String && $0["custom_id"] is String })
    }

    @Test func logFileHasOneJSONLinePerRequestWithoutTheKey() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sandbox-log-\(UUID().uuidString).jsonl"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (server, client) = try startSandbox(logPath: path)
        _ = try await client.post("/users/credits/")
        _ = try await client.post("/schedules/run/result/", ["collection_id": 101])
        _ = try await client.post("/users/credits/", key: .some(nil))
        server.stop()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(!lines.joined().contains("test-key"))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let records = try lines.map { try decoder.decode(SandboxRequestRecord.self, from: Data($0.utf8)) }
        #expect(records.map(\.endpoint) == [.credits, .trigger, .credits])
        #expect(records.map(\.keyPresent) == [true, true, false])
        #expect(records.map(\.envelopeCode) == [200, 200, 401])
        #expect(records[1].runnerID != nil)
        // The file says what the in-memory log says (times are written to the second).
        func timeless(_ record: SandboxRequestRecord) -> SandboxRequestRecord {
            var copy = record
            copy.time = Date(timeIntervalSince1970: 0)
            return copy
        }
        #expect(records.map(timeless) == server.requestLog().map(timeless))
    }
}
