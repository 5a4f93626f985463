import Foundation
import MultiCartSandbox

/// `cartflow sandbox`: serves the MultiCart API emulator on 127.0.0.1 until SIGINT or SIGTERM.
enum SandboxCommand: Command {
    static let name = "sandbox"
    static let summary = "serve the MultiCart API emulator on 127.0.0.1"

    static var help: String {
        let faults = SandboxFaults.options.map { option in
            "  --\(option.flag.padding(toLength: 20, withPad: " ", startingAt: 0)) SPEC  \(option.help)"
        }
        return """
            USAGE: cartflow sandbox [options]

            Serves an emulator of the MultiCart API on 127.0.0.1 (never another interface), prints its base URL
            (http://127.0.0.1:PORT/api/v1) on stdout, and serves until Ctrl-C (SIGINT) or SIGTERM. Point a workflow
            at it with MULTICART_BASE_URL. Its choices where the real API is undocumented are in docs/sandbox.md.

            OPTIONS:
              --port N                 port on 127.0.0.1 (default 8787; 0 = any free port)
              --credits N              available credits of the account (default 10000)
              --collection ID:NAME:N   a collection with N items, e.g. "101:AU Laptops:250" (repeatable;
                                       default: 101:AU Laptops:250 and 102:AU Phones:120)
              --key K                  the API key to accept (default: $MULTICART_API_KEY, else "sandbox-key");
                                       never printed
              --runner-seconds S       runners finish S seconds after their trigger (default 5)
              --runner-reads N         runners finish once listed N times by the run history (overrides
                                       --runner-seconds; deterministic, for tests)
              --existing-runners N     finished runners per collection before start (default 1)
              --page-size N            records per page file (default 100)
              --seed N                 seed for records and fault decisions (default 42)
              --log FILE               append every request as one JSON line (never the key)

            FAULTS (SPEC is key=value pairs joined by commas; a bare number is rate= or ms=):
              rate=P fires with probability P (0..1); first=N fires on the first N matching requests;
              on=E1+E2 limits to endpoints (credits, trigger, history, asin-list, file, unknown).
              A spec with neither rate nor first fires every time. All decisions follow --seed.
            \(faults.joined(separator: "\n"))
              --fault-foreign-links        download links point at http://localhost:<another port>

            EXAMPLES:
              cartflow sandbox
              cartflow sandbox --port 0 --credits 12 --collection "101:AU Laptops:250"
              cartflow sandbox --fault-429 first=2,retry-after=1 --fault-truncate rate=0.3 --log sandbox.jsonl
            """
    }

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let faultFlags = Set(SandboxFaults.options.map(\.flag))
        let parsed = try Arguments(
            arguments, flags: ["help", "fault-foreign-links"],
            options: Set([
                "port", "credits", "collection", "key", "runner-seconds", "runner-reads", "existing-runners",
                "page-size", "seed", "log",
            ]).union(faultFlags), repeatable: ["collection"])
        guard parsed.positional.isEmpty else {
            throw UsageError("unexpected argument '\(parsed.positional[0])'")
        }
        let configuration = try configuration(from: parsed, context: context)
        let port = UInt16(try parsed.intOption("port", range: 0...65_535) ?? 8787)

        let server = SandboxServer(configuration: configuration)
        let url: URL
        do {
            url = try server.start(port: port)
        } catch {
            context.output.error("cartflow sandbox: error: \(error)")
            return .failure
        }
        defer { server.stop() }
        context.output.print(url.absoluteString)
        let names = configuration.collections.map { "\($0.id) \"\($0.name)\" (\($0.items) items)" }
        context.output.progress("sandbox serving \(url.absoluteString) — collections: \(names.joined(separator: ", "))")
        context.output.progress(
            "credits: \(configuration.availableCredits); key: "
                + (context.environment["MULTICART_API_KEY"] != nil || parsed.option("key") != nil
                    ? "as given" : "the default (see docs/sandbox.md)")
                + "; stop with Ctrl-C")
        let signal = await waitForTerminationSignal()
        context.output.progress("received \(signal), stopping")
        return .success
    }

    static func configuration(from parsed: Arguments, context: CommandContext) throws -> SandboxConfiguration {
        var configuration = SandboxConfiguration()
        configuration.apiKey = parsed.option("key") ?? context.environment["MULTICART_API_KEY"] ?? "sandbox-key"
        guard !configuration.apiKey.isEmpty else { throw UsageError("--key cannot be empty") }
        configuration.availableCredits = try parsed.intOption("credits", range: 0...1_000_000_000) ?? 10_000
        let collections = parsed.options("collection")
        if collections.isEmpty {
            configuration.collections = [
                SandboxCollection(id: 101, name: "AU Laptops", items: 250),
                SandboxCollection(id: 102, name: "AU Phones", items: 120),
            ]
        } else {
            configuration.collections = try collections.map { text in
                do { return try SandboxCollection(parsing: text) } catch { throw UsageError("--collection: \(error)") }
            }
            var seen: Set<Int> = []
            for collection in configuration.collections where !seen.insert(collection.id).inserted {
                throw UsageError("--collection: id \(collection.id) is given twice")
            }
        }
        if let reads = try parsed.intOption("runner-reads", range: 0...1_000_000) {
            configuration.completion = .afterHistoryReads(reads)
        } else {
            configuration.completion = .after(.seconds(try parsed.intOption("runner-seconds", range: 0...86_400) ?? 5))
        }
        configuration.existingRunners = try parsed.intOption("existing-runners", range: 0...1_000) ?? 1
        configuration.pageSize = try parsed.intOption("page-size", range: 1...100_000) ?? 100
        if let seed = parsed.option("seed") {
            guard let value = UInt64(seed) else { throw UsageError("--seed must be a whole number ≥ 0, got '\(seed)'") }
            configuration.seed = value
        }
        if let log = parsed.option("log") { configuration.logPath = context.resolve(log) }
        var faults = SandboxFaults.none
        for option in SandboxFaults.options {
            for spec in parsed.options(option.flag) {
                do { try faults.apply(flag: option.flag, spec: spec) } catch { throw UsageError("\(error)") }
            }
        }
        faults.foreignLinks = parsed.flag("fault-foreign-links")
        configuration.faults = faults
        return configuration
    }

    /// Suspends until SIGINT or SIGTERM arrives (handled by DispatchSource, so the default action never kills us
    /// mid-answer) and returns the signal's name.
    static func waitForTerminationSignal() async -> String {
        let once = ResumeOnce()
        return await withCheckedContinuation { continuation in
            once.continuation = continuation
            for (number, label) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.resume(label) }
                source.resume()
                once.sources.append(source)
            }
        }
    }
}

/// Resumes a continuation exactly once, whichever signal comes first; keeps the signal sources alive until then.
private final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    var continuation: CheckedContinuation<String, Never>?
    var sources: [any DispatchSourceSignal] = []

    func resume(_ label: String) {
        let pending = lock.withLock {
            let value = continuation
            continuation = nil
            return value
        }
        pending?.resume(returning: label)
    }
}
