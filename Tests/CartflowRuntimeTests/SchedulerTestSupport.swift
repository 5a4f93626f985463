import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation

/// A wall clock the test sets by hand; the scheduler reads slots from it.
final class VirtualWallClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }
    init(_ text: String) { current = utc(text) }

    var now: Date { lock.withLock { current } }
    func set(_ date: Date) { lock.withLock { current = date } }
    func set(_ text: String) { set(utc(text)) }
}

func utc(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

func utcText(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}

/// Every `fire` call: which workflow, which slot.
final class FireLog: @unchecked Sendable {
    private let lock = NSLock()
    private var fired: [(workflow: String, slot: Date)] = []
    func append(_ workflow: String, _ slot: Date) { lock.withLock { fired.append((workflow, slot)) } }
    var slots: [String] { lock.withLock { fired.map { utcText($0.slot) } } }
    var count: Int { lock.withLock { fired.count } }
}

/// A one-shot event a task can wait for; no wall-clock waiting.
final class Event: @unchecked Sendable {
    private let lock = NSLock()
    private var happened = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func fire() {
        let waiting: [CheckedContinuation<Void, Never>] = lock.withLock {
            happened = true
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiting { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if happened { return true }
                waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// Waits until the task is cancelled, then throws `CancellationError`: a run stuck in a long wait.
func parkUntilCancelled(entered: Event) async throws {
    let box = ParkBox()
    await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            box.park(continuation)
            entered.fire()
        }
    } onCancel: {
        box.release()
    }
    throw CancellationError()
}

final class ParkBox: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var released = false

    func park(_ continuation: CheckedContinuation<Void, Never>) {
        let resumeNow: Bool = lock.withLock {
            if released { return true }
            self.continuation = continuation
            return false
        }
        if resumeNow { continuation.resume() }
    }

    func release() {
        let waiting: CheckedContinuation<Void, Never>? = lock.withLock {
            released = true
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume()
    }
}

/// A runtime clock whose waits park until the task is cancelled: the executor stops at its poll.
func parkingClock(entered: Event) -> ParkingClock {
    ParkingClock { try await parkUntilCancelled(entered: entered) }
}

/// Lets a test hand the scheduler to closures created before it.
final class SchedulerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var scheduler: Scheduler?
    var value: Scheduler? {
        get { lock.withLock { scheduler } }
        set { lock.withLock { scheduler = newValue } }
    }
}

struct StopDaemon: Error {}

func scheduled(_ schedule: Schedule, name: String = "wf", baseURL: String = "http://127.0.0.1:9") -> Workflow {
    Workflow(
        name: name, sourcePath: "\(name).yaml", api: APIConfig(baseURL: baseURL),
        collections: [CollectionSpec(name: "laptops", id: 101, items: 250)], schedule: schedule)
}

/// Hands a non-Sendable test fixture (the executor harness, used from one test at a time) to Sendable closures.
final class Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
