import CartflowTestSupport
import Foundation
import MultiCart
import Testing

@Suite struct EnvelopeTests {
    let key = "pub123.SECRETsecret"

    func client(_ replies: [MockTransport.Reply], retry: RetryPolicy = RetryPolicy(maxAttempts: 3)) -> (
        MultiCartClient, MockTransport
    ) {
        let transport = MockTransport(replies)
        let client = MultiCartClient(
            baseURL: URL(string: "https://api.example/api/v1")!, apiKey: key, transport: transport, retry: retry,
            sleep: { _ in }, random: { 0.5 }, now: { Date(timeIntervalSince1970: 1_700_000_000) })
        return (client, transport)
    }

    @Test func creditsFromTheThreeDocumentedFields() async throws {
        let (client, transport) = client([
            MockTransport.json(
                #"{"code":200,"data":{"available_credits":1000,"used_credits":300,"frozen_credits":200},"status":1}"#)
        ])
        let balance = try await client.credits()
        #expect(balance.spendable == 500)
        #expect(balance.origin.contains("frozen_credits"))
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.example/api/v1/users/credits/")
        #expect(request.headers.contains { $0.name == "x-api-key" && $0.value == key })
    }

    @Test(arguments: [
        (#"{"code":200,"data":42,"status":1}"#, 42),
        (#"{"code":200,"data":{"remaining_credits":7},"status":1}"#, 7),
        (#"{"code":200,"data":{"balance":9},"status":1}"#, 9),
    ])
    func creditsFromTolerantShapes(body: String, expected: Int) async throws {
        let (client, _) = client([MockTransport.json(body)])
        #expect(try await client.credits().spendable == expected)
    }

    @Test func unknownCreditShapeQuotesTheShape() async throws {
        let (client, _) = client([MockTransport.json(#"{"code":200,"data":{"wallet":{"x":1}},"status":1}"#)])
        await #expect {
            try await client.credits()
        } throws: { error in
            guard case .contractSurprise(let endpoint, let detail) = error as? MultiCartError else { return false }
            return endpoint == "/users/credits/" && detail.contains("wallet: an object")
        }
    }

    /// Figures no account can have (a sum past Int.max, a negative count) are the server's error, named with its
    /// endpoint — never an arithmetic trap that kills `plan` or `run`.
    @Test(arguments: [
        (#"{"available_credits":1000,"used_credits":9223372036854775807,"frozen_credits":1}"#, "out of range"),
        (#"{"available_credits":-9223372036854775807,"used_credits":1,"frozen_credits":1}"#, "negative"),
        (#"{"available_credits":5,"used_credits":-3,"frozen_credits":0}"#, "negative"),
    ])
    func anImpossibleBalanceIsAContractSurprise(data: String, problem: String) async throws {
        let (client, _) = client([MockTransport.json(#"{"code":200,"data":"# + data + #","status":1}"#)])
        await #expect {
            try await client.credits()
        } throws: { error in
            guard case .contractSurprise(let endpoint, let detail) = error as? MultiCartError else { return false }
            return endpoint == "/users/credits/" && detail.hasPrefix("impossible balance") && detail.contains(problem)
        }
    }

    /// C16: a refusal inside HTTP 200 is a credit-gate error, and nothing that lacks a proper status is success.
    @Test func creditGateInsideHTTP200() async throws {
        let (client, transport) = client([
            MockTransport.json(
                #"{"code":402,"data":"Not enough credits — you need 250 but have 12 remaining.","status":0}"#)
        ])
        await #expect(
            throws: MultiCartError.creditGate(
                endpoint: "/schedules/run/result/", message: "Not enough credits — you need 250 but have 12 remaining.")
        ) {
            try await client.triggerRun(collectionID: 101)
        }
        #expect(transport.requests.count == 1)
    }

    /// Only the paid trigger asks the transport for a request that may not be sent twice; the reads may be.
    @Test func onlyTheTriggerIsMarkedNotToBeSentTwice() async throws {
        let ok = MockTransport.json(#"{"code":200,"data":"Scraping Processing Queued!","status":1}"#)
        let (client, transport) = client([
            MockTransport.json(#"{"code":200,"data":42,"status":1}"#),
            MockTransport.json(#"{"code":200,"data":[],"status":1}"#),
            MockTransport.json(#"{"code":200,"data":{"total_count":3},"status":1}"#), ok,
        ])
        _ = try await client.credits()
        _ = try await client.runHistory(collectionID: 101)
        _ = try await client.itemCount(collectionID: 101)
        try await client.triggerRun(collectionID: 101)
        #expect(transport.requests.map(\.mayBeSentTwice) == [true, true, true, false])
    }

    @Test(arguments: [
        #"{"code":200,"data":"Scraping Processing Queued!"}"#,
        #"{"code":200,"data":"ok","status":"1"}"#,
        #"{"code":200,"data":"ok","status":true}"#,
        #"{"code":"200","data":"ok","status":1}"#,
        #"{"code":500,"data":"odd","status":1}"#,
        "<html><body>Gateway</body></html>",
        "[1,2,3]",
        "",
    ])
    func malformedEnvelopesAreNeverSuccess(body: String) async throws {
        let (client, transport) = client([MockTransport.json(body)])
        await #expect {
            try await client.triggerRun(collectionID: 101)
        } throws: { error in
            guard case .contractSurprise(let endpoint, _) = error as? MultiCartError else { return false }
            return endpoint == "/schedules/run/result/"
        }
        #expect(transport.requests.count == 1, "the trigger is never retried")
    }

    @Test func authFailureIsNotRetriedAndHidesTheKey() async throws {
        let (client, transport) = client([
            MockTransport.json(#"{"code":401,"data":"Invalid key pub123.SECRETsecret","status":0}"#),
            MockTransport.json(#"{"code":200,"data":1,"status":1}"#),
        ])
        do {
            _ = try await client.credits()
            Issue.record("expected an auth error")
        } catch let error as MultiCartError {
            guard case .authentication = error else { Issue.record("wrong error \(error)"); return }
            #expect(!error.description.contains("SECRET"))
            #expect(error.description.contains("<redacted>"))
        }
        #expect(transport.requests.count == 1)
        // The API's own sentence ends with a full stop; the message does not add a second one.
        let sentence = MultiCartError.authentication(endpoint: "/users/credits/", detail: "Invalid or missing API key.")
        #expect(
            sentence.description
                == "the API key was refused by /users/credits/: Invalid or missing API key. Check MULTICART_API_KEY.")
    }

    /// C15: the trigger is sent once even when the answer is a 503.
    @Test func triggerIsNeverRetried() async throws {
        let (client, transport) = client([
            MockTransport.json("Service Unavailable", status: 503),
            MockTransport.json(#"{"code":200,"data":"Scraping Processing Queued!","status":1}"#),
        ])
        await #expect {
            try await client.triggerRun(collectionID: 101)
        } throws: { error in
            guard let error = error as? MultiCartError, case .httpStatus(_, 503, _, _) = error else { return false }
            return !error.certainlyNotApplied
        }
        #expect(transport.requests.count == 1)
    }

    /// C15/C16: a trigger answered HTTP 200 with something that is not an envelope (an HTML page, no `status`,
    /// `status` of the wrong type, `status` 1 with an error code) proves nothing: the runner may exist, so the
    /// outcome is unknown and only the run history may decide — never "not triggered", which would pay twice.
    @Test(arguments: [
        "<html><body>Bad gateway</body></html>",
        #"{"code":200,"data":"Scraping Processing Queued!"}"#,
        #"{"code":200,"data":"Scraping Processing Queued!","status":"1"}"#,
        #"{"code":500,"data":"odd","status":1}"#,
        #"[1, 2]"#,
    ])
    func triggerAnsweredWithANonEnvelopeIsAmbiguous(body: String) async throws {
        let (client, transport) = client([MockTransport.json(body)])
        await #expect {
            try await client.triggerRun(collectionID: 101)
        } throws: { error in
            guard let error = error as? MultiCartError, case .contractSurprise = error else { return false }
            return !error.certainlyNotApplied
        }
        #expect(transport.requests.count == 1)
    }

    /// Only a documented refusal proves the trigger queued nothing; every other answer (a 5xx envelope, HTTP 408,
    /// 429, a 4xx or 5xx from something in between) may have started a paid runner and leaves the outcome to the
    /// run history. Before, every envelope error and every HTTP 4xx counted as "nothing queued".
    @Test(arguments: [
        (#"{"code":402,"data":"Not enough credits","status":0}"#, 200, true),
        (#"{"code":400,"data":"Collection 101 has no items.","status":0}"#, 200, true),
        (#"{"code":404,"data":"Collection 101 not found.","status":0}"#, 200, true),
        (#"{"code":409,"data":"Collection 101 is already processing.","status":0}"#, 200, true),
        (#"{"code":401,"data":"Invalid or missing API key.","status":0}"#, 200, true),
        (#"{"code":403,"data":"Forbidden.","status":0}"#, 200, true),
        ("Unauthorized", 401, true),
        ("Forbidden", 403, true),
        (#"{"code":500,"data":"Internal server error, please try again later.","status":0}"#, 200, false),
        (#"{"code":503,"data":"Busy.","status":0}"#, 200, false),
        (#"{"code":429,"data":"Slow down.","status":0}"#, 200, false),
        (#"{"code":422,"data":"Odd.","status":0}"#, 200, false),
        ("Request Timeout", 408, false),
        ("Too Many Requests", 429, false),
        ("Bad Request", 400, false),
        ("<html>Not Found</html>", 404, false),
        ("Internal Server Error", 500, false),
    ])
    func onlyADocumentedRefusalProvesTheTriggerQueuedNothing(body: String, status: Int, refusal: Bool) async throws {
        let (client, transport) = client([MockTransport.json(body, status: status)])
        await #expect {
            try await client.triggerRun(collectionID: 101)
        } throws: { error in
            (error as? MultiCartError)?.certainlyNotApplied == refusal
        }
        #expect(transport.requests.count == 1)
    }

    /// A connection that failed before the request could leave queued nothing; one that may have sent it did not
    /// prove anything.
    @Test func aConnectionFailureIsARefusalOnlyWhenNothingWasSent() {
        let refused = MultiCartError.transport(
            endpoint: MultiCartClient.triggerPath,
            failure: .connection("connection refused", requestMayHaveBeenSent: false))
        let reset = MultiCartError.transport(
            endpoint: MultiCartClient.triggerPath, failure: .connection("reset", requestMayHaveBeenSent: true))
        let late = MultiCartError.transport(endpoint: MultiCartClient.triggerPath, failure: .deadlineExceeded)
        #expect(refused.certainlyNotApplied)
        #expect(!reset.certainlyNotApplied)
        #expect(!late.certainlyNotApplied)
    }

    /// A base URL that is not the API (missing `/api/v1`, another server): an HTTP 404 names the URL that was
    /// asked and says where it came from; an HTML page shows as one short line, not its indentation.
    @Test func anHTTP404NamesTheURLAndTheBaseURLSetting() async throws {
        let (api, _) = client([MockTransport.json("<html>\n    <head>\n        <title>Not Found</title>", status: 404)])
        await #expect {
            _ = try await api.credits()
        } throws: { error in
            let text = String(describing: error)
            return text.contains("https://api.example/api/v1/users/credits/")
                && text.contains("api.base_url") && text.contains("<html> <head> <title>Not Found</title>")
        }
        let (other, _) = client(
            [MockTransport.json("<p>\n\n   Not   Implemented</p>", status: 501)], retry: RetryPolicy(maxAttempts: 1))
        await #expect {
            _ = try await other.credits()
        } throws: { error in String(describing: error).hasSuffix("answered HTTP 501: <p> Not Implemented</p>") }
    }

    /// A base URL with userinfo is refused on loading; should one reach the client, its 404 still hides it.
    @Test func anHTTP404NeverShowsTheBaseURLsCredentials() async throws {
        let transport = MockTransport([MockTransport.json("Not Found", status: 404)])
        let api = MultiCartClient(
            baseURL: URL(string: "https://bob:hunter2@api.example/api/v1")!, apiKey: key, transport: transport,
            retry: RetryPolicy(maxAttempts: 1), sleep: { _ in }, random: { 0.5 })
        await #expect {
            _ = try await api.credits()
        } throws: { error in
            let text = String(describing: error)
            return text.contains("HTTP 404 for https://api.example/api/v1/users/credits/") && !text.contains("hunter2")
        }
    }

    /// C28: a key echoed in an error body where the excerpt is cut leaves no part of itself behind.
    @Test func aKeyEchoedAtTheExcerptsCutIsRemovedWhole() async throws {
        let echo = String(repeating: "x", count: 150) + " " + key + " and more"
        let (cut, _) = client([MockTransport.json(echo, status: 400)])
        await #expect {
            _ = try await cut.credits()
        } throws: { error in
            let text = String(describing: error)
            return !text.contains(String(key.prefix(4))) && text.contains("<redac")
        }
    }

    /// C28: a key echoed inside a JSON answer (as is, or with `/` escaped as `\\/`) never reaches an error text,
    /// even where a value is cut short to describe its shape.
    @Test(arguments: [#"S3cr3t Key/+&="#, #"S3cr3t Key\/+&="#])
    func aKeyEchoedInAJSONAnswerNeverShows(echoed: String) async throws {
        let secret = "S3cr3t Key/+&="
        let body = #"{"code":200,"status":1,"data":""# + String(repeating: "x", count: 50) + echoed + #""}"#
        let client = MultiCartClient(
            baseURL: URL(string: "https://api.example/api/v1")!, apiKey: secret,
            transport: MockTransport([MockTransport.json(body)]), retry: .none, sleep: { _ in })
        await #expect {
            _ = try await client.credits()
        } throws: { error in
            let text = String(describing: error)
            return text.contains("cannot find the balance") && !text.contains("S3cr")
        }
    }

    @Test func theRedactorKnowsTheEncodedFormsOfTheKey() {
        let redactor = Redactor(secret: "S3cr3t Key/+&=")
        for form in [
            "S3cr3t%20Key%2F%2B%26%3D", "S3cr3t%20Key%2f%2b%26%3d", "S3cr3t+Key%2F%2B%26%3D", #"S3cr3t Key\/+&="#,
            "S3cr3t+Key/%2B&=", "S3cr3t%20Key/+%26%3d",
        ] {
            #expect(redactor.redact("a \(form) b") == "a <redacted> b")
            #expect(redactor.redact(Data("a \(form) b".utf8)) == Data("a <redacted> b".utf8))
        }
        // A key that is part of the replacement text itself still ends.
        #expect(
            Redactor(secret: "redacted").redact(Data("redacted redacted".utf8)) == Data("<redacted> <redacted>".utf8))
    }

    /// The key as each common encoder writes it. Python's `quote(safe='')` and JavaScript's `encodeURIComponent`
    /// keep the unreserved `-._~` raw (RFC 3986), which a list of forms built with Foundation's `.alphanumerics`
    /// missed: the key echoed that way reached stderr and the state database.
    @Test(arguments: [
        ("urllib quote(safe='') / encodeURIComponent", "pk_test.S3cr3t%2BKey%2Fab%3D%3D"),
        ("urllib quote, '/' kept", "pk_test.S3cr3t%2BKey/ab%3D%3D"),
        ("lower-case hex", "pk_test.S3cr3t%2bKey%2fab%3d%3d"),
        ("Foundation .alphanumerics", "pk%5Ftest%2ES3cr3t%2BKey%2Fab%3D%3D"),
        ("every byte escaped", "%70%6B%5F%74%65%73%74%2E%53%33%63%72%33%74%2B%4B%65%79%2F%61%62%3D%3D"),
        ("mixed escapes and cases", "pk%5ftest.S3cr3t+Key%2Fab=%3d"),
        ("raw", "pk_test.S3cr3t+Key/ab=="),
        ("JSON, '/' escaped", #"pk_test.S3cr3t+Key\/ab=="#),
        ("JSON \\u escapes", #"pk_test.S3cr3t\u002bKey\u002Fab\u003d\u003D"#),
    ])
    func theRedactorFindsTheKeyAsEveryEncoderWritesIt(encoder: String, form: String) {
        let redactor = Redactor(secret: "pk_test.S3cr3t+Key/ab==")
        let text = "Invalid API key: \(form). Try again: \(form)"
        #expect(redactor.redact(text) == "Invalid API key: <redacted>. Try again: <redacted>", "\(encoder)")
        #expect(
            redactor.redact(Data(text.utf8)) == Data("Invalid API key: <redacted>. Try again: <redacted>".utf8),
            "\(encoder)")
    }

    /// Text that only resembles the key is left alone: a prefix of it, a broken escape, another byte escaped.
    @Test func theRedactorLeavesNearMissesAlone() {
        let redactor = Redactor(secret: "pk_test.S3cr3t+Key/ab==")
        for text in [
            "pk_test.S3cr3t%2BKey%2Fab%3D", "pk_test.S3cr3t%2BKey%2Fab%3D%3", "pk_test.S3cr3t%2CKey%2Fab%3D%3D",
            "pk_test.S3cr3t Key/ab==", "PK_TEST.S3CR3T+KEY/AB==", "",
        ] {
            #expect(redactor.redact(text) == text)
            #expect(redactor.redact(Data(text.utf8)) == Data(text.utf8))
        }
        #expect(Redactor(secret: nil).redact("pk_test") == "pk_test")
        #expect(Redactor(secret: "").redact("pk_test") == "pk_test")
    }

    /// A key of non-ASCII letters is found raw and percent-encoded (its UTF-8 bytes escaped one by one).
    @Test func theRedactorFindsANonASCIIKeyEncoded() {
        let redactor = Redactor(secret: "clé.sécrète")
        let encoded = "clé.sécrète".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(redactor.redact("a \(encoded) b clé.sécrète") == "a <redacted> b <redacted>")
    }

    /// Through the client: an answer that echoes the key, encoded as urllib would, leaves no trace of it in the
    /// error (whose description goes to stderr and the state database).
    @Test func anEchoedEncodedKeyNeverReachesAnError() async throws {
        let secret = "pk_test.S3cr3t+Key/ab=="
        let echoed = "pk_test.S3cr3t%2BKey%2Fab%3D%3D"
        for body in [
            #"{"code":401,"data":"Invalid API key: "# + echoed + #"","status":0}"#,
            #"{"code":500,"data":"key "# + echoed + #" failed","status":0}"#,
            "<html>key=" + echoed + "</html>",
        ] {
            let client = MultiCartClient(
                baseURL: URL(string: "https://api.example/api/v1")!, apiKey: secret,
                transport: MockTransport([MockTransport.json(body, status: body.hasPrefix("<") ? 502 : 200)]),
                retry: .none, sleep: { _ in })
            await #expect {
                _ = try await client.credits()
            } throws: { error in
                let text = String(describing: error)
                return text.contains("<redacted>") && !text.contains("S3cr3t")
            }
        }
    }

    /// 501 and 505 say the server will never do this request (a base URL at a server that is not the API):
    /// retrying only delays the error.
    @Test(arguments: [501, 505])
    func permanentServerErrorsAreNotRetried(status: Int) async throws {
        let (client, transport) = client([
            MockTransport.json("<h1>Unsupported method</h1>", status: status),
            MockTransport.json(#"{"code":200,"data":1,"status":1}"#),
        ])
        await #expect(throws: MultiCartError.self) { _ = try await client.credits() }
        #expect(transport.requests.count == 1)
    }

    /// C19: read-only calls retry on 429 and wait as long as Retry-After says (clamped).
    @Test func readsRetryHonouringRetryAfter() async throws {
        let waits = WaitLog()
        let transport = MockTransport([
            MockTransport.json("slow down", status: 429, headers: ["retry-after": "2"]),
            MockTransport.json("busy", status: 503, headers: ["retry-after": "100000"]),
            MockTransport.json(#"{"code":500,"data":"internal","status":0}"#),
            MockTransport.json(#"{"code":200,"data":[],"status":1}"#),
        ])
        let client = MultiCartClient(
            baseURL: URL(string: "https://api.example/api/v1")!, apiKey: key, transport: transport,
            retry: RetryPolicy(
                maxAttempts: 5, baseDelay: .seconds(1), maxDelay: .seconds(8), maxRetryAfter: .seconds(60)),
            sleep: { waits.append($0) }, random: { 0.5 })
        let history = try await client.runHistory(collectionID: 101)
        #expect(history.isEmpty)
        #expect(waits.values == [.seconds(2), .seconds(60), .seconds(2)])
    }

    /// A caller with its own deadline (polling) bounds the whole call on its clock: each attempt gets at most what
    /// is left, the time the attempts take counts (not only the waits), the waits pass on that clock, and no retry
    /// starts at or past the deadline. Before, each attempt got the full API deadline and only waits counted.
    @Test func aCallersDeadlineBoundsAttemptsAndWaitsTogether() async throws {
        let clock = TestClock()
        let deadlines = WaitLog()
        // A server that takes 20 s (or the whole deadline, if shorter) to fail each attempt.
        let transport = ClosureTransport { request in
            deadlines.append(request.deadline)
            clock.advance(by: min(request.deadline, .seconds(20)))
            return HTTPResponse(status: 503, body: Data("busy".utf8))
        }
        var client = MultiCartClient(
            baseURL: URL(string: "https://api.example/api/v1")!, apiKey: key, transport: transport,
            retry: RetryPolicy(maxAttempts: 10, baseDelay: .seconds(1), maxDelay: .seconds(8)),
            sleep: { _ in Issue.record("waits must pass on the caller's clock") }, random: { 1.0 })
        client.callerDeadline = CallerDeadline(
            remaining: { .seconds(50) - clock.now() }, leastPerAttempt: .seconds(5),
            sleep: { try await clock.sleep(for: $0) })
        await #expect {
            _ = try await client.runHistory(collectionID: 101)
        } throws: { error in
            guard case .httpStatus(_, 503, _, _) = error as? MultiCartError else { return false }
            return true
        }
        // 50 s left: 20 s spent, wait 1; 29 s left: 20 s spent, wait 2; 7 s left: all of it spent; then no retry.
        #expect(deadlines.values == [.seconds(50), .seconds(29), .seconds(7)])
        #expect(clock.recordedSleeps == [.seconds(1), .seconds(2)])
        #expect(clock.now() == .seconds(50))
    }

    @Test func retryAfterAsHTTPDate() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(RetryPolicy.parseRetryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == .seconds(5))
        #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
    }

    @Test func historyDecodesRunnersAndToleratesMissingLinks() async throws {
        let body = """
            {"code":200,"status":1,"data":[
              {"id":89,"collection":101,"is_download_generated":false,"download_links":null,"total_exacted_result":0,"total_results":250},
              {"id":88,"collection":101,"is_download_generated":true,
               "download_links":{"pages":["https://api.example/api/v1/results/101/88/AU Laptops_88_Results_Page_1.json"],
                                 "all_pages":"https://api.example/api/v1/results/101/88/AU Laptops_88_Results_All_Pages.zip"},
               "total_exacted_result":240,"total_results":250,"created_at":"2026-06-20T12:00:00Z"},
              {"id":87,"is_download_generated":false,"download_links":{"pages":[],"all_pages":null}}
            ]}
            """
        let (client, transport) = client([MockTransport.json(body)])
        let runners = try await client.runHistory(collectionID: 101, skip: 0, limit: 3)
        #expect(runners.map(\.id) == [89, 88, 87])
        #expect(runners[1].pageLinks.count == 1)
        #expect(runners[1].totalExacted == 240)
        #expect(runners[0].allPagesLink == nil)
        let sent =
            try JSONSerialization.jsonObject(with: try #require(transport.requests.first?.body)) as? [String: Int]
        #expect(sent == ["collection_id": 101, "skip": 0, "limit": 3])
    }

    /// A made-up one-letter key (a sandbox's) is not cut out of the answer's bytes: `download_links` would lose
    /// its `k` and no runner would ever show its files. Messages still never show it.
    @Test func aShortKeyDoesNotBreakDecoding() async throws {
        let transport = MockTransport([
            MockTransport.json(
                #"{"code":200,"status":1,"data":[{"id":88,"is_download_generated":true,"download_links":{"pages":["https://api.example/api/v1/results/101/88/k.json"],"all_pages":null}}]}"#
            )
        ])
        let client = MultiCartClient(
            baseURL: URL(string: "https://api.example/api/v1")!, apiKey: "k", transport: transport,
            retry: RetryPolicy(maxAttempts: 1), sleep: { _ in }, random: { 0.5 },
            now: { Date(timeIntervalSince1970: 1_700_000_000) })
        let runners = try await client.runHistory(collectionID: 101)
        #expect(runners.first?.pageLinks.count == 1)
        #expect(Redactor(secret: "k").redact("the key k") == "the <redacted>ey <redacted>")
    }

    @Test func historyWithAWrongTypeNamesTheField() async throws {
        let (client, _) = client([
            MockTransport.json(#"{"code":200,"status":1,"data":[{"id":"88","is_download_generated":true}]}"#)
        ])
        await #expect {
            _ = try await client.runHistory(collectionID: 101)
        } throws: { error in
            guard case .contractSurprise(_, let detail) = error as? MultiCartError else { return false }
            return detail.contains("`id`")
        }
    }

    /// C21: names with spaces are encoded as one path segment.
    @Test func downloadLinksAreEncodedSegmentBySegment() throws {
        let url = try MultiCartClient.encodedURL(
            "https://api.example/api/v1/results/101/88/AU Laptops_88_Results_Page_1.json")
        #expect(url.absoluteString == "https://api.example/api/v1/results/101/88/AU%20Laptops_88_Results_Page_1.json")
        let odd = try MultiCartClient.encodedURL("http://h:8080/r/1/2/A#B?C_Page_1.json")
        #expect(odd.absoluteString == "http://h:8080/r/1/2/A%23B%3FC_Page_1.json")
        #expect(throws: MultiCartError.self) { try MultiCartClient.encodedURL("/relative/path.json") }
    }

    /// A raw name is encoded exactly once: a `%41` in it is three characters of the name, not an `A`, and `#`
    /// and `?` are part of the name, not a fragment or a query.
    @Test(arguments: [
        ("Promo %41 #1? Deals_902_Results_Page_1.json", "Promo%20%2541%20%231%3F%20Deals_902_Results_Page_1.json"),
        ("100% Cotton_5_Results_Page_1.json", "100%25%20Cotton_5_Results_Page_1.json"),
        ("Deals#1_5_Results_Page_1.json", "Deals%231_5_Results_Page_1.json"),
        ("笔记本 Ü_5_Results_Page_1.json", "%E7%AC%94%E8%AE%B0%E6%9C%AC%20%C3%9C_5_Results_Page_1.json"),
        ("a;b_5_Results_Page_1.json", "a;b_5_Results_Page_1.json"),
    ])
    func rawNamesAreEncodedExactlyOnce(name: String, encoded: String) throws {
        let url = try MultiCartClient.encodedURL("https://api.example/api/v1/results/101/5/" + name)
        #expect(url.absoluteString == "https://api.example/api/v1/results/101/5/" + encoded)
        #expect(MultiCartClient.decodedPath(url) == "/api/v1/results/101/5/" + name)
        #expect(MultiCartClient.fileName(url) == name)
    }

    /// The API's own result links hold raw names (docs/multicart-api.md), so on its origin under `/results/` a
    /// name is encoded as it stands even when it reads as a valid encoded URL: `Promo%41Deals` is not `PromoADeals`
    /// (which answered 404 for ever), and nothing else is tried.
    @Test(arguments: [
        ("Promo%41Deals_902_Results_Page_1.json", "Promo%2541Deals_902_Results_Page_1.json"),
        ("AU%20Laptops_88_Results_Page_1.json", "AU%2520Laptops_88_Results_Page_1.json"),
        ("Deals?x=1_5_Results_Page_1.json", "Deals%3Fx=1_5_Results_Page_1.json"),
        ("plain_5_Results_Page_1.json", "plain_5_Results_Page_1.json"),
    ])
    func theAPIsOwnResultLinksAreAlwaysRaw(name: String, encoded: String) throws {
        let base = URL(string: "https://api.example/api/v1")!
        let readings = try MultiCartClient.readings(
            of: "https://api.example/api/v1/results/101/5/" + name, apiBase: base)
        #expect(readings.map(\.absoluteString) == ["https://api.example/api/v1/results/101/5/" + encoded])
        #expect(readings.first.flatMap(MultiCartClient.fileName) == name)
    }

    /// A link that already is a valid percent-encoded URL (only URL characters, `%` only in `%XX`, no `#`) and is
    /// not one of the API's own result links is used as it is, query included, so a presigned link keeps its
    /// signature; when it also reads as raw names, that reading comes second.
    @Test(arguments: [
        ("https://cdn.example/r/AU%20Laptops_88.json?X-Amz-Signature=ab%2Fcd&X-Amz-Expires=300", true),
        ("http://h:8080/r/1/2/plain_Page_1.json", false),
        ("https://api.example/api/v1/other/AU%20Laptops_88_Results_Page_1.json", true),
        ("https://api.example:8443/api/v1/results/101/88/AU%20Laptops_88_Results_Page_1.json", true),
    ])
    func encodedLinksAreKeptAsTheyAre(link: String, ambiguous: Bool) throws {
        let base = URL(string: "https://api.example/api/v1")!
        let readings = try MultiCartClient.readings(of: link, apiBase: base)
        #expect(readings.first?.absoluteString == link)
        #expect(readings.count == (ambiguous ? 2 : 1))
        #expect(try MultiCartClient.encodedURL(link, apiBase: base).absoluteString == link)
    }

    /// An ambiguous link answered 404 under its encoded reading is tried once more as raw names, in the same
    /// budget; a link with one reading, or a 404 of the raw reading, is not tried again.
    @Test func anAmbiguousLinkNotFoundEncodedIsTriedOnceRaw() async throws {
        let (client, transport) = client([
            .response(HTTPResponse(status: 404, body: Data())),
            .response(HTTPResponse(status: 200, body: Data("[]".utf8))),
            .response(HTTPResponse(status: 404, body: Data())),
            .response(HTTPResponse(status: 404, body: Data())),
            .response(HTTPResponse(status: 404, body: Data())),
        ])
        let data = try await client.download("https://cdn.example/r/Promo%41Deals_Page_1.json")
        #expect(data == Data("[]".utf8))
        await #expect(throws: MultiCartError.self) {
            _ = try await client.download("https://cdn.example/r/Promo%41Deals_Page_1.json")
        }
        await #expect(throws: MultiCartError.self) {
            _ = try await client.download("https://cdn.example/r/plain_Page_1.json")
        }
        #expect(
            transport.requests.map(\.url.absoluteString) == [
                "https://cdn.example/r/Promo%41Deals_Page_1.json", "https://cdn.example/r/Promo%2541Deals_Page_1.json",
                "https://cdn.example/r/Promo%41Deals_Page_1.json", "https://cdn.example/r/Promo%2541Deals_Page_1.json",
                "https://cdn.example/r/plain_Page_1.json",
            ])
    }

    /// C14: the key goes only to the API's origin.
    @Test func downloadsFromAnotherOriginCarryNoKey() async throws {
        let (client, transport) = client([
            .response(HTTPResponse(status: 200, body: Data("[]".utf8))),
            .response(HTTPResponse(status: 200, body: Data("[]".utf8))),
            .response(HTTPResponse(status: 200, body: Data("[]".utf8))),
        ])
        _ = try await client.download("https://api.example/api/v1/results/1/2/a.json")
        _ = try await client.download("https://cdn.example/results/1/2/a.json")
        _ = try await client.download("https://api.example:8443/results/1/2/a.json")
        let keys = transport.requests.map { $0.headers.contains { $0.name == "x-api-key" } }
        #expect(keys == [true, false, false])
    }

    @Test func truncatedDownloadIsRetried() async throws {
        let (client, transport) = client([
            .failure(.truncated(expected: 100, received: 40)),
            .response(HTTPResponse(status: 200, body: Data("[]".utf8))),
        ])
        let data = try await client.download("https://api.example/api/v1/results/1/2/a.json")
        #expect(data == Data("[]".utf8))
        #expect(transport.requests.count == 2)
    }

    /// The length message says which way it went: more bytes than declared is not "cut short".
    @Test func lengthMismatchIsWordedByItsDirection() {
        let short = MultiCartError.transport(endpoint: "GET /a.json", failure: .truncated(expected: 100, received: 40))
        #expect(short.description == "the answer from GET /a.json was cut short: 40 of 100 bytes")
        let long = MultiCartError.transport(endpoint: "GET /a.json", failure: .truncated(expected: 92, received: 103))
        #expect(
            long.description == "the answer from GET /a.json was longer than its Content-Length: 103 bytes, 92 declared"
        )
    }

    @Test func backoffIsCappedWithFullJitter() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(1), maxDelay: .seconds(10))
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0.5) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 1.0) == .seconds(4))
        #expect(policy.delay(afterAttempt: 9, retryAfter: nil, random: 1.0) == .seconds(10))
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, random: 0) == .zero)
    }
}

final class WaitLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [Duration] = []
    func append(_ value: Duration) { lock.withLock { log.append(value) } }
    var values: [Duration] { lock.withLock { log } }
}

/// Deadlines and budgets: a missed deadline costs a whole deadline, so it is retried once at most, and one
/// download never runs past its budget, whatever its retries.
@Suite struct DeadlineTests {
    let base = URL(string: "https://api.example/api/v1")!

    func client(_ transport: any HTTPTransport, time: VirtualTime) -> MultiCartClient {
        MultiCartClient(
            baseURL: base, apiKey: "k", transport: transport, retry: RetryPolicy(maxAttempts: 5),
            sleep: { time.advance(by: $0) }, random: { 0.5 }, now: { Date(timeIntervalSince1970: 1_700_000_000) },
            monotonic: { time.now() })
    }

    @Test func missedDeadlineIsRetriedOnceOnly() async throws {
        let time = VirtualTime()
        let transport = MockTransport(Array(repeating: .failure(.deadlineExceeded), count: 4))
        await #expect(throws: MultiCartError.transport(endpoint: "/users/credits/", failure: .deadlineExceeded)) {
            _ = try await client(transport, time: time).credits()
        }
        #expect(transport.requests.count == 2)
    }

    /// Each attempt gets what is left of `downloadDeadline`; none starts once it is spent.
    @Test func downloadAttemptsShareOneBudget() async throws {
        let time = VirtualTime()
        let lost = MockTransport.Reply.failure(.connection("reset", requestMayHaveBeenSent: true))
        let transport = TimedTransport([lost, lost, lost], cost: .seconds(200), time: time)
        var client = client(transport, time: time)
        client.downloadDeadline = .seconds(300)
        await #expect(throws: MultiCartError.self) {
            _ = try await client.download("https://api.example/api/v1/results/1/2/a.json")
        }
        #expect(
            transport.requests.map(\.deadline) == [.seconds(300), .seconds(300) - .seconds(200) - .milliseconds(250)])
        #expect(transport.requests.allSatisfy { $0.idleTimeout == .seconds(60) })
        #expect(time.now() < .seconds(300) + .seconds(200))
    }

    /// A trickling server holds a download for one budget, not one budget per retry.
    @Test func downloadThatMissesItsDeadlineIsNotTriedAgainPastTheBudget() async throws {
        let time = VirtualTime()
        let transport = TimedTransport(
            [.response(HTTPResponse(status: 200, body: Data("[]".utf8)))], cost: .seconds(900), time: time)
        var client = client(transport, time: time)
        client.downloadDeadline = .seconds(300)
        await #expect(
            throws: MultiCartError.transport(endpoint: "GET /api/v1/results/1/2/a.json", failure: .deadlineExceeded)
        ) {
            _ = try await client.download("https://api.example/api/v1/results/1/2/a.json")
        }
        #expect(transport.requests.count == 1)
        #expect(time.now() == .seconds(300))
    }
}
