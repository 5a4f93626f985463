import Foundation
import MultiCart

/// A scripted HTTP transport: answers requests from a queue of responses and records every request.
public final class MockTransport: HTTPTransport, @unchecked Sendable {
    public enum Reply: Sendable {
        case response(HTTPResponse)
        case failure(TransportFailure)
    }

    private let lock = NSLock()
    private var replies: [Reply]
    private var recorded: [HTTPRequest] = []

    public init(_ replies: [Reply]) { self.replies = replies }

    /// An HTTP 200 answer with a JSON text body.
    public static func json(_ text: String, status: Int = 200, headers: [String: String] = [:]) -> Reply {
        .response(HTTPResponse(status: status, headers: headers, body: Data(text.utf8)))
    }

    public var requests: [HTTPRequest] { lock.withLock { recorded } }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let reply: Reply? = lock.withLock {
            recorded.append(request)
            return replies.isEmpty ? nil : replies.removeFirst()
        }
        switch reply {
        case .response(let response): return response
        case .failure(let failure): throw failure
        case nil: throw TransportFailure.connection("mock transport has no more replies", requestMayHaveBeenSent: false)
        }
    }
}

/// A transport that hands every request to a closure: to wrap a real transport (change one answer, or act at the
/// moment a request goes out) or to answer from the request itself (its deadline, its path).
public struct ClosureTransport: HTTPTransport {
    private let handler: @Sendable (HTTPRequest) async throws -> HTTPResponse

    public init(_ handler: @escaping @Sendable (HTTPRequest) async throws -> HTTPResponse) { self.handler = handler }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse { try await handler(request) }
}
