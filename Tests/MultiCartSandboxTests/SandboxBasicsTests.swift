import CartflowArchive
import Foundation
import MultiCartSandbox
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct SandboxBasicsTests {
    @Test func baseURLIsLoopbackAPIv1() throws {
        let (server, _) = try startSandbox()
        defer { server.stop() }
        let base = try #require(server.baseURL)
        #expect(base.host == "127.0.0.1")
        #expect(base.path == "/api/v1")
        #expect((base.port ?? 0) > 0)
    }

    @Test func creditsEnvelopeWithAndWithoutTrailingSlash() async throws {
        let (server, client) = try startSandbox(credits: 5_000)
        defer { server.stop() }
        for path in ["/users/credits/", "/users/credits"] {
            let answer = try await client.post(path)
            #expect(answer.status == 200)
            #expect(answer.code == 200)
            #expect(answer.envelopeStatus == 1)
            let data = try #require(answer.payload as? [String: Any])
            #expect(data["available_credits"] as? Int == 5_000)
            #expect(data["used_credits"] as? Int == 0)
            #expect(data["frozen_credits"] as? Int == 0)
        }
    }

    @Test(arguments: [nil, "wrong-key"] as [String?])
    func badOrMissingKeyIsEnvelope401(key: String?) async throws {
        let (server, client) = try startSandbox()
        defer { server.stop() }
        let answer = try await client.post("/users/credits/", key: .some(key))
        #expect(answer.status == 200)
        #expect(answer.code == 401)
        #expect(answer.envelopeStatus == 0)
        let record = try #require(server.requestLog().last)
        #expect(record.keyPresent == (key != nil))
        #expect(record.envelopeCode == 401)
        #expect(record.endpoint == .credits)
    }

    @Test func unknownPathAndWrongMethod() async throws {
        let (server, client) = try startSandbox()
        defer { server.stop() }
        let unknown = try await client.post("/nope/")
        #expect(unknown.status == 404)
        #expect(unknown.code == 404)
        var request = URLRequest(url: URL(string: client.base.absoluteString + "/users/credits/")!)
        request.setValue("test-key", forHTTPHeaderField: "x-api-key")
        let get = try await client.send(request)
        #expect(get.status == 405)
        #expect(get.code == 405)
    }

    @Test func creditGateRefusesWithoutQueueingOrDeducting() async throws {
        let (server, client) = try startSandbox(credits: 262)
        defer { server.stop() }
        // Spend 250 of 262 first, so 12 remain.
        let first = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(first.code == 200)
        _ = try await client.history(101)  // completes it (afterHistoryReads(1) after one listing)
        _ = try await client.history(101)
        let before = server.snapshot()
        #expect(before.spendableCredits == 12)
        let refused = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(refused.status == 200)
        #expect(refused.code == 402)
        #expect(refused.envelopeStatus == 0)
        #expect(refused.payload as? String == "Not enough credits — you need 250 but have 12 remaining.")
        let after = server.snapshot()
        #expect(after == before)
    }

    @Test func triggerQueuesFreezesAndCompletesAfterHistoryReads() async throws {
        let (server, client) = try startSandbox(credits: 1_000, completion: .afterHistoryReads(2))
        defer { server.stop() }
        let newestBefore = try #require(try await client.history(101, limit: 1).first?["id"] as? Int)
        let answer = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(answer.code == 200)
        #expect(answer.envelopeStatus == 1)
        #expect(answer.payload as? String == "Scraping Processing Queued!")
        #expect(server.snapshot().frozenCredits == 250)

        let again = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(again.code == 409)

        let read1 = try await client.history(101, limit: 1)
        let runner = try #require(read1.first)
        let runnerID = try #require(runner["id"] as? Int)
        #expect(runnerID > newestBefore)
        #expect(runner["is_download_generated"] as? Bool == false)
        #expect(runner["download_links"] is NSNull)
        let read2 = try await client.history(101, limit: 1)
        #expect(read2.first?["is_download_generated"] as? Bool == false)
        let read3 = try await client.history(101, limit: 1)
        #expect(read3.first?["is_download_generated"] as? Bool == true)
        let snapshot = server.snapshot()
        #expect(snapshot.frozenCredits == 0)
        #expect(snapshot.usedCredits == 250)
        #expect(snapshot.runners[101]?.first?.historyReads == 3)
    }

    @Test func historyIsNewestFirstWithSkipAndLimit() async throws {
        let (server, client) = try startSandbox(
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 10),
                SandboxCollection(id: 102, name: "Phones", items: 5),
            ], existingRunners: 3)
        defer { server.stop() }
        let all = try await client.history(101, limit: 10).compactMap { $0["id"] as? Int }
        #expect(all.count == 3)
        #expect(all == all.sorted(by: >))
        let skipped = try await client.history(101, skip: 1, limit: 1).compactMap { $0["id"] as? Int }
        #expect(skipped == [all[1]])
        // Ids increase across collections: the other collection's runners interleave.
        let other = try await client.history(102, limit: 10).compactMap { $0["id"] as? Int }
        #expect(Set(other).isDisjoint(with: all))
        let unknown = try await client.post("/schedules/collections/results/download/", ["collection_id": 999])
        #expect(unknown.code == 404)
        let unknownTrigger = try await client.post("/schedules/run/result/", ["collection_id": 999])
        #expect(unknownTrigger.code == 404)
        let missing = try await client.post("/schedules/run/result/", [:])
        #expect(missing.code == 400)
    }

    @Test func asinListCountsItems() async throws {
        let (server, client) = try startSandbox()
        defer { server.stop() }
        let answer = try await client.post(
            "/schedules/amazon/asin/list/", ["collection_id": 101, "skip": 0, "limit": 3, "with_count": true])
        let data = try #require(answer.payload as? [String: Any])
        #expect(data["total_count"] as? Int == 250)
        let list = try #require(data["asin_list"] as? [[String: Any]])
        #expect(list.count == 3)
        #expect((list.first?["asin"] as? String)?.hasPrefix("B0") == true)
    }

    @Test func startRunnerBySomeoneElse() async throws {
        let (server, client) = try startSandbox(credits: 300)
        defer { server.stop() }
        let id = try #require(server.startRunner(collection: 101))
        #expect(server.snapshot().runners[101]?.first?.bySomeoneElse == true)
        #expect(server.startRunner(collection: 101) == nil)  // 50 credits left, 250 needed
        #expect(server.startRunner(collection: 999) == nil)
        let newest = try await client.history(101, limit: 1).first?["id"] as? Int
        #expect(newest == id)
    }
}
