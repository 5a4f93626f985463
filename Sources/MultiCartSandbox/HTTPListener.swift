internal import CMicroHTTPD
import Foundation
import Synchronization

/// One HTTP request as the sandbox sees it: the path is already percent-decoded by libmicrohttpd.
struct HTTPRequest: Sendable {
    var method: String
    var path: String
    var apiKey: String?
    /// The `Accept-Encoding` header as sent, if any.
    var acceptEncoding: String? = nil
    var body: Data
    var bodyTooLarge: Bool
}

/// How a response body goes out: whole, cut short after `sendBytes` (Content-Length still says the full size),
/// or trickled a few bytes at a time.
enum HTTPBody: Sendable {
    case bytes(Data)
    case truncated(Data, sendBytes: Int)
    case trickled(Data, chunk: Int, interval: Duration)
}

struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: HTTPBody
    /// Waited after the answer is decided and logged, before it is sent (the trigger delay fault).
    var delayBeforeSending: Duration = .zero
    /// Close the connection instead of sending the answer (the drop fault).
    var dropConnection = false
}

/// Waits that end early when the server stops, so stopping never hangs on a deliberately slow response.
final class Sleeper: Sendable {
    private let stopped = Mutex(false)
    private let condition = NSCondition()

    /// Waits `duration`; returns false if the server stopped meanwhile.
    func sleep(for duration: Duration) -> Bool {
        guard duration > .zero else { return !isStopped }
        let components = duration.components
        let seconds = Double(components.seconds) + Double(components.attoseconds) / 1e18
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !isStopped {
            if !condition.wait(until: deadline) { break }
        }
        return !isStopped
    }

    var isStopped: Bool { stopped.withLock { $0 } }

    func stop() {
        stopped.withLock { $0 = true }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}

/// A libmicrohttpd daemon on 127.0.0.1, one thread per connection, calling `handler` once per complete request.
/// It owns the daemon handle and stops it in `stop()` or `deinit`. Unchecked Sendable: the handle is only touched
/// under `lock`, everything else is immutable after `init`.
final class HTTPListener: @unchecked Sendable {
    typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    let handler: Handler
    let sleeper: Sleeper
    /// The port actually bound (differs from the one asked for when that was 0).
    private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var daemon: OpaquePointer?

    init(port: UInt16, sleeper: Sleeper, handler: @escaping Handler) throws {
        self.handler = handler
        self.sleeper = sleeper
        // The daemon's context pointer is this object, unretained: `stop()` (at the latest in deinit) ends the
        // daemon and joins its threads before `self` can go away.
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let started = cf_mhd_start_loopback(port, accessHandler, context, completedHandler, nil) else {
            throw SandboxConfigurationError(
                port == 0
                    ? "could not start an HTTP listener on 127.0.0.1"
                    : "could not listen on 127.0.0.1:\(port) (in use?)")
        }
        daemon = started
        self.port = cf_mhd_bound_port(started)
    }

    func stop() {
        let running = lock.withLock {
            let old = daemon
            daemon = nil
            return old
        }
        if let running { MHD_stop_daemon(running) }
    }

    deinit { stop() }
}

/// Body accumulated across libmicrohttpd's upload callbacks for one request.
private final class RequestContext {
    var body = Data()
    var tooLarge = false
    static let maxBody = 1 << 20
}

/// What the content-reader callback streams for truncated and trickled bodies.
private final class StreamContext {
    let data: Data
    let limit: Int
    let chunk: Int
    let interval: Duration
    let sleeper: Sleeper

    init(data: Data, limit: Int, chunk: Int, interval: Duration, sleeper: Sleeper) {
        self.data = data
        self.limit = limit
        self.chunk = chunk
        self.interval = interval
        self.sleeper = sleeper
    }
}

private let accessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, _, uploadData, uploadDataSize, connectionContext in
    guard let cls, let connection, let connectionContext, let uploadDataSize else { return .NO }
    let listener = Unmanaged<HTTPListener>.fromOpaque(cls).takeUnretainedValue()
    guard let existing = connectionContext.pointee else {
        connectionContext.pointee = Unmanaged.passRetained(RequestContext()).toOpaque()
        return .YES
    }
    let context = Unmanaged<RequestContext>.fromOpaque(existing).takeUnretainedValue()
    if uploadDataSize.pointee > 0 {
        if let uploadData, !context.tooLarge {
            if context.body.count + uploadDataSize.pointee > RequestContext.maxBody {
                context.tooLarge = true
            } else {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: uploadDataSize.pointee) {
                    context.body.append($0, count: uploadDataSize.pointee)
                }
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }
    let request = HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET",
        path: url.map { String(cString: $0) } ?? "/",
        apiKey: MHD_lookup_connection_value(connection, .HEADER_KIND, "x-api-key").map { String(cString: $0) },
        acceptEncoding: MHD_lookup_connection_value(connection, .HEADER_KIND, "accept-encoding").map {
            String(cString: $0)
        },
        body: context.body, bodyTooLarge: context.tooLarge)
    let answer = listener.handler(request)
    if answer.delayBeforeSending > .zero, !listener.sleeper.sleep(for: answer.delayBeforeSending) {
        return .NO
    }
    // Refusing the request makes libmicrohttpd close the connection without sending anything.
    if answer.dropConnection { return .NO }
    let response: OpaquePointer?
    switch answer.body {
    case let .bytes(data):
        response = data.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(
                raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
        }
    case let .truncated(data, sendBytes):
        response = streamingResponse(
            StreamContext(
                data: data, limit: min(sendBytes, data.count), chunk: 16 * 1024, interval: .zero,
                sleeper: listener.sleeper))
    case let .trickled(data, chunk, interval):
        response = streamingResponse(
            StreamContext(
                data: data, limit: data.count, chunk: max(1, chunk), interval: interval, sleeper: listener.sleeper))
    }
    guard let response else { return .NO }
    defer { MHD_destroy_response(response) }
    for (name, value) in answer.headers { MHD_add_response_header(response, name, value) }
    return MHD_queue_response(connection, UInt32(answer.status), response)
}

private func streamingResponse(_ context: StreamContext) -> OpaquePointer? {
    let opaque = Unmanaged.passRetained(context).toOpaque()
    return MHD_create_response_from_callback(
        UInt64(context.data.count), context.chunk,
        { cls, position, buffer, max in
            guard let cls, let buffer else { return cf_mhd_reader_end_with_error() }
            let stream = Unmanaged<StreamContext>.fromOpaque(cls).takeUnretainedValue()
            let position = Int(position)
            if position >= stream.limit {
                // Cut short on purpose: ending with an error makes libmicrohttpd close the connection mid-body.
                return stream.limit < stream.data.count ? cf_mhd_reader_end_with_error() : cf_mhd_reader_end_of_stream()
            }
            if stream.interval > .zero, position > 0, !stream.sleeper.sleep(for: stream.interval) {
                return cf_mhd_reader_end_with_error()
            }
            let count = Swift.min(max, stream.chunk, stream.limit - position)
            stream.data.withUnsafeBytes { raw in
                buffer.withMemoryRebound(to: UInt8.self, capacity: count) { target in
                    raw.copyBytes(
                        to: UnsafeMutableBufferPointer(start: target, count: count), from: position..<(position + count)
                    )
                }
            }
            return count
        }, opaque,
        { cls in
            if let cls { Unmanaged<StreamContext>.fromOpaque(cls).release() }
        })
}

private let completedHandler: MHD_RequestCompletedCallback = { _, _, connectionContext, _ in
    guard let connectionContext, let existing = connectionContext.pointee else { return }
    Unmanaged<RequestContext>.fromOpaque(existing).release()
    connectionContext.pointee = nil
}
