import CartflowCore
import Foundation

/// The MultiCart API client: the endpoints cartflow uses, envelope decoding, retries for read-only calls,
/// and the rule that the key goes to the API host and nowhere else.
public struct MultiCartClient: Sendable {
    public static let creditsPath = "/users/credits/"
    public static let triggerPath = "/schedules/run/result/"
    public static let historyPath = "/schedules/collections/results/download/"
    public static let asinListPath = "/schedules/amazon/asin/list/"

    public let baseURL: URL
    private let apiKey: String
    private let transport: any HTTPTransport
    public var retry: RetryPolicy
    /// Deadline of each attempt of a JSON call (`api.timeout`), and its size cap.
    public var apiDeadline: Duration = .seconds(60)
    public var apiMaxBytes = 8 << 20
    /// The most one result file download may take, every attempt and every wait between them included
    /// (`fetch.timeout`), and its size cap.
    public var downloadDeadline: Duration = .seconds(300)
    public var downloadMaxBytes = 512 << 20
    /// A download that receives nothing for this long ends (and is tried again once, within its budget).
    public var downloadIdleTimeout: Duration = .seconds(60)
    /// The least time left for a download attempt to be worth starting.
    static let minimumAttempt: Duration = .seconds(1)
    /// A missed deadline is retried at most this many times per call: a server that trickles once usually
    /// trickles again, and each miss costs a whole deadline.
    public static let deadlineRetries = 1
    private let sleep: @Sendable (Duration) async throws -> Void
    private let random: @Sendable () -> Double
    private let now: @Sendable () -> Date
    /// Monotonic time since an arbitrary origin: what download budgets are measured on (injected for tests).
    public let monotonic: @Sendable () -> Duration
    /// Called before each retry with the endpoint, the attempt that failed, the error and the wait.
    public var onRetry: (@Sendable (String, Int, MultiCartError, Duration) -> Void)?
    /// A deadline of the caller's that bounds every call, attempts and waits together (see `CallerDeadline`).
    public var callerDeadline: CallerDeadline?

    public init(
        baseURL: URL, apiKey: String, transport: any HTTPTransport = URLSessionTransport(),
        retry: RetryPolicy = RetryPolicy(),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        now: @escaping @Sendable () -> Date = { Date() },
        monotonic: @escaping @Sendable () -> Duration = MultiCartClient.systemMonotonic
    ) {
        let text = baseURL.absoluteString
        self.baseURL = text.hasSuffix("/") ? URL(string: String(text.dropLast()))! : baseURL
        self.apiKey = apiKey
        self.transport = transport
        self.retry = retry
        self.sleep = sleep
        self.random = random
        self.now = now
        self.monotonic = monotonic
    }

    /// Time on the continuous clock since this process first asked.
    @Sendable public static func systemMonotonic() -> Duration { ContinuousClock.now - monotonicOrigin }
    private static let monotonicOrigin = ContinuousClock.now

    /// Removes the key from any text about to be shown.
    public var redactor: Redactor { Redactor(secret: apiKey) }

    // MARK: Endpoints

    /// The spendable credits (`POST /users/credits/`). Read-only, retried.
    public func credits() async throws -> CreditBalance {
        let data = try await withRetry(Self.creditsPath, deadline: apiDeadline) {
            try await call(Self.creditsPath, body: [:], deadline: $0)
        }
        return try Self.decodeCredits(data, endpoint: Self.creditsPath)
    }

    /// Starts a run of a collection (`POST /schedules/run/result/`). Costs credits: sent exactly once, never
    /// retried here. A thrown error whose `certainlyNotApplied` is false (anything but a documented refusal)
    /// leaves the outcome unknown: the caller must look at the run history before deciding anything.
    /// The transport sends it on a connection of its own, which nothing below replays (`mayBeSentTwice`).
    public func triggerRun(collectionID: Int) async throws {
        _ = try await call(
            Self.triggerPath, body: ["collection_id": collectionID], deadline: apiDeadline, mayBeSentTwice: false)
    }

    /// Runner records of a collection, newest first. Read-only, retried.
    public func runHistory(collectionID: Int, skip: Int = 0, limit: Int = 5) async throws -> [RunnerRecord] {
        let body = ["collection_id": collectionID, "skip": skip, "limit": limit]
        let data = try await withRetry(Self.historyPath, deadline: apiDeadline) {
            try await call(Self.historyPath, body: body, deadline: $0)
        }
        guard case .array(let items) = data else {
            throw MultiCartError.contractSurprise(
                endpoint: Self.historyPath, detail: "expected a list of runners in `data`, got \(data.kind)")
        }
        return try items.enumerated().map { try Self.decodeRunner($0.element, index: $0.offset) }
    }

    /// The number of items in a collection, from the ASIN list's `with_count`. Read-only, retried.
    public func itemCount(collectionID: Int) async throws -> Int {
        let body = ["collection_id": collectionID, "skip": 0, "limit": 1, "with_count": true] as [String: Any]
        let data = try await withRetry(Self.asinListPath, deadline: apiDeadline) {
            try await call(Self.asinListPath, body: body, deadline: $0)
        }
        guard let count = data["total_count"]?.intValue, count >= 0 else {
            throw MultiCartError.contractSurprise(
                endpoint: Self.asinListPath, detail: "expected `total_count` in `data`, got \(Self.shape(of: data))")
        }
        return count
    }

    /// Downloads a result file from a link as the API wrote it (raw names, see `readings(of:apiBase:)`). The key is
    /// sent only when the link has the API's scheme, host and port. A redirect is followed to the same origin, or to
    /// a host in `redirectHosts` (`api.allow_download_hosts`; https or the link's own scheme) without the key.
    /// Retried on transient failures (a truncated body included) until `until` on the `monotonic` clock, by default
    /// `downloadDeadline` from now: the budget covers every attempt and every wait. A link that reads two ways gets
    /// its second reading once, within the same budget, when the first is answered with HTTP 404.
    public func download(_ link: String, redirectHosts: [String] = [], until: Duration? = nil) async throws -> Data {
        let readings = try Self.readings(of: link, apiBase: baseURL)
        let end = until ?? monotonic() + downloadDeadline
        do {
            return try await download(readings[0], redirectHosts: redirectHosts, until: end)
        } catch let error as MultiCartError where readings.count > 1 {
            guard case .notFound(_, _, httpStatus: true) = error else { throw error }
            return try await download(readings[1], redirectHosts: redirectHosts, until: end)
        }
    }

    private func download(_ url: URL, redirectHosts: [String], until end: Duration) async throws -> Data {
        let endpoint = "GET " + Self.decodedPath(url)
        let sameOrigin = Origin(url) == Origin(baseURL)
        return try await withRetry(endpoint, deadline: downloadDeadline, until: end) { _ in
            // Each attempt gets what is left of the budget, so retries never carry a download past it.
            let left = end - monotonic()
            guard left > .zero else {
                throw MultiCartError.transport(endpoint: endpoint, failure: .deadlineExceeded)
            }
            let request = HTTPRequest(
                method: "GET", url: url, headers: sameOrigin ? [("x-api-key", apiKey)] : [],
                deadline: left, idleTimeout: downloadIdleTimeout, maxResponseBytes: downloadMaxBytes,
                redirects: .allowedHosts(redirectHosts, removing: ["x-api-key"]))
            let response = try await send(request, endpoint: endpoint)
            guard response.status == 200 else {
                if response.status == 404 {
                    throw MultiCartError.notFound(
                        endpoint: endpoint, message: "the file is not there (yet)", httpStatus: true)
                }
                if response.status == 401 || response.status == 403 {
                    throw MultiCartError.authentication(endpoint: endpoint, detail: "HTTP \(response.status)")
                }
                throw httpError(response, endpoint: endpoint)
            }
            return response.body
        }
    }

    /// The URL to request first for a download link, every character encoded exactly once (see
    /// `readings(of:apiBase:)`); `apiBase` is the API's base URL, whose own result links hold raw names.
    public static func encodedURL(_ link: String, apiBase: URL? = nil) throws -> URL {
        try readings(of: link, apiBase: apiBase)[0]
    }

    /// The URLs to request for a download link, in order: one, or two when the link reads two ways.
    ///
    /// A link on the API's own origin under its `/results/` path holds raw names, as the API writes them
    /// (`AU Laptops_88_Results_Page_1.json`, docs/multicart-api.md): each path segment is percent-encoded as it
    /// stands, `%`, `#`, `?` and `;` included, so they stay part of the name (`Promo%41Deals` is fetched as
    /// `Promo%2541Deals`, never as `PromoADeals`). Any other link made only of characters a URL may hold
    /// (RFC 3986), with `%` only as the start of a `%XX` escape and no `#` (a fragment never reaches a server), is
    /// taken as already encoded and used as it is, query included (a presigned CDN link); when its raw reading is
    /// another URL (a `%XX` or a `?` in it), that reading comes second, to be tried once if the first is not found.
    /// Every other link is raw.
    public static func readings(of link: String, apiBase: URL?) throws -> [URL] {
        guard let schemeEnd = link.range(of: "://") else {
            throw MultiCartError.contractSurprise(endpoint: "download link", detail: "not an absolute URL: \(link)")
        }
        let afterScheme = link[schemeEnd.upperBound...]
        let pathStart = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let segments = link[pathStart...].split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).addingPercentEncoding(withAllowedCharacters: segmentAllowed) ?? String($0)
        }
        let raw = usableURL(String(link[..<pathStart]) + segments.joined(separator: "/"))
        if let raw, let apiBase, isAPIResult(raw, apiBase: apiBase) { return [raw] }
        if isEncodedURL(link), let asIs = usableURL(link) {
            guard let raw, raw.absoluteString != asIs.absoluteString else { return [asIs] }
            return [asIs, raw]
        }
        guard let raw else {
            throw MultiCartError.contractSurprise(
                endpoint: "download link", detail: "not a usable http(s) URL: \(link)")
        }
        return [raw]
    }

    private static func usableURL(_ text: String) -> URL? {
        guard let url = URL(string: text), url.host != nil, ["http", "https"].contains(url.scheme?.lowercased() ?? "")
        else { return nil }
        return url
    }

    /// Whether a URL is one of the API's own result files: its origin and a path under `<base path>/results/`.
    static func isAPIResult(_ url: URL, apiBase: URL) -> Bool {
        guard Origin(url) == Origin(apiBase) else { return false }
        var basePath = URLComponents(url: apiBase, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? ""
        while basePath.hasSuffix("/") { basePath.removeLast() }
        let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? ""
        return path.hasPrefix(basePath + "/results/")
    }

    /// The path of a URL with its escapes decoded once: what the server will look up.
    public static func decodedPath(_ url: URL) -> String {
        let encoded = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? url.path
        return encoded.removingPercentEncoding ?? encoded
    }

    /// The last path segment of a URL decoded once (`a%2Fb` stays one name, `a/b`): the remote file name.
    public static func fileName(_ url: URL) -> String? {
        let encoded = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? url.path
        guard let last = encoded.split(separator: "/").last else { return nil }
        return last.removingPercentEncoding ?? String(last)
    }

    /// Characters kept as they are in a raw path segment; everything else (`%`, `?`, `#`, `;`, spaces, non-ASCII)
    /// is escaped.
    private static let segmentAllowed: CharacterSet = {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;%")
        return allowed
    }()

    /// Whether a link already is a percent-encoded URL: only RFC 3986 characters, `%` always starting `%XX`, no `#`.
    static func isEncodedURL(_ link: String) -> Bool {
        let legal = Set(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?[]@!$&'()*+,;=".utf8)
        let hex = Set("0123456789abcdefABCDEF".utf8)
        let bytes = Array(link.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, hex.contains(bytes[index + 1]), hex.contains(bytes[index + 2]) else {
                    return false
                }
                index += 3
            } else {
                guard legal.contains(bytes[index]) else { return false }
                index += 1
            }
        }
        return true
    }

    // MARK: Plumbing

    /// Sends one JSON call and returns the envelope's `data` on success (`status == 1` and `code == 200` only).
    /// Reads are idempotent, so an HTTP stack's replay of one does no harm; only the trigger passes
    /// `mayBeSentTwice: false`.
    private func call(_ path: String, body: [String: Any], deadline: Duration, mayBeSentTwice: Bool = true)
        async throws -> JSONValue
    {
        let url = URL(string: baseURL.absoluteString + path)!
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json"), ("x-api-key", apiKey)],
            body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), deadline: deadline,
            maxResponseBytes: apiMaxBytes, mayBeSentTwice: mayBeSentTwice)
        var response = try await send(request, endpoint: path)
        // An answer that echoes the key must not pass it on to any text decoded from it.
        response.body = redactor.redact(response.body)
        if response.status == 401 || response.status == 403 {
            throw MultiCartError.authentication(endpoint: path, detail: "HTTP \(response.status)")
        }
        if response.status == 404 {
            // An HTTP 404 (not the envelope's) usually means the base URL is not the API's.
            throw MultiCartError.notFound(
                endpoint: path,
                message:
                    "HTTP 404 for \(APIConfig.displayed(url.absoluteString)) (is api.base_url or MULTICART_BASE_URL the API's base, "
                    + "ending in /api/v1?): " + excerpt(response.body), httpStatus: true)
        }
        guard (200..<300).contains(response.status) else { throw httpError(response, endpoint: path) }
        return try decodeEnvelope(response.body, endpoint: path)
    }

    private func send(_ request: HTTPRequest, endpoint: String) async throws -> HTTPResponse {
        do {
            return try await transport.send(request)
        } catch let failure as TransportFailure {
            throw MultiCartError.transport(endpoint: endpoint, failure: redacted(failure))
        }
    }

    private func redacted(_ failure: TransportFailure) -> TransportFailure {
        switch failure {
        case .connection(let text, let sent): return .connection(redactor.redact(text), requestMayHaveBeenSent: sent)
        // A location can carry the key anywhere, its host lowercased included.
        case .crossOriginRedirect(let status, let location):
            return .crossOriginRedirect(status: status, location: redactor.redact(location, ignoringCase: true))
        default: return failure
        }
    }

    func decodeEnvelope(_ body: Data, endpoint: String) throws -> JSONValue {
        let envelope: JSONValue
        do {
            envelope = try JSONValue.parseAPI(body)
        } catch {
            throw MultiCartError.contractSurprise(endpoint: endpoint, detail: "the body is not JSON: " + excerpt(body))
        }
        guard case .object = envelope else {
            throw MultiCartError.contractSurprise(
                endpoint: endpoint, detail: "expected an envelope object, got \(envelope.kind)")
        }
        guard let statusValue = envelope["status"] else {
            throw MultiCartError.contractSurprise(
                endpoint: endpoint, detail: "the envelope has no `status`: " + excerpt(body))
        }
        guard let status = statusValue.intValue, status == 0 || status == 1, statusValue == .number(String(status))
        else {
            throw MultiCartError.contractSurprise(
                endpoint: endpoint, detail: "`status` must be 0 or 1, got \(Self.shape(of: statusValue))")
        }
        guard let code = envelope["code"]?.intValue else {
            throw MultiCartError.contractSurprise(
                endpoint: endpoint, detail: "`code` must be a number, got \(Self.shape(of: envelope["code"] ?? .null))")
        }
        let data = envelope["data"] ?? .null
        if status == 1 && code == 200 { return data }
        let message = redactor.redact(data.stringValue ?? Self.shape(of: data))
        if status == 1 {
            throw MultiCartError.contractSurprise(
                endpoint: endpoint, detail: "`status` 1 with `code` \(code): \(message)")
        }
        switch code {
        case 402: throw MultiCartError.creditGate(endpoint: endpoint, message: message)
        case 401, 403: throw MultiCartError.authentication(endpoint: endpoint, detail: message)
        case 404: throw MultiCartError.notFound(endpoint: endpoint, message: message)
        case 409: throw MultiCartError.conflict(endpoint: endpoint, message: message)
        default: throw MultiCartError.api(endpoint: endpoint, code: code, message: message)
        }
    }

    private func httpError(_ response: HTTPResponse, endpoint: String) -> MultiCartError {
        .httpStatus(
            endpoint: endpoint, status: response.status, excerpt: excerpt(response.body),
            retryAfter: RetryPolicy.parseRetryAfter(response.headers["retry-after"], now: now()))
    }

    /// The start of a body on one line, whitespace runs (an HTML page's indentation) folded to one space. The
    /// key is removed from the whole text before it is cut, so no part of it can show at the cut.
    private func excerpt(_ body: Data) -> String {
        let folded = redactor.redact(String(decoding: body, as: UTF8.self))
            .split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return folded.count > 160 ? String(folded.prefix(160)) + "…" : folded
    }

    /// Runs `operation` (given the deadline of one attempt) until it succeeds or fails for good: a transient error
    /// is retried after a backoff, a missed deadline at most `deadlineRetries` times. With a caller's deadline,
    /// each attempt gets at most what is left of it, and a retry is made only when its wait ends before it (the
    /// time the failed attempts took counts, not only the waits). With `until` (on the `monotonic` clock: a
    /// download's budget), a retry needs time left after its wait.
    private func withRetry<T: Sendable>(
        _ endpoint: String, deadline standard: Duration, until end: Duration? = nil,
        _ operation: (Duration) async throws -> T
    ) async throws -> T {
        var attempt = 1
        var missedDeadlines = 0
        while true {
            let allowed = callerDeadline.map { min(standard, max($0.remaining(), $0.leastPerAttempt)) } ?? standard
            do {
                return try await operation(allowed)
            } catch let error as MultiCartError where error.isTransient && attempt < retry.maxAttempts {
                if case .transport(_, .deadlineExceeded) = error {
                    missedDeadlines += 1
                    if missedDeadlines > Self.deadlineRetries { throw error }
                }
                var retryAfter: Duration?
                if case .httpStatus(_, _, _, let after) = error { retryAfter = after }
                let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter, random: random())
                if let callerDeadline, wait >= callerDeadline.remaining() { throw error }
                // A retry needs time left after its wait; one that would start at the end is not worth making.
                if let end, monotonic() + wait + Self.minimumAttempt > end { throw error }
                onRetry?(endpoint, attempt, error, wait)
                try Task.checkCancellation()
                try await (callerDeadline?.sleep ?? sleep)(wait)
                attempt += 1
            }
        }
    }

    // MARK: Decoding

    static func decodeCredits(_ data: JSONValue, endpoint: String) throws -> CreditBalance {
        if let number = data.intValue { return CreditBalance(spendable: number, origin: "a plain number") }
        if let available = data["available_credits"]?.intValue, let used = data["used_credits"]?.intValue,
            let frozen = data["frozen_credits"]?.intValue
        {
            // Figures from the server: an impossible balance is its error, never an arithmetic trap here.
            let figures = "available_credits \(available), used_credits \(used), frozen_credits \(frozen)"
            guard available >= 0, used >= 0, frozen >= 0 else {
                throw MultiCartError.contractSurprise(
                    endpoint: endpoint, detail: "impossible balance: a credit count is negative (\(figures))")
            }
            let (held, heldOverflow) = used.addingReportingOverflow(frozen)
            let (spendable, overflow) = available.subtractingReportingOverflow(held)
            guard !heldOverflow, !overflow else {
                throw MultiCartError.contractSurprise(
                    endpoint: endpoint,
                    detail: "impossible balance: available_credits − (used_credits + frozen_credits) is out of range "
                        + "(\(figures))")
            }
            return CreditBalance(
                spendable: spendable, available: available, used: used, frozen: frozen,
                origin: "available_credits − (used_credits + frozen_credits)")
        }
        for field in ["credits", "remaining_credits", "balance"] {
            if let value = data[field]?.intValue { return CreditBalance(spendable: value, origin: "`\(field)`") }
        }
        throw MultiCartError.contractSurprise(
            endpoint: endpoint,
            detail: "cannot find the balance: expected available_credits, used_credits and frozen_credits "
                + "(or credits / remaining_credits / balance), got \(shape(of: data))")
    }

    static func decodeRunner(_ value: JSONValue, index: Int) throws -> RunnerRecord {
        func surprise(_ detail: String) -> MultiCartError {
            .contractSurprise(endpoint: historyPath, detail: "runner #\(index + 1): \(detail)")
        }
        guard case .object = value else { throw surprise("expected an object, got \(value.kind)") }
        guard let id = value["id"]?.intValue else {
            throw surprise("`id` must be a number, got \(shape(of: value["id"] ?? .null))")
        }
        let generated: Bool
        switch value["is_download_generated"] ?? .null {
        case .bool(let flag): generated = flag
        case .null: generated = false
        case let other: throw surprise("`is_download_generated` must be true or false, got \(shape(of: other))")
        }
        var pages: [String] = []
        var zip: String?
        switch value["download_links"] ?? .null {
        case .null: break
        case .object(let links):
            switch links["pages"] ?? .null {
            case .null: break
            case .array(let items):
                pages = try items.map {
                    guard let link = $0.stringValue else { throw surprise("a page link is \($0.kind), not a string") }
                    return link
                }
            case let other: throw surprise("`download_links.pages` must be a list, got \(other.kind)")
            }
            zip = links["all_pages"]?.stringValue
        case let other: throw surprise("`download_links` must be an object, got \(other.kind)")
        }
        return RunnerRecord(
            id: id, collection: value["collection"]?.intValue, isDownloadGenerated: generated, pageLinks: pages,
            allPagesLink: zip, totalExacted: value["total_exacted_result"]?.intValue,
            totalResults: value["total_results"]?.intValue, createdAt: value["created_at"]?.stringValue,
            updatedAt: value["updated_at"]?.stringValue)
    }

    /// A short description of a value's shape for error messages: keys and types, never long text.
    static func shape(of value: JSONValue) -> String {
        switch value {
        case .object(let object):
            let keys = object.members.prefix(8).map { "\($0.key): \($0.value.kind)" }
            return "an object {" + keys.joined(separator: ", ") + (object.count > 8 ? ", …" : "") + "}"
        case .string(let text): return "a string \"\(text.prefix(60))\(text.count > 60 ? "…" : "")\""
        case .number(let text): return "the number \(text)"
        case .bool(let flag): return "the boolean \(flag)"
        default: return value.kind
        }
    }
}

/// A deadline of the caller's (polling's timeout, attribution's grace period) that bounds each call of a client,
/// measured on the caller's clock — whose waits, in tests, take no wall time. Each attempt is given at most what is
/// left (and never more than its own deadline), a retry is made only when its wait ends before the deadline, and
/// the waits pass on that clock.
public struct CallerDeadline: Sendable {
    /// Time left until the deadline (zero or less once it has passed).
    public var remaining: @Sendable () -> Duration
    /// What one attempt is given however little is left, so that a last check made at the deadline can still be
    /// answered; at or past the deadline there are no retries.
    public var leastPerAttempt: Duration
    /// Waits between attempts, on the caller's clock.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        remaining: @escaping @Sendable () -> Duration, leastPerAttempt: Duration,
        sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.remaining = remaining
        self.leastPerAttempt = leastPerAttempt
        self.sleep = sleep
    }
}
