import Foundation
import MultiCart

/// Virtual monotonic time for a client's budgets: moves only when a test (or a `TimedTransport`) moves it.
public final class VirtualTime: @unchecked Sendable {
    private let lock = NSLock()
    private var elapsed: Duration = .zero

    public init() {}

    public func now() -> Duration { lock.withLock { elapsed } }
    public func advance(by duration: Duration) { lock.withLock { elapsed += duration } }
}

/// A scripted transport whose every exchange takes `cost` of virtual time: a slow server without a slow test.
public final class TimedTransport: HTTPTransport, @unchecked Sendable {
    private let time: VirtualTime
    private let cost: Duration
    private let script: MockTransport

    public init(_ replies: [MockTransport.Reply], cost: Duration, time: VirtualTime) {
        self.time = time
        self.cost = cost
        self.script = MockTransport(replies)
    }

    public var requests: [HTTPRequest] { script.requests }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        time.advance(by: min(cost, request.deadline))
        if cost > request.deadline {
            _ = try? await script.send(request)
            throw TransportFailure.deadlineExceeded
        }
        return try await script.send(request)
    }
}
