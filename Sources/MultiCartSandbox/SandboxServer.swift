import Foundation
import Synchronization

/// One runner as a test sees it in a snapshot.
public struct SandboxRunner: Sendable, Equatable {
    public var id: Int
    public var collection: Int
    public var items: Int
    public var isDownloadGenerated: Bool
    /// How many run-history answers have listed it.
    public var historyReads: Int
    public var neverFinishes: Bool
    /// Started by `startRunner(collection:)` or the rival-runner fault, not by a trigger request.
    public var bySomeoneElse: Bool
}

/// The sandbox's account at one moment: credits and runners.
public struct SandboxSnapshot: Sendable, Equatable {
    public var availableCredits: Int
    public var usedCredits: Int
    public var frozenCredits: Int
    /// Runners per collection id, newest first.
    public var runners: [Int: [SandboxRunner]]

    /// `available − (used + frozen)`, the figure the credit gate compares with a collection's items.
    public var spendableCredits: Int { availableCredits - (usedCredits + frozenCredits) }
}

/// The MultiCart API emulator served over HTTP on 127.0.0.1 (libmicrohttpd). Tests and `cartflow sandbox` start
/// it, point a client at `baseURL`, and read back the request log and the account snapshot.
public final class SandboxServer: Sendable {
    public let configuration: SandboxConfiguration
    private let sleeper = Sleeper()
    private let engine: Mutex<SandboxEngine?>
    private let listeners: Mutex<[HTTPListener]>
    private let urls: Mutex<(api: URL?, other: URL?)>

    public init(configuration: SandboxConfiguration) {
        self.configuration = configuration
        self.engine = Mutex(nil)
        self.listeners = Mutex([])
        self.urls = Mutex((nil, nil))
    }

    deinit { stop() }

    /// Starts listening on 127.0.0.1:`port` (0 = any free port) and returns the base URL,
    /// `http://127.0.0.1:PORT/api/v1`. Throws on a bad configuration or a port in use.
    @discardableResult
    public func start(port: UInt16 = 0) throws -> URL {
        if let url = baseURL { return url }
        let engine = try SandboxEngine(configuration: configuration, sleeper: sleeper)
        let api = try HTTPListener(port: port, sleeper: sleeper) { engine.handle($0, role: .api) }
        var started = [api]
        var otherBase = ""
        if configuration.faults.needsSecondListener {
            do {
                let other = try HTTPListener(port: 0, sleeper: sleeper) { engine.handle($0, role: .other) }
                started.append(other)
                // Another host name and another port: a different origin by every rule a client might apply.
                otherBase = "http://localhost:\(other.port)/api/v1"
            } catch {
                api.stop()
                throw error
            }
        }
        let apiBase = "http://127.0.0.1:\(api.port)/api/v1"
        engine.setBases(api: apiBase, other: otherBase)
        self.engine.withLock { $0 = engine }
        listeners.withLock { $0 = started }
        let url = URL(string: apiBase)!
        urls.withLock { $0 = (url, otherBase.isEmpty ? nil : URL(string: otherBase)) }
        return url
    }

    /// `http://127.0.0.1:PORT/api/v1` once started, nil before.
    public var baseURL: URL? { urls.withLock { $0.api } }

    /// The second listener's base (`http://localhost:OTHER/api/v1`), present only when a fault needs it
    /// (foreign download links or redirects).
    public var otherBaseURL: URL? { urls.withLock { $0.other } }

    /// Stops both listeners; deliberately slow answers in flight end at once.
    public func stop() {
        sleeper.stop()
        let running = listeners.withLock { value in
            let old = value
            value = []
            return old
        }
        for listener in running { listener.stop() }
    }

    /// A copy of every request answered so far, in the order the answers were decided.
    public func requestLog() -> [SandboxRequestRecord] {
        engine.withLock { $0 }?.state.withLock { $0.log } ?? []
    }

    /// Calls `observer` with each request record right after it is logged (before a delayed or trickled answer
    /// goes out), on the server's thread. For tests that must act at the moment something happens.
    /// Has no effect before `start`.
    public func observe(_ observer: @escaping @Sendable (SandboxRequestRecord) -> Void) {
        engine.withLock { $0 }?.observers.withLock { $0.append(observer) }
    }

    /// Credits and runners now (time-based runners that are due are finished first).
    public func snapshot() -> SandboxSnapshot {
        guard let engine = engine.withLock({ $0 }) else {
            return SandboxSnapshot(
                availableCredits: configuration.availableCredits, usedCredits: configuration.usedCredits,
                frozenCredits: configuration.frozenCredits, runners: [:])
        }
        return engine.state.withLock { state in
            engine.settleAll(&state)
            var runners: [Int: [SandboxRunner]] = [:]
            for (collection, ids) in state.runnerIDs {
                runners[collection] = ids.reversed().compactMap { id in
                    state.runners[id].map {
                        SandboxRunner(
                            id: $0.id, collection: $0.collection, items: $0.items, isDownloadGenerated: $0.generated,
                            historyReads: $0.historyReads, neverFinishes: $0.neverFinishes,
                            bySomeoneElse: $0.bySomeoneElse)
                    }
                }
            }
            return SandboxSnapshot(
                availableCredits: state.available, usedCredits: state.used, frozenCredits: state.frozen,
                runners: runners)
        }
    }

    /// "Someone else" (a schedule, a colleague) starts a run of `collection`: it passes the credit gate but not the
    /// processing check. Returns the new runner id, or nil (not started, unknown or empty collection, not enough credits).
    @discardableResult
    public func startRunner(collection: Int) -> Int? {
        engine.withLock { $0 }?.startRunner(collection: collection)
    }

    /// Lets a runner finish now, even one started with the never-finish fault (for resume tests).
    @discardableResult
    public func finishRunner(_ id: Int) -> Bool {
        engine.withLock { $0 }?.finishRunner(id) ?? false
    }

    /// The exact bytes of a runner's page file (1-based) or, with `page: nil`, its ZIP; nil if not generated.
    /// For tests that compare downloads with what the sandbox meant to serve.
    public func expectedFile(collection: Int, runner: Int, page: Int?) -> Data? {
        guard let engine = engine.withLock({ $0 }),
            let info = configuration.collections.first(where: { $0.id == collection })
        else { return nil }
        guard let state = engine.state.withLock({ $0.runners[runner] }), state.generated, state.collection == collection
        else { return nil }
        if let page {
            let pages = (state.items + configuration.pageSize - 1) / configuration.pageSize
            guard (1...max(1, pages)).contains(page) else { return nil }
            return engine.generator.page(
                collection: collection, runner: runner, page: page, items: state.items, pageSize: configuration.pageSize
            )
        }
        return engine.zip(collection: info, runner: state)
    }
}
