/// Monotonic time and waiting for the runtime, injected so tests never wait on the wall clock.
public protocol RuntimeClock: Sendable {
    /// Time elapsed on a monotonic clock since an arbitrary origin.
    func now() -> Duration
    func sleep(for duration: Duration) async throws
}

/// The real monotonic clock.
public struct SystemClock: RuntimeClock {
    private let origin = ContinuousClock.now
    public init() {}
    public func now() -> Duration { ContinuousClock.now - origin }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
