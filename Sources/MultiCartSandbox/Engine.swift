import CartflowArchive
import Foundation
import Synchronization

/// Which listener a request came in on.
enum ListenerRole: String, Sendable {
    case api
    case other
}

/// One runner (one execution of a collection) as the sandbox tracks it.
struct RunnerState: Sendable {
    let id: Int
    let collection: Int
    let items: Int
    let createdAt: Date
    var updatedAt: Date
    /// When the trigger arrived; nil for runners that existed before start.
    let startedAt: ContinuousClock.Instant?
    var generated: Bool
    var historyReads = 0
    var neverFinishes: Bool
    var bySomeoneElse: Bool
    var successCount: Int?
}

/// The mutable account: credits, runners, fault counters and the request log.
struct SandboxState: Sendable {
    var available: Int
    var used: Int
    var frozen: Int
    var runners: [Int: RunnerState] = [:]
    /// Runner ids per collection, oldest first.
    var runnerIDs: [Int: [Int]] = [:]
    var nextRunnerID = 901
    var faultCounters: [String: Int] = [:]
    var log: [SandboxRequestRecord] = []
    var zips: [Int: Data] = [:]
    var apiBase = ""
    var otherBase = ""

    var spendable: Int { available - (used + frozen) }
}

/// The sandbox's behaviour, independent of HTTP plumbing: takes a request, decides the answer, logs it.
final class SandboxEngine: Sendable {
    let configuration: SandboxConfiguration
    let generator: RecordGenerator
    let state: Mutex<SandboxState>
    let logFile: RequestLogFile?
    let sleeper: Sleeper
    /// Called after each request is logged, outside the lock (tests wait on these instead of on the clock).
    let observers = Mutex<[@Sendable (SandboxRequestRecord) -> Void]>([])
    private let collections: [Int: SandboxCollection]

    init(configuration: SandboxConfiguration, sleeper: Sleeper) throws {
        guard configuration.pageSize > 0 else { throw SandboxConfigurationError("the page size must be at least 1") }
        guard configuration.existingRunners >= 0 else {
            throw SandboxConfigurationError("existing runners cannot be negative")
        }
        guard !configuration.apiKey.isEmpty else {
            throw SandboxConfigurationError("the sandbox API key cannot be empty")
        }
        var byID: [Int: SandboxCollection] = [:]
        for collection in configuration.collections {
            guard byID[collection.id] == nil else {
                throw SandboxConfigurationError("collection id \(collection.id) is given twice")
            }
            byID[collection.id] = collection
        }
        self.configuration = configuration
        self.collections = byID
        self.generator = RecordGenerator(seed: configuration.seed)
        self.sleeper = sleeper
        self.logFile = try configuration.logPath.map { try RequestLogFile(path: $0) }
        var state = SandboxState(
            available: configuration.availableCredits, used: configuration.usedCredits,
            frozen: configuration.frozenCredits)
        // Earlier runs: finished, an hour apart, ids interleaved across collections like a real account's.
        let now = Date()
        for round in 0..<configuration.existingRunners {
            for collection in configuration.collections where collection.items > 0 {
                let id = state.nextRunnerID
                state.nextRunnerID += 1
                let created = now.addingTimeInterval(-3600 * Double(configuration.existingRunners - round))
                state.runners[id] = RunnerState(
                    id: id, collection: collection.id, items: collection.items, createdAt: created,
                    updatedAt: created.addingTimeInterval(300), startedAt: nil, generated: true, neverFinishes: false,
                    bySomeoneElse: false)
                state.runnerIDs[collection.id, default: []].append(id)
            }
        }
        self.state = Mutex(state)
    }

    func setBases(api: String, other: String) {
        state.withLock {
            $0.apiBase = api
            $0.otherBase = other
        }
    }

    // MARK: - Requests

    func handle(_ request: HTTPRequest, role: ListenerRole) -> HTTPResponse {
        var path = request.path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let endpoint = Self.endpoint(for: path)
        let faults = configuration.faults
        var record = SandboxRequestRecord(
            time: Date(), method: request.method, path: request.path, endpoint: endpoint,
            keyPresent: request.apiKey != nil, httpStatus: 0, envelopeCode: nil, listener: role.rawValue, fault: nil,
            collectionID: nil, runnerID: nil)

        if faults.latency > .zero, faults.latencyEndpoints.contains(endpoint) {
            _ = sleeper.sleep(for: faults.latency)
            record.fault = "latency"
        }
        var response: HTTPResponse
        if endpoint == .file {
            response = file(path: path, method: request.method, role: role, record: &record)
        } else if role == .other {
            // The second listener exists to receive what must never arrive there: answer plainly and log it.
            response = plain(404, "Not found on this host.")
        } else {
            response = api(request, path: path, endpoint: endpoint, record: &record)
        }
        if let accepted = request.acceptEncoding, Self.acceptsGzip(accepted),
            fires(faults.gzip, "gzip", endpoint: endpoint, natural: Set(SandboxEndpoint.allCases)),
            let compressed = Self.gzipped(response)
        {
            response = compressed
            record.fault = (record.fault.map { $0 + "," } ?? "") + "gzip"
        }
        // A dropped connection sends no status at all.
        record.httpStatus = response.dropConnection ? 0 : response.status
        state.withLock { state in
            state.log.append(record)
            logFile?.append(record)
        }
        for observer in observers.withLock({ $0 }) { observer(record) }
        return response
    }

    /// Whether an `Accept-Encoding` value admits gzip (`gzip`, `x-gzip` or `*`, not with `q=0`).
    static func acceptsGzip(_ header: String) -> Bool {
        header.split(separator: ",").contains { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first, ["gzip", "x-gzip", "*"].contains(coding) else { return false }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) }
            return (quality ?? 1) > 0
        }
    }

    /// The same answer with its body gzip-compressed; a cut-short or trickled body is compressed before it is cut
    /// or trickled, so Content-Length still counts what should have gone out.
    private static func gzipped(_ response: HTTPResponse) -> HTTPResponse? {
        var result = response
        switch response.body {
        case let .bytes(data):
            guard let packed = try? Gzip.compress(data) else { return nil }
            result.body = .bytes(packed)
        case let .truncated(data, sendBytes):
            guard let packed = try? Gzip.compress(data) else { return nil }
            let fraction = data.isEmpty ? 0 : Double(sendBytes) / Double(data.count)
            result.body = .truncated(packed, sendBytes: Int(Double(packed.count) * fraction))
        case let .trickled(data, chunk, interval):
            guard let packed = try? Gzip.compress(data) else { return nil }
            result.body = .trickled(packed, chunk: chunk, interval: interval)
        }
        result.headers.append(("Content-Encoding", "gzip"))
        return result
    }

    private static func endpoint(for path: String) -> SandboxEndpoint {
        switch path {
        case "/api/v1/users/credits": .credits
        case "/api/v1/schedules/run/result": .trigger
        case "/api/v1/schedules/collections/results/download": .history
        case "/api/v1/schedules/amazon/asin/list": .asinList
        case _ where path.hasPrefix("/api/v1/results/"): .file
        default: .unknown
        }
    }

    /// Draws one fault decision: the first N matching requests fire, then each fires with the rule's probability.
    private func fires(_ rule: FaultRule, _ name: String, endpoint: SandboxEndpoint, natural: Set<SandboxEndpoint>)
        -> Bool
    {
        guard !rule.isOff, (rule.endpoints ?? natural).contains(endpoint) else { return false }
        return state.withLock { fires(rule, name, in: &$0) }
    }

    /// The same draw with the lock already held.
    private func fires(_ rule: FaultRule, _ name: String, in state: inout SandboxState) -> Bool {
        guard !rule.isOff else { return false }
        let count = state.faultCounters[name, default: 0]
        state.faultCounters[name] = count + 1
        if count < rule.first { return true }
        var rng = SplitMix64(configuration.seed, 0xFA17, UInt64(name.hashValueStable), UInt64(count))
        return rng.unit() < rule.probability
    }

    private func api(
        _ request: HTTPRequest, path: String, endpoint: SandboxEndpoint, record: inout SandboxRequestRecord
    ) -> HTTPResponse {
        let faults = configuration.faults
        let all = Set(SandboxEndpoint.allCases)
        if fires(faults.redirect, "redirect", endpoint: endpoint, natural: SandboxEndpoint.json) {
            record.fault = "redirect"
            let target = state.withLock { $0.otherBase } + String(path.dropFirst("/api/v1".count)) + "/"
            var response = plain(faults.redirectStatus, "Moved.")
            response.headers.append(("Location", target))
            return response
        }
        var loseAnswer = false
        if fires(faults.httpError, "http-error", endpoint: endpoint, natural: all) {
            record.fault = "http-error"
            if endpoint == .trigger && !faults.httpErrorBeforeQueue {
                loseAnswer = true
            } else {
                return proxyError(faults.httpErrorStatus)
            }
        }
        if !loseAnswer, fires(faults.rateLimit, "rate-limit", endpoint: endpoint, natural: all) {
            record.fault = "rate-limit"
            var response = plain(429, "Too Many Requests")
            response.headers.append(("Retry-After", String(faults.retryAfterSeconds)))
            return response
        }
        if endpoint == .unknown {
            return envelope(404, .string("Not found."), record: &record, httpStatus: 404)
        }
        guard request.method == "POST" else {
            return envelope(
                405, .string("Method \(request.method) not allowed; use POST."), record: &record, httpStatus: 405)
        }
        guard request.apiKey == configuration.apiKey else {
            return envelope(401, .string("Invalid or missing API key."), record: &record)
        }
        if !loseAnswer, fires(faults.envelopeError, "envelope-error", endpoint: endpoint, natural: SandboxEndpoint.json)
        {
            record.fault = "envelope-error"
            return envelope(500, .string("Internal server error, please try again later."), record: &record)
        }
        let body: [String: Any]
        switch parseBody(request) {
        case let .success(value): body = value
        case let .failure(message): return envelope(400, .string(message), record: &record)
        }
        var response: HTTPResponse
        switch endpoint {
        case .credits: response = credits(record: &record)
        case .trigger: response = trigger(body, record: &record)
        case .history: response = history(body, record: &record)
        case .asinList: response = asinList(body, record: &record)
        case .file, .unknown: response = envelope(404, .string("Not found."), record: &record)
        }
        if loseAnswer {
            // The worst case for a client: the run was queued (or refused) but the answer is lost on the way.
            return proxyError(faults.httpErrorStatus)
        }
        if endpoint == .trigger, faults.triggerDelay > .zero {
            record.fault = record.fault ?? "trigger-delay"
            response.delayBeforeSending = faults.triggerDelay
        }
        if fires(faults.dropConnection, "drop", endpoint: endpoint, natural: [.trigger]) {
            record.fault = (record.fault.map { $0 + "," } ?? "") + "drop"
            response.dropConnection = true
        }
        return response
    }

    // MARK: - Endpoints

    private func credits(record: inout SandboxRequestRecord) -> HTTPResponse {
        let (available, used, frozen) = state.withLock { state in
            settleAll(&state)
            return (state.available, state.used, state.frozen)
        }
        return envelope(
            200, .raw("{\"available_credits\":\(available),\"used_credits\":\(used),\"frozen_credits\":\(frozen)}"),
            record: &record)
    }

    private func trigger(_ body: [String: Any], record: inout SandboxRequestRecord) -> HTTPResponse {
        guard let id = integer(body["collection_id"]) else {
            return envelope(400, .string("collection_id is required and must be an integer."), record: &record)
        }
        record.collectionID = id
        guard let collection = collections[id] else {
            return envelope(404, .string("Collection \(id) not found."), record: &record)
        }
        guard collection.items > 0 else {
            return envelope(400, .string("Collection \(id) has no items."), record: &record)
        }
        let faults = configuration.faults
        var neverFinish = false
        var rival = false
        let outcome = state.withLock { state -> Result<Int, TriggerRefusal> in
            settleAll(&state)
            if state.runnerIDs[id, default: []].contains(where: { state.runners[$0]?.generated == false }) {
                return .failure(.processing)
            }
            guard state.spendable >= collection.items else {
                return .failure(.credits(need: collection.items, have: max(0, state.spendable)))
            }
            // Drawn only for triggers that queue, so `first=1` means "the first queued run".
            neverFinish = fires(faults.neverFinish, "never-finish", in: &state)
            rival = fires(faults.rivalRunner, "rival-runner", in: &state)
            let result = queue(collection, in: &state, neverFinishes: neverFinish, bySomeoneElse: false)
            if case .success = result, rival {
                _ = queue(collection, in: &state, neverFinishes: false, bySomeoneElse: true)
            }
            return result
        }
        switch outcome {
        case let .success(runner):
            record.runnerID = runner
            if neverFinish { record.fault = "never-finish" }
            if rival { record.fault = (record.fault.map { $0 + "," } ?? "") + "rival-runner" }
            return envelope(200, .string("Scraping Processing Queued!"), record: &record)
        case .failure(.processing):
            return envelope(409, .string("Collection \(id) is already processing."), record: &record)
        case let .failure(.credits(need, have)):
            return envelope(
                402, .string("Not enough credits — you need \(need) but have \(have) remaining."), record: &record)
        }
    }

    enum TriggerRefusal: Error {
        case processing
        case credits(need: Int, have: Int)
    }

    /// The credit gate and the queueing of a runner; called with the lock held.
    func queue(_ collection: SandboxCollection, in state: inout SandboxState, neverFinishes: Bool, bySomeoneElse: Bool)
        -> Result<Int, TriggerRefusal>
    {
        guard state.spendable >= collection.items else {
            return .failure(.credits(need: collection.items, have: max(0, state.spendable)))
        }
        let id = state.nextRunnerID
        state.nextRunnerID += 1
        state.frozen += collection.items
        let now = Date()
        state.runners[id] = RunnerState(
            id: id, collection: collection.id, items: collection.items, createdAt: now, updatedAt: now,
            startedAt: .now, generated: false, neverFinishes: neverFinishes || configuration.completion == .never,
            bySomeoneElse: bySomeoneElse)
        state.runnerIDs[collection.id, default: []].append(id)
        if case .afterHistoryReads(let reads) = configuration.completion, reads <= 0 {
            complete(id, in: &state)
        }
        return .success(id)
    }

    /// Lets a runner finish now (one that was made never to finish included). False when it does not exist.
    func finishRunner(_ id: Int) -> Bool {
        state.withLock { state in
            guard state.runners[id] != nil else { return false }
            state.runners[id]?.neverFinishes = false
            complete(id, in: &state)
            return true
        }
    }

    /// "Someone else" starts a run: passes the credit gate but ignores the processing check.
    func startRunner(collection id: Int) -> Int? {
        guard let collection = collections[id], collection.items > 0 else { return nil }
        return state.withLock { state in
            try? queue(collection, in: &state, neverFinishes: false, bySomeoneElse: true).get()
        }
    }

    /// An envelope refusal of a list request, as an error so it can travel in a `Result`.
    private struct Refusal: Error {
        let response: HTTPResponse
    }

    /// The collection, `skip` and `limit` of a list request (history, ASIN list), or the envelope refusing it.
    private func listRequest(_ body: [String: Any], defaultLimit: Int, record: inout SandboxRequestRecord)
        -> Result<(collection: SandboxCollection, skip: Int, limit: Int), Refusal>
    {
        guard let id = integer(body["collection_id"]) else {
            return .failure(
                Refusal(
                    response: envelope(
                        400, .string("collection_id is required and must be an integer."), record: &record)))
        }
        record.collectionID = id
        guard let collection = collections[id] else {
            return .failure(Refusal(response: envelope(404, .string("Collection \(id) not found."), record: &record)))
        }
        let skip = body["skip"] == nil ? 0 : integer(body["skip"])
        let limit = body["limit"] == nil ? defaultLimit : integer(body["limit"])
        guard let skip, let limit, skip >= 0, limit >= 0 else {
            return .failure(
                Refusal(
                    response: envelope(
                        400, .string("skip and limit must be non-negative integers."), record: &record)))
        }
        return .success((collection, skip, limit))
    }

    private func history(_ body: [String: Any], record: inout SandboxRequestRecord) -> HTTPResponse {
        let request: (collection: SandboxCollection, skip: Int, limit: Int)
        switch listRequest(body, defaultLimit: 10, record: &record) {
        case .success(let parsed): request = parsed
        case .failure(let refusal): return refusal.response
        }
        let (collection, skip, limit) = request
        let id = collection.id
        let listed: [RunnerState] = state.withLock { state in
            settleAll(&state)
            let ids = Array(state.runnerIDs[id, default: []].reversed().dropFirst(skip).prefix(min(limit, 100)))
            var shown: [RunnerState] = []
            for runnerID in ids {
                guard var runner = state.runners[runnerID] else { continue }
                if !runner.generated, case .afterHistoryReads(let reads) = configuration.completion,
                    runner.historyReads >= reads, !runner.neverFinishes
                {
                    complete(runnerID, in: &state)
                    runner = state.runners[runnerID]!
                }
                state.runners[runnerID]?.historyReads += 1
                shown.append(runner)
            }
            return shown
        }
        let (apiBase, otherBase) = state.withLock { ($0.apiBase, $0.otherBase) }
        let linkBase = configuration.faults.foreignLinks ? otherBase : apiBase
        var parts: [String] = []
        for runner in listed {
            var successCount = 0
            if runner.generated {
                successCount =
                    runner.successCount
                    ?? generator.successCount(collection: id, runner: runner.id, items: runner.items)
                state.withLock { $0.runners[runner.id]?.successCount = successCount }
            }
            parts.append(runnerJSON(runner, collection: collection, linkBase: linkBase, successCount: successCount))
        }
        return envelope(200, .raw("[" + parts.joined(separator: ",") + "]"), record: &record)
    }

    private func runnerJSON(_ runner: RunnerState, collection: SandboxCollection, linkBase: String, successCount: Int)
        -> String
    {
        var links = "null"
        if runner.generated {
            let folder = "\(linkBase)/results/\(collection.id)/\(runner.id)/"
            let pages = (1...RecordGenerator.pageCount(items: runner.items, pageSize: configuration.pageSize)).map {
                JSONText.string(folder + Self.pageName(collection, runner: runner.id, page: $0))
            }
            links =
                "{\"pages\":[\(pages.joined(separator: ","))],\"all_pages\":"
                + JSONText.string(folder + Self.zipName(collection, runner: runner.id)) + "}"
        }
        return "{\"id\":\(runner.id),\"collection\":\(collection.id),\"is_download_generated\":\(runner.generated),"
            + "\"download_links\":\(links),\"total_exacted_result\":\(runner.generated ? successCount : 0),"
            + "\"total_results\":\(runner.items),\"created_at\":\"\(Self.iso(runner.createdAt))\","
            + "\"updated_at\":\"\(Self.iso(runner.updatedAt))\"}"
    }

    private func asinList(_ body: [String: Any], record: inout SandboxRequestRecord) -> HTTPResponse {
        let request: (collection: SandboxCollection, skip: Int, limit: Int)
        switch listRequest(body, defaultLimit: 100, record: &record) {
        case .success(let parsed): request = parsed
        case .failure(let refusal): return refusal.response
        }
        let (collection, skip, limit) = request
        let withCount = (body["with_count"] as? Bool) ?? false
        let range = min(skip, collection.items)..<min(collection.items, skip + min(limit, 1000))
        let items = range.map { index in
            "{\"id\":\(collection.id * 100_000 + index + 1),\"collection\":\(collection.id),\"asin\":"
                + JSONText.string(generator.asin(collection: collection.id, index: index)) + ",\"custom_id\":"
                + JSONText.string(generator.customID(collection: collection.id, index: index))
                + ",\"domain\":\"amazon.com.au\"}"
        }
        let list = "[" + items.joined(separator: ",") + "]"
        let data = withCount ? "{\"total_count\":\(collection.items),\"asin_list\":\(list)}" : "{\"asin_list\":\(list)}"
        return envelope(200, .raw(data), record: &record)
    }

    // MARK: - Files

    private func file(path: String, method: String, role: ListenerRole, record: inout SandboxRequestRecord)
        -> HTTPResponse
    {
        let faults = configuration.faults
        let all = Set(SandboxEndpoint.allCases)
        if role == .api {
            // Only with `on=file`: a download sent on to the second listener, as storage or a CDN would serve it.
            if fires(faults.redirect, "redirect", endpoint: .file, natural: SandboxEndpoint.json) {
                record.fault = "redirect"
                let target = state.withLock { $0.otherBase } + Self.encodedPath(String(path.dropFirst("/api/v1".count)))
                var response = plain(faults.redirectStatus, "Moved.")
                response.headers.append(("Location", target))
                return response
            }
            if fires(faults.httpError, "http-error", endpoint: .file, natural: all) {
                record.fault = "http-error"
                return proxyError(faults.httpErrorStatus)
            }
            if fires(faults.rateLimit, "rate-limit", endpoint: .file, natural: all) {
                record.fault = "rate-limit"
                var response = plain(429, "Too Many Requests")
                response.headers.append(("Retry-After", String(faults.retryAfterSeconds)))
                return response
            }
        }
        guard method == "GET" || method == "HEAD" else { return plain(405, "Use GET.") }
        let parts = path.dropFirst("/api/v1/results/".count).split(separator: "/", maxSplits: 2).map(String.init)
        guard parts.count == 3, let collectionID = Int(parts[0]), let runnerID = Int(parts[1]),
            let collection = collections[collectionID]
        else { return plain(404, "No such file.") }
        record.collectionID = collectionID
        record.runnerID = runnerID
        let runner: RunnerState? = state.withLock { state in
            settleAll(&state)
            return state.runners[runnerID]
        }
        guard let runner, runner.collection == collectionID, runner.generated else {
            return plain(404, "No such file (yet).")
        }
        let name = parts[2]
        let data: Data
        let pageCount = RecordGenerator.pageCount(items: runner.items, pageSize: configuration.pageSize)
        if name == Self.zipName(collection, runner: runnerID) {
            guard let zip = zip(collection: collection, runner: runner) else { return proxyError(500) }
            data = zip
        } else if let page = (1...pageCount).first(where: {
            name == Self.pageName(collection, runner: runnerID, page: $0)
        }) {
            data = generator.page(
                collection: collectionID, runner: runnerID, page: page, items: runner.items,
                pageSize: configuration.pageSize)
        } else {
            return plain(404, "No such file.")
        }
        let headers = [("Content-Type", "application/octet-stream")]
        if fires(faults.truncate, "truncate", endpoint: .file, natural: [.file]) {
            record.fault = "truncate"
            let keep = Int(Double(data.count) * min(max(faults.truncateFraction, 0), 0.99))
            return HTTPResponse(status: 200, headers: headers, body: .truncated(data, sendBytes: keep))
        }
        if fires(faults.trickle, "trickle", endpoint: .file, natural: [.file]) {
            record.fault = "trickle"
            return HTTPResponse(
                status: 200, headers: headers,
                body: .trickled(data, chunk: faults.trickleBytes, interval: faults.trickleInterval))
        }
        return HTTPResponse(status: 200, headers: headers, body: .bytes(data))
    }

    /// The runner's ZIP, built once with libarchive from exactly its page files.
    func zip(collection: SandboxCollection, runner: RunnerState) -> Data? {
        if let cached = state.withLock({ $0.zips[runner.id] }) { return cached }
        let pageCount = RecordGenerator.pageCount(items: runner.items, pageSize: configuration.pageSize)
        var entries = (1...pageCount).map { page in
            ZipWriter.Entry(
                name: Self.pageName(collection, runner: runner.id, page: page),
                data: generator.page(
                    collection: collection.id, runner: runner.id, page: page, items: runner.items,
                    pageSize: configuration.pageSize))
        }
        switch configuration.faults.hostileZipEntry {
        case .traversal?: entries.append(ZipWriter.Entry(name: "../../escaped.json", data: Data("[]".utf8)))
        case .absolute?: entries.append(ZipWriter.Entry(name: "/tmp/cartflow-escaped.json", data: Data("[]".utf8)))
        case .symlink?:
            entries.append(ZipWriter.Entry(name: "link.json", data: Data(), kind: .symlink(target: "/etc/passwd")))
        case nil: break
        }
        guard let data = try? ZipWriter.archive(entries, modificationDate: runner.updatedAt) else { return nil }
        state.withLock { $0.zips[runner.id] = data }
        return data
    }

    /// A decoded path percent-encoded again segment by segment, for a `Location` header.
    static func encodedPath(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;%")
        return path.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0)
        }.joined(separator: "/")
    }

    static func fileStem(_ collection: SandboxCollection) -> String {
        collection.name.replacingOccurrences(of: "/", with: "_")
    }

    static func pageName(_ collection: SandboxCollection, runner: Int, page: Int) -> String {
        "\(fileStem(collection))_\(runner)_Results_Page_\(page).json"
    }

    static func zipName(_ collection: SandboxCollection, runner: Int) -> String {
        "\(fileStem(collection))_\(runner)_Results_All_Pages.zip"
    }

    // MARK: - Runner completion

    /// Finishes every runner whose time has come (time-based completion only); called with the lock held.
    func settleAll(_ state: inout SandboxState) {
        guard case .after(let duration) = configuration.completion else { return }
        for (id, runner) in state.runners where !runner.generated && !runner.neverFinishes {
            if let started = runner.startedAt, started.duration(to: .now) >= duration { complete(id, in: &state) }
        }
    }

    private func complete(_ id: Int, in state: inout SandboxState) {
        guard var runner = state.runners[id], !runner.generated else { return }
        runner.generated = true
        runner.updatedAt = Date()
        state.runners[id] = runner
        state.frozen -= runner.items
        state.used += runner.items
    }

    // MARK: - Answers

    enum Payload {
        case string(String)
        case raw(String)
    }

    private func envelope(_ code: Int, _ data: Payload, record: inout SandboxRequestRecord, httpStatus: Int = 200)
        -> HTTPResponse
    {
        record.envelopeCode = code
        let text: String
        switch data {
        case let .string(message): text = JSONText.string(message)
        case let .raw(json): text = json
        }
        let body = "{\"code\":\(code),\"data\":\(text),\"status\":\(code == 200 ? 1 : 0)}"
        return HTTPResponse(
            status: httpStatus, headers: [("Content-Type", "application/json")], body: .bytes(Data(body.utf8)))
    }

    private func plain(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8")],
            body: .bytes(Data((text + "\n").utf8)))
    }

    /// What a proxy in front of the API says on a real 5xx: HTML, not JSON.
    private func proxyError(_ status: Int) -> HTTPResponse {
        let html = "<html><head><title>\(status) Service Error</title></head><body><h1>\(status)</h1></body></html>\n"
        return HTTPResponse(status: status, headers: [("Content-Type", "text/html")], body: .bytes(Data(html.utf8)))
    }

    private enum BodyResult {
        case success([String: Any])
        case failure(String)
    }

    private func parseBody(_ request: HTTPRequest) -> BodyResult {
        if request.bodyTooLarge { return .failure("Request body too large.") }
        if request.body.isEmpty { return .success([:]) }
        guard let object = try? JSONSerialization.jsonObject(with: request.body) else {
            return .failure("Request body is not valid JSON.")
        }
        guard let dictionary = object as? [String: Any] else { return .failure("Request body must be a JSON object.") }
        return .success(dictionary)
    }

    /// A JSON integer (not a boolean, not a fraction) or a string of digits.
    private func integer(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber:
            // Booleans arrive as NSNumber too; their type encoding is a C char.
            if String(cString: number.objCType) == "c" || String(cString: number.objCType) == "B" { return nil }
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 1e15 else { return nil }
            return number.intValue
        case let text as String: return Int(text)
        default: return nil
        }
    }

    static func iso(_ date: Date) -> String { RecordGenerator.timestamp(Int(date.timeIntervalSince1970)) }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        return hash
    }
}
