import Foundation
import MultiCartSandbox
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct SandboxFaultTests {
    func faults(_ edit: (inout SandboxFaults) throws -> Void) rethrows -> SandboxFaults {
        var faults = SandboxFaults.none
        try edit(&faults)
        return faults
    }

    @Test func httpErrorIsARealStatusWithAnHTMLBody() async throws {
        let (server, client) = try startSandbox(
            faults: faults { $0.httpError = FaultRule(first: 1, endpoints: [.credits]) })
        defer { server.stop() }
        let first = try await client.post("/users/credits/")
        #expect(first.status == 503)
        #expect(first.text.contains("<html>"))
        let second = try await client.post("/users/credits/")
        #expect(second.status == 200)
        #expect(second.code == 200)
        #expect(server.requestLog().map(\.fault) == ["http-error", nil])
    }

    /// Compressed answers only for clients that accept gzip; the body decodes to the same envelope.
    @Test func gzipAnswersOnlyWhenTheClientAcceptsIt() async throws {
        let (server, client) = try startSandbox(faults: faults { $0.gzip = .always })
        defer { server.stop() }
        let compressed = try await client.post("/users/credits/")
        #expect(compressed.headers["content-encoding"] == "gzip")
        #expect(compressed.code == 200)
        var request = URLRequest(url: URL(string: client.base.absoluteString + "/users/credits/")!)
        request.httpMethod = "POST"
        request.setValue("test-key", forHTTPHeaderField: "x-api-key")
        request.setValue("gzip;q=0, identity", forHTTPHeaderField: "Accept-Encoding")
        let plain = try await client.send(request)
        #expect(plain.headers["content-encoding"] == nil)
        #expect(plain.headers["content-length"] == String(plain.data.count))
        #expect(plain.code == 200)
        #expect(server.requestLog().map(\.fault) == ["gzip", nil])
    }

    @Test func httpErrorOnTriggerLosesTheAnswerAfterQueueing() async throws {
        let (server, client) = try startSandbox(
            faults: faults { $0.httpError = FaultRule(first: 1, endpoints: [.trigger]) })
        defer { server.stop() }
        let before = server.snapshot().runners[101]?.count
        let answer = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(answer.status == 503)
        let snapshot = server.snapshot()
        #expect(snapshot.runners[101]?.count == (before ?? 0) + 1)
        #expect(snapshot.frozenCredits == 250)
        #expect(server.requestLog().last?.runnerID == snapshot.runners[101]?.first?.id)
    }

    @Test func httpErrorBeforeQueueQueuesNothing() async throws {
        let (server, client) = try startSandbox(
            faults: faults {
                $0.httpError = FaultRule(first: 1, endpoints: [.trigger])
                $0.httpErrorBeforeQueue = true
            })
        defer { server.stop() }
        let before = server.snapshot()
        let answer = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(answer.status == 503)
        #expect(server.snapshot() == before)
    }

    @Test func rateLimitSendsRetryAfter() async throws {
        let (server, client) = try startSandbox(
            faults: faults {
                $0.rateLimit = FaultRule(first: 2)
                $0.retryAfterSeconds = 3
            })
        defer { server.stop() }
        let first = try await client.post("/schedules/collections/results/download/", ["collection_id": 101])
        #expect(first.status == 429)
        #expect(first.headers["retry-after"] == "3")
        let second = try await client.post("/users/credits/")
        #expect(second.status == 429)
        let third = try await client.post("/users/credits/")
        #expect(third.status == 200)
    }

    @Test func envelopeErrorInsideHTTP200() async throws {
        let (server, client) = try startSandbox(faults: faults { $0.envelopeError = .always })
        defer { server.stop() }
        let before = server.snapshot()
        let answer = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(answer.status == 200)
        #expect(answer.code == 500)
        #expect(answer.envelopeStatus == 0)
        #expect(answer.payload is String)
        #expect(server.snapshot() == before)
        #expect(server.requestLog().last?.envelopeCode == 500)
    }

    @Test func latencyDelaysTheChosenEndpoints() async throws {
        let (server, client) = try startSandbox(
            faults: faults {
                $0.latency = .milliseconds(40)
                $0.latencyEndpoints = [.credits]
            })
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await client.post("/users/credits/")
        #expect(clock.now - start >= .milliseconds(40))
        _ = try await client.history(101)
        #expect(server.requestLog().map(\.fault) == ["latency", nil])
    }

    @Test func truncatedDownloadIsShorterThanItsContentLength() async throws {
        let (server, client) = try startSandbox(faults: faults { $0.truncate = FaultRule(first: 1) })
        defer { server.stop() }
        let runner = try #require(try await client.history(101, limit: 1).first)
        let id = try #require(runner["id"] as? Int)
        let link = try #require(((runner["download_links"] as? [String: Any])?["pages"] as? [String])?.first)
        let full = try #require(server.expectedFile(collection: 101, runner: id, page: 1))
        do {
            let answer = try await client.get(link: link)
            #expect(answer.data.count < full.count)
        } catch {
            // URLSession reports the cut as an error: equally observable.
        }
        #expect(server.requestLog().last?.fault == "truncate")
        let again = try await client.get(link: link)
        #expect(again.data == full)
    }

    @Test func trickledDownloadStillArrivesWhole() async throws {
        let (server, client) = try startSandbox(
            faults: faults {
                $0.trickle = .always
                $0.trickleBytes = 4_096
                $0.trickleInterval = .milliseconds(2)
            })
        defer { server.stop() }
        let runner = try #require(try await client.history(101, limit: 1).first)
        let id = try #require(runner["id"] as? Int)
        let link = try #require(((runner["download_links"] as? [String: Any])?["pages"] as? [String])?.first)
        let full = try #require(server.expectedFile(collection: 101, runner: id, page: 1))
        #expect(full.count > 4 * 4_096)
        let clock = ContinuousClock()
        let start = clock.now
        let answer = try await client.get(link: link)
        #expect(answer.data == full)
        #expect(clock.now - start >= .milliseconds(2 * (full.count / 4_096 - 1)))
        #expect(server.requestLog().last?.fault == "trickle")
    }

    @Test func neverFinishingRunner() async throws {
        let (server, client) = try startSandbox(
            credits: 300,
            collections: [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "Big", items: 400),
            ], completion: .afterHistoryReads(1), faults: faults { $0.neverFinish = FaultRule(first: 1) })
        defer { server.stop() }
        // A refused trigger does not use up `first=1`: only triggers that queue count.
        #expect(try await client.post("/schedules/run/result/", ["collection_id": 102]).code == 402)
        _ = try await client.post("/schedules/run/result/", ["collection_id": 101])
        for _ in 0..<5 {
            #expect(try await client.history(101, limit: 1).first?["is_download_generated"] as? Bool == false)
        }
        let runner = try #require(server.snapshot().runners[101]?.first)
        #expect(runner.neverFinishes)
        #expect(runner.historyReads == 5)
        let blocked = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(blocked.code == 409)
    }

    @Test func rivalRunnerAppearsRightAfterOurs() async throws {
        let (server, client) = try startSandbox(
            completion: .never, faults: faults { $0.rivalRunner = FaultRule(first: 1) })
        defer { server.stop() }
        let newestBefore = try #require(try await client.history(101, limit: 1).first?["id"] as? Int)
        _ = try await client.post("/schedules/run/result/", ["collection_id": 101])
        let ours = try #require(server.requestLog().last?.runnerID)
        let ids = try await client.history(101, limit: 5).compactMap { $0["id"] as? Int }
        #expect(ids.prefix(2) == [ours + 1, ours])
        #expect(ids[2] == newestBefore)
        let runners = try #require(server.snapshot().runners[101])
        #expect(runners[0].bySomeoneElse)
        #expect(!runners[1].bySomeoneElse)
        #expect(server.snapshot().frozenCredits == 500)
    }

    @Test func foreignLinksPointAtAnotherOriginThatRecordsKeys() async throws {
        let (server, client) = try startSandbox(faults: faults { $0.foreignLinks = true })
        defer { server.stop() }
        let other = try #require(server.otherBaseURL)
        #expect(other.host == "localhost")
        #expect(other.port != client.base.port)
        let runner = try #require(try await client.history(101, limit: 1).first)
        let link = try #require(((runner["download_links"] as? [String: Any])?["pages"] as? [String])?.first)
        #expect(link.hasPrefix(other.absoluteString + "/results/101/"))
        // Fetch through 127.0.0.1 on the other port: `localhost` may resolve to ::1 first, where nothing listens.
        let viaIPv4 = link.replacingOccurrences(of: "//localhost:", with: "//127.0.0.1:")
        let plain = try await client.get(link: viaIPv4)
        #expect(plain.status == 200)
        _ = try await client.get(link: viaIPv4, key: "test-key")
        let records = server.requestLog().filter { $0.listener == "other" }
        #expect(records.map(\.keyPresent) == [false, true])
        #expect(records.allSatisfy { $0.endpoint == .file && $0.httpStatus == 200 })
    }

    @Test(arguments: [302, 307])
    func redirectSendsAPICallsToAnotherOrigin(status: Int) async throws {
        let (server, client) = try startSandbox(
            faults: faults {
                $0.redirect = FaultRule(first: 1)
                $0.redirectStatus = status
            })
        defer { server.stop() }
        let other = try #require(server.otherBaseURL)
        let answer = try await client.post("/users/credits/")
        #expect(answer.status == status)
        #expect(answer.headers["location"] == other.absoluteString + "/users/credits/")
        #expect(server.requestLog().last?.fault == "redirect")
        // What a client that follows would hit: the other listener logs whether the key came along.
        var request = URLRequest(
            url: URL(
                string: answer.headers["location"]!.replacingOccurrences(of: "//localhost:", with: "//127.0.0.1:"))!)
        request.httpMethod = "POST"
        request.setValue("test-key", forHTTPHeaderField: "x-api-key")
        let followed = try await client.send(request)
        #expect(followed.status == 404)
        let last = try #require(server.requestLog().last)
        #expect(last.listener == "other")
        #expect(last.keyPresent)
        #expect(try await client.post("/users/credits/").status == 200)
    }

    @Test func triggerDelayQueuesFirstAnswersLater() async throws {
        let (server, client) = try startSandbox(faults: faults { $0.triggerDelay = .milliseconds(60) })
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let answer = try await client.post("/schedules/run/result/", ["collection_id": 101])
        #expect(clock.now - start >= .milliseconds(60))
        #expect(answer.code == 200)
        let record = try #require(server.requestLog().last)
        #expect(record.fault == "trigger-delay")
        // The record (and the runner) exist before the answer is sent: logged at decision time.
        #expect(record.time < Date().addingTimeInterval(-0.05))
        #expect(server.snapshot().runners[101]?.first?.id == record.runnerID)
    }

    @Test func probabilisticFaultsAreDeterministicPerSeed() async throws {
        func pattern(seed: UInt64) async throws -> [Int] {
            let (server, client) = try startSandbox(
                seed: seed, faults: faults { $0.httpError = FaultRule(probability: 0.5) })
            defer { server.stop() }
            var statuses: [Int] = []
            for _ in 0..<24 { statuses.append(try await client.post("/users/credits/").status) }
            return statuses
        }
        let a = try await pattern(seed: 11)
        #expect(try await pattern(seed: 11) == a)
        #expect(Set(a) == [200, 503])
        #expect(try await pattern(seed: 12) != a)
    }

    @Test func faultSpecsFromTheCommandLine() throws {
        var faults = SandboxFaults.none
        try faults.apply(flag: "fault-5xx", spec: "rate=0.25,first=2,on=trigger+history,status=502,before-queue=true")
        #expect(faults.httpError == FaultRule(probability: 0.25, first: 2, endpoints: [.trigger, .history]))
        #expect(faults.httpErrorStatus == 502)
        #expect(faults.httpErrorBeforeQueue)
        try faults.apply(flag: "fault-429", spec: "0.1")
        #expect(faults.rateLimit == FaultRule(probability: 0.1))
        try faults.apply(flag: "fault-never-finish", spec: "")
        #expect(faults.neverFinish == .always)
        try faults.apply(flag: "fault-latency", spec: "50,on=file")
        #expect(faults.latency == .milliseconds(50))
        #expect(faults.latencyEndpoints == [.file])
        try faults.apply(flag: "fault-trigger-delay", spec: "ms=1500")
        #expect(faults.triggerDelay == .milliseconds(1500))
        try faults.apply(flag: "fault-gzip", spec: "on=file")
        #expect(faults.gzip == FaultRule(probability: 1, endpoints: [.file]))
        try faults.apply(flag: "fault-drop", spec: "first=1")
        #expect(faults.dropConnection == FaultRule(first: 1))
        #expect(throws: SandboxConfigurationError.self) { try faults.apply(flag: "fault-5xx", spec: "rate=2") }
        #expect(throws: SandboxConfigurationError.self) { try faults.apply(flag: "fault-5xx", spec: "colour=red") }
        #expect(throws: SandboxConfigurationError.self) { try faults.apply(flag: "fault-redirect", spec: "status=305") }
        #expect(throws: SandboxConfigurationError.self) { try faults.apply(flag: "fault-latency", spec: "on=credits") }
        #expect(throws: SandboxConfigurationError.self) { try faults.apply(flag: "fault-envelope", spec: "on=nope") }
        #expect(Set(SandboxFaults.options.map(\.flag)).count == SandboxFaults.options.count)
    }

    @Test func collectionFlagParsing() throws {
        #expect(
            try SandboxCollection(parsing: "101:AU Laptops:250")
                == SandboxCollection(id: 101, name: "AU Laptops", items: 250))
        #expect(try SandboxCollection(parsing: "7:a:b:3").name == "a:b")
        #expect(throws: SandboxConfigurationError.self) { try SandboxCollection(parsing: "101:AU Laptops") }
        #expect(throws: SandboxConfigurationError.self) { try SandboxCollection(parsing: "x:Name:3") }
        #expect(throws: SandboxConfigurationError.self) { try SandboxCollection(parsing: "1: :3") }
    }
}
