import CartflowRuntime
import Foundation

/// A clock for tests: sleeping advances virtual time at once, so waits of minutes take no wall time.
public final class TestClock: RuntimeClock, @unchecked Sendable {
    private let lock = NSLock()
    private var elapsed: Duration = .zero
    /// Every sleep requested, in order (to assert backoff and intervals).
    public private(set) var sleeps: [Duration] = []

    public init() {}

    public func now() -> Duration { lock.withLock { elapsed } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        lock.withLock {
            elapsed += duration
            sleeps.append(duration)
        }
        await Task.yield()
    }

    /// Moves time forward without a sleep.
    public func advance(by duration: Duration) { lock.withLock { elapsed += duration } }

    public var recordedSleeps: [Duration] { lock.withLock { sleeps } }
}
