import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP request as the client builds it; the transport sends it as is.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// The whole exchange (connect, send, every byte of the answer) must finish within this.
    public var deadline: Duration
    /// The exchange also ends when nothing arrives for this long (nil: the deadline alone).
    public var idleTimeout: Duration?
    /// Answers larger than this are cut off with an error.
    public var maxResponseBytes: Int
    /// Which redirects the transport may follow.
    public var redirects: RedirectPolicy
    /// False for a request that must reach the server at most once (the paid trigger): the transport sends it on a
    /// new connection of its own, never on a reused one that an HTTP stack may silently replay it from.
    public var mayBeSentTwice: Bool

    public init(
        method: String, url: URL, headers: [(name: String, value: String)] = [], body: Data? = nil,
        deadline: Duration = .seconds(60), idleTimeout: Duration? = nil, maxResponseBytes: Int = 16 << 20,
        redirects: RedirectPolicy = .sameOrigin, mayBeSentTwice: Bool = true
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.deadline = deadline
        self.idleTimeout = idleTimeout
        self.maxResponseBytes = maxResponseBytes
        self.redirects = redirects
        self.mayBeSentTwice = mayBeSentTwice
    }
}

/// Which redirects a request may follow. None ever changes the method (a 302 would turn a POST into a GET).
public enum RedirectPolicy: Sendable, Equatable {
    /// Only to the same scheme, host and port: API calls, whose key nothing else may see.
    case sameOrigin
    /// Also to another origin whose host (or `host:port`) is listed, over https or the request's own scheme,
    /// with the headers named in `removing` taken off first: downloads sent on to presigned storage or a CDN.
    case allowedHosts([String], removing: [String])
    /// None at all: a request that must not be sent twice (the trigger), since following a redirect sends it again
    /// (a 307 without its body, at that).
    case none
}

/// An HTTP answer with its whole body.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why a request produced no HTTP answer.
public enum TransportFailure: Error, Sendable, Equatable {
    /// The overall deadline ran out (a slow or trickling answer included).
    case deadlineExceeded
    /// The answer was larger than allowed.
    case responseTooLarge(limit: Int)
    /// The server redirected to another scheme, host or port; not followed.
    case crossOriginRedirect(status: Int, location: String)
    /// The body does not match its Content-Length (checked only for bodies sent without a Content-Encoding):
    /// usually it ended early; `received` above `expected` means more arrived than was declared.
    case truncated(expected: Int, received: Int)
    /// The connection failed (refused, reset, DNS, TLS); `requestMayHaveBeenSent` is false only when
    /// the failure certainly happened before the request left (connection refused, host not found).
    case connection(String, requestMayHaveBeenSent: Bool)
}

/// The seam between the client and the network: one method that sends a request and returns the answer.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// The real transport on URLSession, with what URLSession lacks on Linux: an overall deadline, a size cap,
/// a Content-Length check (of bodies not compressed on the way), no redirects to another origin (which would
/// carry the API key away), and no replay of a request that must be sent once.
///
/// libcurl, under URLSession, sends a request again on a new connection when the reused keep-alive connection it
/// went out on closes before any answer — whatever the method. For the trigger that is a second paid run, so a
/// request with `mayBeSentTwice` false goes through a session of its own (an empty connection pool: the request
/// can only go out on a new connection, which libcurl never replays), with `Connection: close`, and the session is
/// invalidated after it.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let session: URLSession
    private let delegate: SessionDelegate

    public init() {
        delegate = SessionDelegate()
        session = URLSession(
            configuration: Self.configuration(connectionsPerHost: 16), delegate: delegate, delegateQueue: nil)
    }

    deinit {
        session.invalidateAndCancel()
    }

    private static func configuration(connectionsPerHost: Int) -> URLSessionConfiguration {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = connectionsPerHost
        return configuration
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if request.mayBeSentTwice { return try await send(request, on: session, delegate: delegate) }
        // A fresh pool for this one request: its connection is new, so libcurl has nothing to replay it from.
        let oneShotDelegate = SessionDelegate()
        let oneShot = URLSession(
            configuration: Self.configuration(connectionsPerHost: 1), delegate: oneShotDelegate, delegateQueue: nil)
        // Lets the task end as it will (cancelling it here could cut across a redirect callback), then frees the
        // session and its connection.
        defer { oneShot.finishTasksAndInvalidate() }
        var once = request
        once.headers.removeAll { $0.name.lowercased() == "connection" }
        once.headers.append(("Connection", "close"))
        return try await send(once, on: oneShot, delegate: oneShotDelegate)
    }

    private func send(_ request: HTTPRequest, on session: URLSession, delegate: SessionDelegate) async throws
        -> HTTPResponse
    {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        let seconds = Self.seconds(request.deadline)
        // URLSession's own timeout is an idle timer: it ends a stalled answer, never a trickling one.
        urlRequest.timeoutInterval = max(1, min(seconds, request.idleTimeout.map(Self.seconds) ?? seconds))
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        let task = session.dataTask(with: urlRequest)
        let exchange = Exchange(
            task: task, limit: request.maxResponseBytes, redirects: request.mayBeSentTwice ? request.redirects : .none)
        // Unregistered when the task completes, not when this returns: a callback may still come for it.
        delegate.register(exchange, for: task.taskIdentifier)

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.start(continuation: continuation)
                // The deadline covers the whole exchange; URLSession's own timeout only notices idle connections.
                let timer = DispatchSource.makeTimerSource(queue: .global())
                timer.schedule(deadline: .now() + seconds)
                timer.setEventHandler {
                    exchange.finish(.failure(TransportFailure.deadlineExceeded))
                    exchange.cancelTask()
                }
                exchange.timer = timer
                timer.resume()
                task.resume()
            }
        } onCancel: {
            exchange.finish(.failure(CancellationError()))
            exchange.cancelTask()
        }
    }
}

/// The state of one request in flight, fed by the session delegate.
private final class Exchange: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    let redirects: RedirectPolicy
    private let task: URLSessionTask
    private var continuation: CheckedContinuation<HTTPResponse, any Error>?
    private var pending: Result<HTTPResponse, any Error>?
    private var finished = false
    private var data = Data()
    private var response: HTTPURLResponse?
    var timer: (any DispatchSourceTimer)?
    /// Orders cancelling the task against answering its redirect callback (see `cancelTask`).
    private let taskLock = NSLock()
    private var cancelled = false

    init(task: URLSessionTask, limit: Int, redirects: RedirectPolicy) {
        self.task = task
        self.limit = limit
        self.redirects = redirects
    }

    /// Cancels the task once, never while its redirect callback is being answered.
    ///
    /// FoundationNetworking traps ("Received callback for HTTP redirection, but we're not waiting for it") when the
    /// answer to a redirect callback reaches a task that a cancel has already stopped; its `cancel()` and the
    /// answer are both queued on the task's work queue, and the cancel must not go first. So every cancel of ours
    /// and every answer to a redirect callback happen under one lock, and a callback that comes after a cancel
    /// (a sibling download's failure cancelling this one while its redirect was pending) is left unanswered: the
    /// cancelled task has already ended, and answering it is what traps.
    func cancelTask() {
        taskLock.withLock {
            guard !cancelled else { return }
            cancelled = true
            task.cancel()
        }
    }

    /// Answers a redirect callback with `request` (nil: do not follow), unless the task was cancelled first (by
    /// us or by the session), which ended it already.
    func answerRedirect(_ request: URLRequest?, _ completionHandler: (URLRequest?) -> Void) {
        taskLock.withLock {
            guard !cancelled, task.state == .running else { return }
            completionHandler(request)
        }
    }

    func start(continuation: CheckedContinuation<HTTPResponse, any Error>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    /// Returns false when the body went over the limit; the exchange has then failed and the caller cancels the task.
    func receive(_ chunk: Data) -> Bool {
        let withinLimit: Bool = lock.withLock {
            guard !finished else { return true }
            data.append(chunk)
            return data.count <= limit
        }
        if !withinLimit { finish(.failure(TransportFailure.responseTooLarge(limit: limit))) }
        return withinLimit
    }

    func receive(response: URLResponse) {
        lock.withLock { self.response = response as? HTTPURLResponse }
    }

    func complete(error: (any Error)?) {
        if let error {
            finish(.failure(Exchange.classify(error)))
            return
        }
        let (httpResponse, body) = lock.withLock { (response, data) }
        guard let httpResponse else {
            finish(.failure(TransportFailure.connection("no HTTP response", requestMayHaveBeenSent: true)))
            return
        }
        var headers: [String: String] = [:]
        for (key, value) in httpResponse.allHeaderFields {
            headers[String(describing: key).lowercased()] = String(describing: value)
        }
        // Content-Length counts the bytes on the wire; with a Content-Encoding (gzip, which libcurl asks for and
        // decodes) the body here is decoded and longer or shorter. libcurl itself reports a transfer cut short.
        let encoding = headers["content-encoding"]?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        let decoded = !encoding.isEmpty && encoding != "identity"
        if !decoded, let lengthText = headers["content-length"], let expected = Int(lengthText),
            expected != body.count, httpResponse.statusCode != 304
        {
            finish(.failure(TransportFailure.truncated(expected: expected, received: body.count)))
            return
        }
        finish(.success(HTTPResponse(status: httpResponse.statusCode, headers: headers, body: body)))
    }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        lock.lock()
        guard !finished else {
            lock.unlock()
            return
        }
        finished = true
        timer?.cancel()
        timer = nil
        if let continuation {
            self.continuation = nil
            lock.unlock()
            continuation.resume(with: result)
        } else {
            pending = result
            lock.unlock()
        }
    }

    private static func classify(_ error: any Error) -> any Error {
        let nsError = error as NSError
        guard nsError.domain == NSURLErrorDomain else {
            return TransportFailure.connection(String(describing: error), requestMayHaveBeenSent: true)
        }
        // Only failures before a connection exists prove the request never left. Not "unsupported URL" or "bad
        // URL": cartflow checks its URLs before sending, and FoundationNetworking reports an answer that is not
        // HTTP at all ("Received HTTP/0.9", an unknown version) with those codes, after the request was sent.
        let neverSent: Set<Int> = [NSURLErrorCannotConnectToHost, NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed]
        if nsError.code == NSURLErrorTimedOut { return TransportFailure.deadlineExceeded }
        let text = nsError.userInfo[NSLocalizedDescriptionKey] as? String ?? "URL error \(nsError.code)"
        return TransportFailure.connection(text, requestMayHaveBeenSent: !neverSent.contains(nsError.code))
    }
}

/// Routes URLSession's delegate calls to the exchange of each task.
private final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]

    func register(_ exchange: Exchange, for id: Int) { lock.withLock { exchanges[id] = exchange } }
    func unregister(_ id: Int) { _ = lock.withLock { exchanges.removeValue(forKey: id) } }
    private func exchange(_ task: URLSessionTask) -> Exchange? { lock.withLock { exchanges[task.taskIdentifier] } }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        exchange(dataTask)?.receive(response: response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(dataTask) else { return }
        if !exchange.receive(data) { exchange.cancelTask() }
    }

    /// A 401 with `WWW-Authenticate: Basic` asks for credentials; without this answer FoundationNetworking waits for
    /// one until the deadline. cartflow has none to give: the 401 itself is the answer (an authentication error).
    func urlSession(
        _ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
        completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void
    ) {
        if let response = challenge.failureResponse as? HTTPURLResponse, let exchange = exchange(task) {
            // The challenge's own answer (a 401 or 407) is what the caller gets; the task ends without its body.
            exchange.finish(.success(HTTPResponse(status: response.statusCode, body: Data())))
        }
        completionHandler(.cancelAuthenticationChallenge, nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        exchange(task)?.complete(error: error)
        unregister(task.taskIdentifier)
    }

    /// Follows a redirect to the same scheme, host and port, or (when the request's policy allows it) to a listed
    /// host with the sensitive headers removed; never one that turns the request into another method. A refused
    /// redirect fails the exchange and is answered "do not follow", which ends the task with the redirect as its
    /// answer; the task is not cancelled on top of that (see `Exchange.cancelTask`).
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        // Every task is registered until it completes, and a completed task gets no callbacks.
        guard let exchange = exchange(task) else { return }
        let from = task.originalRequest?.url
        let to = request.url
        if let from, let to, request.httpMethod == task.originalRequest?.httpMethod, exchange.redirects != .none {
            if Origin(from) == Origin(to) {
                exchange.answerRedirect(request, completionHandler)
                return
            }
            if case .allowedHosts(let hosts, let removing) = exchange.redirects, Origin(to).isListed(in: hosts),
                Origin(to).scheme == "https" || Origin(to).scheme == Origin(from).scheme
            {
                var onward = request
                for name in removing { onward.setValue(nil, forHTTPHeaderField: name) }
                exchange.answerRedirect(onward, completionHandler)
                return
            }
        }
        exchange.answerRedirect(nil, completionHandler)
        exchange.finish(
            .failure(
                TransportFailure.crossOriginRedirect(
                    status: response.statusCode, location: to.map { Origin($0).description } ?? "?")))
    }
}

/// Scheme, host and port of a URL, with default ports filled in: what "the same host" means for the key.
public struct Origin: Equatable, Sendable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int

    public init(_ url: URL) {
        scheme = (url.scheme ?? "").lowercased()
        host = (url.host ?? "").lowercased()
        port = url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
    }

    public var description: String { "\(scheme)://\(host):\(port)" }

    /// Whether `hosts` (lower-case `host` or `host:port` entries, as in `api.allow_download_hosts`) names this origin.
    public func isListed(in hosts: [String]) -> Bool {
        hosts.contains(host) || hosts.contains("\(host):\(port)")
    }
}
