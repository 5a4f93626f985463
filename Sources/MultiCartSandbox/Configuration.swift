import Foundation

/// A collection the sandbox knows: its id, its name (used verbatim in file names) and its item count.
public struct SandboxCollection: Sendable, Equatable {
    public var id: Int
    public var name: String
    public var items: Int

    public init(id: Int, name: String, items: Int) {
        self.id = id
        self.name = name
        self.items = items
    }

    /// Parses the command-line form `ID:NAME:ITEMS`, e.g. `101:AU Laptops:250` (the name may contain colons).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, let id = Int(parts[0]), id > 0, let items = Int(parts[parts.count - 1]),
            (0...5_000_000).contains(items)
        else {
            throw SandboxConfigurationError(
                "a collection is written ID:NAME:ITEMS, e.g. '101:AU Laptops:250', got '\(text)'")
        }
        let name = parts[1..<(parts.count - 1)].joined(separator: ":")
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SandboxConfigurationError("the collection name in '\(text)' is empty")
        }
        self.init(id: id, name: name, items: items)
    }
}

/// When a triggered runner finishes generating its files.
public enum RunnerCompletion: Sendable, Equatable {
    /// Once this much time has elapsed since the trigger (checked whenever a request looks at the runner).
    case after(Duration)
    /// Once the runner has appeared in N run-history answers (deterministic, for tests).
    case afterHistoryReads(Int)
    /// Never: the runner stays "processing".
    case never
}

/// Names of the sandbox's endpoints, used in the request log and to aim faults.
public enum SandboxEndpoint: String, Sendable, CaseIterable, Codable, Hashable {
    case credits
    case trigger
    case history
    case asinList = "asin-list"
    case file
    case unknown

    /// The JSON (enveloped) endpoints.
    public static let json: Set<SandboxEndpoint> = [.credits, .trigger, .history, .asinList]
    /// The read-only JSON endpoints (everything but the paid trigger).
    public static let readOnlyJSON: Set<SandboxEndpoint> = [.credits, .history, .asinList]
}

/// When one fault fires: the first `first` matching requests always, later ones with `probability`, drawn from the
/// sandbox seed and the fault's own request counter (so a sequential client sees the same faults every time).
public struct FaultRule: Sendable, Equatable {
    public var probability: Double
    public var first: Int
    /// Which endpoints the fault applies to; nil means the fault's natural endpoints (see docs/sandbox.md).
    public var endpoints: Set<SandboxEndpoint>?

    public init(probability: Double = 0, first: Int = 0, endpoints: Set<SandboxEndpoint>? = nil) {
        self.probability = probability
        self.first = first
        self.endpoints = endpoints
    }

    /// Never fires.
    public static let off = FaultRule()
    /// Fires on every matching request.
    public static let always = FaultRule(probability: 1)

    public var isOff: Bool { probability <= 0 && first <= 0 }
}

/// Faults the sandbox injects on request, all deterministic from `SandboxConfiguration.seed`.
public struct SandboxFaults: Sendable, Equatable {
    /// Real HTTP 5xx answers (default endpoints: all). On the trigger the runner is queued first, then the answer
    /// is lost, unless `httpErrorBeforeQueue` says otherwise.
    public var httpError = FaultRule.off
    public var httpErrorStatus = 503
    public var httpErrorBeforeQueue = false
    /// HTTP 429 with `Retry-After: retryAfterSeconds` (default endpoints: all); nothing is queued.
    public var rateLimit = FaultRule.off
    public var retryAfterSeconds = 1
    /// HTTP 200 with `{"code":500,...,"status":0}` (default endpoints: the JSON ones); nothing is queued.
    public var envelopeError = FaultRule.off
    /// Added to every request on `latencyEndpoints` before it is answered.
    public var latency: Duration = .zero
    public var latencyEndpoints: Set<SandboxEndpoint> = Set(SandboxEndpoint.allCases)
    /// File downloads whose Content-Length is the full size but whose connection closes after `truncateFraction`
    /// of the bytes.
    public var truncate = FaultRule.off
    public var truncateFraction = 0.5
    /// File downloads sent `trickleBytes` at a time with `trickleInterval` between chunks.
    public var trickle = FaultRule.off
    public var trickleBytes = 64
    public var trickleInterval: Duration = .milliseconds(100)
    /// Triggered runners that never finish, whatever `completion` says (default endpoint: trigger).
    public var neverFinish = FaultRule.off
    /// After a trigger, "someone else" starts another runner of the same collection (it gets the next id).
    public var rivalRunner = FaultRule.off
    /// Download links point at a second listener, `http://localhost:<other port>`, instead of the API origin.
    public var foreignLinks = false
    /// API calls answered with a redirect (`redirectStatus`, 302 or 307) to the same path on the second listener;
    /// with `file` among its endpoints, downloads too (the second listener serves the file).
    public var redirect = FaultRule.off
    public var redirectStatus = 302
    /// Answers compressed with gzip (`Content-Encoding: gzip`, `Content-Length` of the compressed bytes) when the
    /// request accepts gzip (default endpoints: all); truncated and trickled downloads are compressed first.
    public var gzip = FaultRule.off
    /// The trigger creates its runner on receipt, then waits this long before answering.
    public var triggerDelay: Duration = .zero
    /// The request is handled as usual (a trigger queues its runner) and then the connection is closed without a
    /// byte of the answer (default endpoint: trigger): what a client whose HTTP stack replays a request on a new
    /// connection turns into a second paid run.
    public var dropConnection = FaultRule.off
    /// Every runner's ZIP gets one more, hostile entry after its page files (a client must refuse the whole
    /// archive before writing anything).
    public var hostileZipEntry: HostileZipEntry?

    public init() {}

    /// No faults at all.
    public static let none = SandboxFaults()

    /// Whether any fault needs the second listener.
    var needsSecondListener: Bool { foreignLinks || !redirect.isOff }
}

/// A hostile ZIP entry the sandbox can append to its archives.
public enum HostileZipEntry: String, Sendable, Equatable, CaseIterable {
    /// `../../escaped.json`
    case traversal
    /// `/tmp/cartflow-escaped.json`
    case absolute
    /// `link.json`, a symlink to `/etc/passwd`
    case symlink
}

/// Everything the sandbox needs to start: the account, its collections, runner timing, records and faults.
public struct SandboxConfiguration: Sendable {
    /// The one key accepted in `x-api-key`; it never appears in logs or output.
    public var apiKey: String
    public var availableCredits: Int
    public var usedCredits: Int
    public var frozenCredits: Int
    public var collections: [SandboxCollection]
    public var completion: RunnerCompletion
    /// Records per page file.
    public var pageSize: Int
    /// Drives every record and every fault decision.
    public var seed: UInt64
    /// When set, every request record is appended to this file as one JSON line, flushed at once.
    public var logPath: String?
    public var faults: SandboxFaults
    /// Finished runners each collection already has before start, so "the newest runner before a trigger" is real.
    public var existingRunners: Int

    public init(
        apiKey: String = "sandbox-key", availableCredits: Int = 10_000, usedCredits: Int = 0, frozenCredits: Int = 0,
        collections: [SandboxCollection] = [SandboxCollection(id: 101, name: "AU Laptops", items: 250)],
        completion: RunnerCompletion = .after(.seconds(2)), pageSize: Int = 100, seed: UInt64 = 42,
        logPath: String? = nil, faults: SandboxFaults = .none, existingRunners: Int = 1
    ) {
        self.apiKey = apiKey
        self.availableCredits = availableCredits
        self.usedCredits = usedCredits
        self.frozenCredits = frozenCredits
        self.collections = collections
        self.completion = completion
        self.pageSize = pageSize
        self.seed = seed
        self.logPath = logPath
        self.faults = faults
        self.existingRunners = existingRunners
    }
}

/// A configuration the sandbox cannot run with (bad flag value, duplicate collection id, ...).
public struct SandboxConfigurationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
