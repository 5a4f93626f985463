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

/// A clock whose every wait runs `park` instead (e.g. park until the task is cancelled), so a test can hold a
/// run at its first wait and interrupt it there. Time stands still.
public struct ParkingClock: RuntimeClock {
    private let park: @Sendable () async throws -> Void

    public init(park: @escaping @Sendable () async throws -> Void) { self.park = park }

    public func now() -> Duration { .zero }
    public func sleep(for duration: Duration) async throws { try await park() }
}
