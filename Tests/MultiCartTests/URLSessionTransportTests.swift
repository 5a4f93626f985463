import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// The real transport against the sandbox over loopback: what URLSession on Linux would get wrong by default
/// (C14 redirects carrying the key, C20 trickles and short bodies).
@Suite struct URLSessionTransportTests {
    let key = "transport-key.S3cr3t"

    func sandbox(_ edit: (inout SandboxFaults) -> Void) throws -> SandboxServer {
        var faults = SandboxFaults()
        edit(&faults)
        var configuration = SandboxConfiguration(apiKey: key)
        configuration.completion = .afterHistoryReads(0)
        configuration.faults = faults
        let server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        return server
    }

    func client(_ server: SandboxServer) -> MultiCartClient {
        MultiCartClient(baseURL: server.baseURL!, apiKey: key, transport: URLSessionTransport(), retry: .none)
    }

    /// C14: an API call redirected to another origin is not followed, so the key never reaches it.
    @Test(arguments: [302, 307])
    func crossOriginRedirectIsRefusedAndTheKeyStaysHome(status: Int) async throws {
        let server = try sandbox {
            $0.redirect = .always
            $0.redirectStatus = status
        }
        defer { server.stop() }
        do {
            _ = try await client(server).credits()
            Issue.record("a redirect to another origin must not succeed")
        } catch let error as MultiCartError {
            guard case .transport(_, .crossOriginRedirect(let got, let location)) = error else {
                Issue.record("expected a refused redirect, got \(error)")
                return
            }
            #expect(got == status)
            #expect(location.contains("localhost"))
            #expect(!error.isTransient)
        }
        let log = server.requestLog()
        #expect(log.filter { $0.listener == "other" }.isEmpty)
        #expect(log.filter { $0.listener == "api" }.map(\.fault) == ["redirect"])
    }

    /// The hang-up server's `stop()` runs twice (a test's `defer`, then the deinit): the second run closed the
    /// listener's number again — by then another descriptor (a sandbox's socket in a parallel test), which
    /// libmicrohttpd then failed to close and aborted the test process on. A descriptor opened between the two
    /// stops must survive them.
    @Test func stoppingTheHangUpServerTwiceClosesNothingElse() throws {
        let server = try HangUpServer()
        server.stop()
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { fds.forEach { _ = close($0) } }
        server.stop()
        #expect(fcntl(fds[0], F_GETFD) != -1 && fcntl(fds[1], F_GETFD) != -1)
    }

    /// Money first: libcurl replays a request whose reused keep-alive connection closes before any answer, on a new
    /// connection. The trigger goes on a connection of its own, so a server that reads it and hangs up receives it
    /// once, and the client learns only that the outcome is unknown (the run history must tell).
    @Test func triggerIsNeverReplayedWhenItsConnectionDies() async throws {
        let server = try HangUpServer()
        defer { server.stop() }
        let client = MultiCartClient(
            baseURL: server.baseURL, apiKey: key, transport: URLSessionTransport(), retry: .none)
        // Reads first, as a run does, so the session holds an idle keep-alive connection to the API.
        _ = try await client.credits()
        _ = try await client.runHistory(collectionID: 101, limit: 1)
        do {
            try await client.triggerRun(collectionID: 101)
            Issue.record("a trigger whose connection was closed unanswered cannot succeed")
        } catch let error as MultiCartError {
            guard case .transport(_, .connection) = error else {
                Issue.record("expected a lost connection, got \(error)")
                return
            }
            #expect(!error.certainlyNotApplied)
        }
        #expect(server.triggers == 1)
        // Reads still work afterwards, on the shared connections.
        #expect(try await client.runHistory(collectionID: 101, limit: 1).first?.id == 901)
        #expect(server.triggers == 1)
    }

    /// An answer to the trigger that is not HTTP at all (FoundationNetworking reports it as "unsupported URL"), or a
    /// redirect (following it would send the paid call again, a 307 without its body): never "nothing queued", and
    /// never followed — the run history decides.
    @Test(arguments: [
        "garbage\r\n\r\n", "<html>hi</html>", "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: /api/v1/schedules/run/result/\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 308 Permanent Redirect\r\nLocation: /api/v1/schedules/run/result/\r\nContent-Length: 0\r\n\r\n",
    ])
    func aTriggerAnsweredOddlyIsAmbiguousAndSentOnce(reply: String) async throws {
        let server = try HangUpServer(triggerReply: reply)
        defer { server.stop() }
        let client = MultiCartClient(
            baseURL: server.baseURL, apiKey: key, transport: URLSessionTransport(), retry: .none)
        do {
            try await client.triggerRun(collectionID: 101)
            Issue.record("a trigger answered with \(reply.debugDescription) cannot succeed")
        } catch let error as MultiCartError {
            #expect(!error.certainlyNotApplied, "\(error)")
        }
        #expect(server.triggers == 1)
    }

    /// A 401 that asks for Basic credentials is the key refused, at once: FoundationNetworking waited for
    /// credentials until the deadline, and the call was then retried as "did not answer in time".
    @Test func aBasicChallengeIsTheKeyRefusedAtOnce() async throws {
        let server = try HangUpServer(
            triggerReply:
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"api\"\r\nContent-Length: 0\r\n\r\n")
        defer { server.stop() }
        var client = MultiCartClient(
            baseURL: server.baseURL, apiKey: key, transport: URLSessionTransport(), retry: .none)
        // Without an answer to the challenge the call would end at this deadline, as "did not answer in time".
        client.apiDeadline = .seconds(20)
        do {
            try await client.triggerRun(collectionID: 101)
            Issue.record("a 401 cannot succeed")
        } catch let error as MultiCartError {
            guard case .authentication = error else {
                Issue.record("expected the key refused, got \(error)")
                return
            }
        }
    }

    /// The sandbox's drop fault: the trigger queues its runner, the connection closes unanswered, and the log says
    /// so (no status sent).
    @Test func droppedTriggerQueuesItsRunnerAndIsLoggedOnce() async throws {
        let server = try sandbox { $0.dropConnection = .always }
        defer { server.stop() }
        let client = client(server)
        _ = try await client.credits()
        await #expect(throws: MultiCartError.self) { try await client.triggerRun(collectionID: 101) }
        let triggers = server.requestLog().filter { $0.endpoint == .trigger }
        #expect(triggers.map(\.fault) == ["drop"])
        #expect(triggers.map(\.httpStatus) == [0])
        let runner = try #require(triggers.first?.runnerID)
        #expect(try await client.runHistory(collectionID: 101, limit: 1).first?.id == runner)
    }

    /// A download redirected to a host in `allow_download_hosts` (presigned storage, a CDN) is followed, with the
    /// key taken off first: the second listener serves the file and never sees the key.
    @Test(arguments: [302, 307])
    func downloadRedirectToAnAllowedHostIsFollowedWithoutTheKey(status: Int) async throws {
        let server = try sandbox {
            $0.redirect = FaultRule(probability: 1, endpoints: [.file])
            $0.redirectStatus = status
        }
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let runner = try #require(try await client.runHistory(collectionID: 101, limit: 1).first)
        let link = try #require(runner.pageLinks.first)
        let other = try #require(server.otherBaseURL?.port)
        let data = try await client.download(link, redirectHosts: ["localhost:\(other)"])
        #expect(data == server.expectedFile(collection: 101, runner: runner.id, page: 1))
        let files = server.requestLog().filter { $0.endpoint == .file }
        #expect(files.map(\.listener) == ["api", "other"])
        #expect(files.map(\.keyPresent) == [true, false])
        #expect(files.map(\.httpStatus) == [status, 200])
    }

    /// Without the host listed, a download redirected to another origin is refused and nothing reaches it; API
    /// calls refuse such redirects whatever a download may follow (`downloadRedirect…` above, and the C14 test).
    @Test func downloadRedirectToAnUnlistedHostIsRefused() async throws {
        let server = try sandbox { $0.redirect = FaultRule(probability: 1, endpoints: [.file]) }
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let link = try #require(try await client.runHistory(collectionID: 101, limit: 1).first?.pageLinks.first)
        do {
            _ = try await client.download(link, redirectHosts: ["cdn.example", "localhost:1"])
            Issue.record("a redirect to an unlisted origin must not be followed")
        } catch let error as MultiCartError {
            guard case .transport(_, .crossOriginRedirect(302, let location)) = error else {
                Issue.record("expected a refused redirect, got \(error)")
                return
            }
            #expect(location.hasPrefix("http://localhost:"))
        }
        #expect(server.requestLog().filter { $0.listener == "other" }.isEmpty)
    }

    /// C14: a download link on another host and port is fetched without the key (the second listener logs it).
    @Test func downloadFromAnotherOriginCarriesNoKey() async throws {
        let server = try sandbox { $0.foreignLinks = true }
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let runner = try #require(try await client.runHistory(collectionID: 101, limit: 1).first)
        #expect(runner.isDownloadGenerated)
        let link = try #require(runner.pageLinks.first)
        #expect(link.contains("//localhost:"))
        let data = try await client.download(link)
        #expect(!data.isEmpty)
        let other = server.requestLog().filter { $0.listener == "other" }
        #expect(other.count == 1)
        #expect(other.allSatisfy { !$0.keyPresent && $0.endpoint == .file && $0.httpStatus == 200 })
        #expect(server.requestLog().filter { $0.listener == "api" }.allSatisfy { $0.keyPresent })
    }

    /// C21: a collection name holding `%41`, `#`, `?`, spaces and non-ASCII is fetched under its own name (the
    /// sandbox looks the decoded path up verbatim), not under `A` for `%41` or cut at `#` or `?`.
    @Test func oddCollectionNamesAreFetchedUnderTheirOwnName() async throws {
        let name = "Promo %41 #1? Deals — 笔记本 Ü"
        var configuration = SandboxConfiguration(
            apiKey: key, collections: [SandboxCollection(id: 101, name: name, items: 150)])
        configuration.completion = .afterHistoryReads(0)
        let server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let runner = try #require(try await client.runHistory(collectionID: 101, limit: 1).first)
        #expect(runner.pageLinks.count == 2)
        for (index, link) in runner.pageLinks.enumerated() {
            #expect(link.contains(name))
            let data = try await client.download(link)
            #expect(data == server.expectedFile(collection: 101, runner: runner.id, page: index + 1))
        }
        let files = server.requestLog().filter { $0.endpoint == .file }
        #expect(files.map(\.httpStatus) == [200, 200])
        #expect(files.first?.path == "/api/v1/results/101/\(runner.id)/\(name)_\(runner.id)_Results_Page_1.json")
    }

    /// A name with a valid `%XX` and nothing else to encode (`Promo%41Deals`) is fetched under its own name from
    /// the API's origin; it used to read as an encoded URL and ask for `PromoADeals`, answered 404 for ever.
    @Test func aNameThatLooksEncodedIsFetchedUnderItsOwnName() async throws {
        let name = "Promo%41Deals"
        var configuration = SandboxConfiguration(
            apiKey: key, collections: [SandboxCollection(id: 101, name: name, items: 150)])
        configuration.completion = .afterHistoryReads(0)
        let server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let runner = try #require(try await client.runHistory(collectionID: 101, limit: 1).first)
        let link = try #require(runner.pageLinks.first)
        #expect(try await client.download(link) == server.expectedFile(collection: 101, runner: runner.id, page: 1))
        let files = server.requestLog().filter { $0.endpoint == .file }
        #expect(files.map(\.httpStatus) == [200])
        #expect(files.first?.path == "/api/v1/results/101/\(runner.id)/\(name)_\(runner.id)_Results_Page_1.json")
    }

    /// C20: a body that trickles in ends with an error at the request's overall deadline, not when it is done.
    @Test func trickledBodyEndsAtTheOverallDeadline() async throws {
        let server = try sandbox {
            $0.trickle = .always
            $0.trickleBytes = 8
            $0.trickleInterval = .milliseconds(50)
        }
        defer { server.stop() }
        var client = client(server)
        client.downloadDeadline = .milliseconds(400)
        try await client.triggerRun(collectionID: 101)
        let link = try #require(try await client.runHistory(collectionID: 101, limit: 1).first?.pageLinks.first)
        let clock = ContinuousClock()
        let started = clock.now
        do {
            _ = try await client.download(link)
            Issue.record("a trickled page of tens of kilobytes cannot arrive in 400 ms")
        } catch let error as MultiCartError {
            #expect(error == .transport(endpoint: error.endpoint, failure: .deadlineExceeded))
        }
        // URLSession's own timeout is an idle timer and would never fire: the chunks keep coming.
        #expect(clock.now - started < .seconds(5))
    }

    /// A trickled file holds the run for one download budget: the missed deadline is not retried past it (it
    /// used to be retried five times, each a whole deadline).
    @Test func trickledDownloadIsNotRetriedPastItsBudget() async throws {
        let server = try sandbox {
            $0.trickle = .always
            $0.trickleBytes = 8
            $0.trickleInterval = .milliseconds(50)
        }
        defer { server.stop() }
        var client = MultiCartClient(
            baseURL: server.baseURL!, apiKey: key, transport: URLSessionTransport(), retry: RetryPolicy(maxAttempts: 5),
            sleep: { _ in })
        client.downloadDeadline = .milliseconds(400)
        try await client.triggerRun(collectionID: 101)
        let link = try #require(try await client.runHistory(collectionID: 101, limit: 1).first?.pageLinks.first)
        do {
            _ = try await client.download(link)
            Issue.record("a trickled page of tens of kilobytes cannot arrive in 400 ms")
        } catch let error as MultiCartError {
            #expect(error == .transport(endpoint: error.endpoint, failure: .deadlineExceeded))
        }
        #expect(server.requestLog().filter { $0.endpoint == .file }.count == 1)
    }

    /// C20: a body shorter than its Content-Length is an error, never a short success.
    @Test func bodyShorterThanItsContentLengthIsAnError() async throws {
        let server = try sandbox { $0.truncate = .always }
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let link = try #require(try await client.runHistory(collectionID: 101, limit: 1).first?.pageLinks.first)
        await #expect(throws: MultiCartError.self) { _ = try await client.download(link) }
    }

    /// libcurl asks for gzip and decodes it, so the body is longer (or shorter) than the Content-Length, which
    /// counts compressed bytes: a compressed answer is not a cut-off one, for API calls and downloads alike.
    @Test func gzipCompressedAnswersAreAccepted() async throws {
        let server = try sandbox { $0.gzip = .always }
        defer { server.stop() }
        let client = client(server)
        #expect(try await client.credits().spendable == 10_000)
        try await client.triggerRun(collectionID: 101)
        let runner = try #require(try await client.runHistory(collectionID: 101, limit: 1).first)
        let link = try #require(runner.pageLinks.first)
        let data = try await client.download(link)
        #expect(data == server.expectedFile(collection: 101, runner: runner.id, page: 1))
        let log = server.requestLog()
        #expect(log.count == 4)
        #expect(log.allSatisfy { $0.fault == "gzip" && $0.httpStatus == 200 })
    }

    /// A compressed body cut short is still an error (libcurl notices the connection closing early), never a
    /// short success.
    @Test func gzipCompressedBodyCutShortIsAnError() async throws {
        let server = try sandbox {
            $0.gzip = FaultRule(probability: 1, endpoints: [.file])
            $0.truncate = .always
            $0.truncateFraction = 0.3
        }
        defer { server.stop() }
        let client = client(server)
        try await client.triggerRun(collectionID: 101)
        let link = try #require(try await client.runHistory(collectionID: 101, limit: 1).first?.pageLinks.first)
        do {
            let data = try await client.download(link)
            Issue.record("a cut-off compressed page must not succeed (\(data.count) bytes)")
        } catch let error as MultiCartError {
            guard case .transport(_, .connection) = error else {
                Issue.record("expected a connection failure, got \(error)")
                return
            }
            #expect(error.isTransient)
        }
        #expect(server.requestLog().last?.fault == "truncate,gzip")
    }

    @Test func answersOverTheSizeCapAreCutOff() async throws {
        let server = try sandbox { _ in }
        defer { server.stop() }
        var client = client(server)
        client.downloadMaxBytes = 1_000
        try await client.triggerRun(collectionID: 101)
        let link = try #require(try await client.runHistory(collectionID: 101, limit: 1).first?.pageLinks.first)
        do {
            _ = try await client.download(link)
            Issue.record("a page larger than 1,000 bytes must be refused")
        } catch let error as MultiCartError {
            #expect(error == .transport(endpoint: error.endpoint, failure: .responseTooLarge(limit: 1_000)))
        }
    }
}
