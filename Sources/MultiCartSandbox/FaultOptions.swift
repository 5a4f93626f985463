import Foundation

extension SandboxFaults {
    /// One command-line fault option (`cartflow sandbox --fault-5xx rate=0.2,first=1`): its flag, its help line and
    /// how its spec applies. The CLI lists and parses faults only through this table, so flags and docs agree.
    public struct Option: Sendable {
        public let flag: String
        public let help: String
        let keys: Set<String>
        let apply: @Sendable (inout SandboxFaults, FaultSpec) throws -> Void
    }

    /// Every fault option, in the order `--help` lists them.
    public static let options: [Option] = [
        Option(
            flag: "fault-5xx", help: "real HTTP 5xx (HTML body); keys rate, first, on, status=503, before-queue=false",
            keys: ["rate", "first", "on", "status", "before-queue"]
        ) { faults, spec in
            faults.httpError = try spec.rule()
            faults.httpErrorStatus = try spec.int("status", in: 500...599) ?? faults.httpErrorStatus
            faults.httpErrorBeforeQueue = try spec.bool("before-queue") ?? faults.httpErrorBeforeQueue
        },
        Option(
            flag: "fault-429", help: "HTTP 429 with Retry-After; keys rate, first, on, retry-after=1 (seconds)",
            keys: ["rate", "first", "on", "retry-after"]
        ) { faults, spec in
            faults.rateLimit = try spec.rule()
            faults.retryAfterSeconds = try spec.int("retry-after", in: 0...86_400) ?? faults.retryAfterSeconds
        },
        Option(
            flag: "fault-envelope", help: "HTTP 200 with {\"code\":500,...,\"status\":0}; keys rate, first, on",
            keys: ["rate", "first", "on"]
        ) { faults, spec in
            faults.envelopeError = try spec.rule()
        },
        Option(
            flag: "fault-latency", help: "delay every request; keys ms (required), on",
            keys: ["ms", "on"]
        ) { faults, spec in
            guard let ms = try spec.int("ms", in: 0...600_000) else { throw spec.error("needs ms=N") }
            faults.latency = .milliseconds(ms)
            if let endpoints = try spec.endpoints() { faults.latencyEndpoints = endpoints }
        },
        Option(
            flag: "fault-truncate", help: "downloads cut short (Content-Length says more); keys rate, first, keep=0.5",
            keys: ["rate", "first", "keep"]
        ) { faults, spec in
            faults.truncate = try spec.rule()
            faults.truncateFraction = try spec.double("keep", in: 0...0.99) ?? faults.truncateFraction
        },
        Option(
            flag: "fault-trickle", help: "downloads sent slowly; keys rate, first, bytes=64, every-ms=100",
            keys: ["rate", "first", "bytes", "every-ms"]
        ) { faults, spec in
            faults.trickle = try spec.rule()
            faults.trickleBytes = try spec.int("bytes", in: 1...1_048_576) ?? faults.trickleBytes
            if let ms = try spec.int("every-ms", in: 0...60_000) { faults.trickleInterval = .milliseconds(ms) }
        },
        Option(
            flag: "fault-gzip",
            help: "answers gzip-compressed when the request accepts gzip; keys rate, first, on",
            keys: ["rate", "first", "on"]
        ) { faults, spec in
            faults.gzip = try spec.rule()
        },
        Option(
            flag: "fault-never-finish", help: "triggered runners that never finish; keys rate, first",
            keys: ["rate", "first"]
        ) { faults, spec in
            faults.neverFinish = try spec.rule()
        },
        Option(
            flag: "fault-rival", help: "someone else starts a runner right after a trigger; keys rate, first",
            keys: ["rate", "first"]
        ) { faults, spec in
            faults.rivalRunner = try spec.rule()
        },
        Option(
            flag: "fault-redirect",
            help:
                "API calls (downloads too with on=file) redirected to the second listener; keys rate, first, on, status=302",
            keys: ["rate", "first", "on", "status"]
        ) { faults, spec in
            faults.redirect = try spec.rule()
            let status = try spec.int("status", in: 300...399) ?? faults.redirectStatus
            guard [301, 302, 303, 307, 308].contains(status) else {
                throw spec.error("status must be 301, 302, 303, 307 or 308")
            }
            faults.redirectStatus = status
        },
        Option(
            flag: "fault-trigger-delay",
            help: "the trigger queues at once but answers after a delay; keys ms (required)",
            keys: ["ms"]
        ) { faults, spec in
            guard let ms = try spec.int("ms", in: 0...3_600_000) else { throw spec.error("needs ms=N") }
            faults.triggerDelay = .milliseconds(ms)
        },
        Option(
            flag: "fault-drop",
            help: "the request is handled (a trigger queues its runner), then the connection closes unanswered; "
                + "keys rate, first, on",
            keys: ["rate", "first", "on"]
        ) { faults, spec in
            faults.dropConnection = try spec.rule()
        },
        Option(
            flag: "fault-evil-zip",
            help: "every ZIP ends with a hostile entry; keys kind=traversal|absolute|symlink (required)",
            keys: ["kind"]
        ) { faults, spec in
            guard let text = spec.values["kind"], let kind = HostileZipEntry(rawValue: text) else {
                throw spec.error("needs kind=traversal, kind=absolute or kind=symlink")
            }
            faults.hostileZipEntry = kind
        },
    ]

    /// Applies one fault option's spec, e.g. `apply(flag: "fault-429", spec: "first=2,retry-after=3")`.
    /// A bare number is short for `rate=` (or `ms=` for the latency and delay faults).
    public mutating func apply(flag: String, spec text: String) throws {
        guard let option = Self.options.first(where: { $0.flag == flag }) else {
            throw SandboxConfigurationError("unknown fault '--\(flag)'")
        }
        let spec = try FaultSpec(flag: flag, text: text, keys: option.keys)
        try option.apply(&self, spec)
    }
}

/// A parsed `key=value,key=value` fault spec.
struct FaultSpec {
    let flag: String
    let values: [String: String]

    init(flag: String, text: String, keys: Set<String>) throws {
        self.flag = flag
        var values: [String: String] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pieces.count == 1 {
                values[keys.contains("rate") ? "rate" : "ms"] = pieces[0]
            } else {
                guard keys.contains(pieces[0]) else {
                    throw SandboxConfigurationError(
                        "--\(flag): unknown key '\(pieces[0])' (known: \(keys.sorted().joined(separator: ", ")))")
                }
                values[pieces[0]] = pieces[1]
            }
        }
        self.values = values
    }

    func error(_ message: String) -> SandboxConfigurationError { SandboxConfigurationError("--\(flag): \(message)") }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[key] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw error("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let text = values[key] else { return nil }
        guard let value = Double(text), range.contains(value) else {
            throw error("\(key) must be a number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let text = values[key] else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw error("\(key) must be true or false, got '\(text)'")
        }
    }

    func endpoints() throws -> Set<SandboxEndpoint>? {
        guard let text = values["on"] else { return nil }
        var result: Set<SandboxEndpoint> = []
        for name in text.split(separator: "+") {
            guard let endpoint = SandboxEndpoint(rawValue: String(name)) else {
                let known = SandboxEndpoint.allCases.map(\.rawValue).joined(separator: ", ")
                throw error("unknown endpoint '\(name)' in on= (known: \(known); join several with +)")
            }
            result.insert(endpoint)
        }
        return result
    }

    /// The rule part: rate, first, on. A spec that names neither rate nor first fires every time.
    func rule() throws -> FaultRule {
        let rate = try double("rate", in: 0...1)
        let first = try int("first", in: 0...1_000_000)
        return FaultRule(probability: rate ?? (first == nil ? 1 : 0), first: first ?? 0, endpoints: try endpoints())
    }
}
