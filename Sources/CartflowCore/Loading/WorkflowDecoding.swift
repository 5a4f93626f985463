import CartflowYAML

/// The words of `credits.on_insufficient`.
private enum InsufficientChoice: String, CaseIterable {
    case fail, skip, wait
}

/// Format version 1: the keys of each section and how each value is typed. docs/workflow-reference.md mirrors this.
enum WorkflowFormat {
    static let topKeys = KeySet([
        "cartflow", "name", "description", "api", "collections", "credits", "schedule", "poll", "fetch", "steps",
    ])
    static let apiKeys = KeySet(["base_url", "key", "allow_download_hosts", "timeout"])
    static let collectionKeys = KeySet(["id", "items", "title"])
    static let creditKeys = KeySet(["reserve", "max_spend", "on_insufficient", "wait"])
    static let waitKeys = KeySet(["limit", "interval"])
    static let scheduleKeys = KeySet(["every", "at", "days", "day_of_month", "timezone", "catch_up", "overlap"])
    static let pollKeys = KeySet(["interval", "max_interval", "timeout", "attribution_grace"])
    static let fetchKeys = KeySet(["from", "concurrency", "timeout"])
    static let stepKeys = KeySet([
        "export", "from", "path", "columns", "include_failed", "provenance", "records_key", "bom", "formula_guard",
    ])
    static let pathPlaceholders = PathTemplate.placeholders
    static let defaultWaitLimit = Seconds(3_600)
    static let defaultWaitInterval = Seconds(300)
    static let maxConcurrency = 32
    static let maxNameLength = 64
    static let minimumInterval = 60
    /// Above this many candidates an unknown name gets no "did you mean" (each candidate costs an edit distance).
    static let maxSuggestionCandidates = 200

    /// Names of workflows and collections: they appear in paths and state, so letters, digits, `_`, `-`, `.`.
    /// Decided on UTF-8 bytes: every allowed character is ASCII, so a byte that is not one of them, or any byte
    /// of a character that is not ASCII, makes the name invalid.
    static func isValidName(_ name: String) -> Bool {
        func isLetterOrDigit(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        guard let first = name.utf8.first, isLetterOrDigit(first), name.utf8.count <= maxNameLength else {
            return false
        }
        return name.utf8.allSatisfy {
            isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }
}

extension WorkflowDecoder {
    /// Decodes a whole workflow; returns nil when any error was reported.
    func workflow(_ root: Node, defaultName: String) -> Workflow? {
        // The variable `api.key` names is secret from the first key read on (top-level keys included), before
        // `api` itself is decoded.
        if let api = root.mapping?.first(where: { $0.key.scalar?.text == "api" })?.value,
            let key = api.mapping?.first(where: { $0.key.scalar?.text == "key" })?.value.scalar, !key.isNull,
            let variable = Self.soleReference(key.text)
        {
            secretVariables.insert(variable)
        }
        guard let top = fields(root, path: "", allowed: WorkflowFormat.topKeys) else { return nil }

        // `api` first: it names the secret variable that every other field must not read.
        let api = top["api"].flatMap { apiConfig($0, path: "api") } ?? defaultAPI(at: root.start)

        var version = 1
        if let node = top["cartflow"] {
            if let value = int(node, path: "cartflow", range: 0...Int.max) {
                if value != 1 {
                    report(
                        .unsupportedVersion,
                        "'cartflow: \(value)' is not a format version this cartflow reads; write 'cartflow: 1'",
                        at: node.start, path: "cartflow")
                }
                version = value
            }
        } else {
            report(
                .missingKey, "missing required key 'cartflow' (the format version); add 'cartflow: 1' at the top",
                at: root.start, path: "cartflow")
        }

        var name = defaultName
        if let node = top["name"] {
            if let value = string(node, path: "name") {
                name = value
                if !WorkflowFormat.isValidName(value) {
                    report(
                        .invalidName,
                        "'name' must be 1–\(WorkflowFormat.maxNameLength) letters, digits, '_', '-' or '.', starting with a letter or digit; got '\(value)'",
                        at: node.start, path: "name")
                }
            }
        } else if !WorkflowFormat.isValidName(defaultName) {
            report(
                .invalidName,
                "the file name '\(defaultName)' cannot be the workflow's name (letters, digits, '_', '-', '.' only); add a 'name:' key",
                at: root.start, path: "name")
        }
        let description = top["description"].flatMap { string($0, path: "description", allowEmpty: true) }

        var collections: [CollectionSpec] = []
        // Every name declared, valid or not: a step naming an invalid collection is not also "unknown". Nil when
        // `collections` is missing or not a mapping: then no name can be checked, and none is called unknown.
        var declared: NamedEntries?
        if let node = top["collections"] {
            (collections, declared) = collectionSpecs(node, path: "collections")
        } else {
            report(
                .missingKey, "missing required key 'collections' (which MultiCart collections to run)", at: root.start,
                path: "collections")
        }
        let credits = top["credits"].flatMap { creditRules($0, path: "credits") } ?? CreditRules()
        let schedule = top["schedule"].flatMap { self.schedule($0, path: "schedule") }
        let poll = top["poll"].flatMap { pollConfig($0, path: "poll") } ?? PollConfig()
        let fetch = top["fetch"].flatMap { fetchConfig($0, path: "fetch") } ?? FetchConfig()
        let steps =
            top["steps"].flatMap { exportSteps($0, path: "steps", collections: declared, workflowName: name) } ?? []

        guard !hasErrors else { return nil }
        return Workflow(
            formatVersion: version, name: name, description: description, sourcePath: file, api: api,
            collections: collections, credits: credits, schedule: schedule, poll: poll, fetch: fetch, steps: steps)
    }

    // MARK: api

    /// No `api:` section: the default base URL and `${MULTICART_API_KEY}`; a warning if unset points at the first key.
    private func defaultAPI(at mark: SourceMark) -> APIConfig {
        return APIConfig(key: apiKey(variable: "MULTICART_API_KEY", at: mark))
    }

    /// The key from the environment, or nil with a warning: validate and offline plans do not need it.
    private func apiKey(variable: String, at mark: SourceMark) -> Secret? {
        if let value = environment[variable], !value.isEmpty { return Secret(value: value, origin: "${\(variable)}") }
        report(
            .apiKeyUnset, "environment variable \(variable) (the API key) is not set; 'cartflow run' will need it",
            at: mark, path: "api.key")
        return nil
    }

    private func apiConfig(_ node: Node, path: String) -> APIConfig? {
        // Whatever sits in `api` other than the URL and hosts may be a pasted key — under `key`, a second `key`,
        // a misspelt key, or `api` itself as a value: no diagnostic shows those lines.
        let exposed = node.mapping?.filter { ["base_url", "allow_download_hosts"].contains($0.key.scalar?.text) }
        for pair in node.mapping.map(Array.init) ?? []
        where !(exposed ?? []).contains(where: { $0.key.range == pair.key.range }) {
            secretLines.formUnion(pair.key.range.start.line...max(pair.key.range.start.line, pair.value.range.end.line))
            hideLines(of: pair.key)
            hideLines(of: pair.value)
        }
        if node.mapping == nil { hideLines(of: node) }
        guard let fields = fields(node, path: path, allowed: WorkflowFormat.apiKeys) else { return nil }
        var config = APIConfig()
        if let keyNode = fields["key"] {
            let keyPath = fields.path("key")
            if let scalar = keyNode.scalar, !scalar.isNull, let variable = Self.soleReference(scalar.text) {
                secretVariables.insert(variable)
                config.keyReference = scalar.text
                config.key = apiKey(variable: variable, at: keyNode.start)
            } else {
                hideLines(of: keyNode)
                report(
                    .literalSecret,
                    "'api.key' must name an environment variable, such as ${MULTICART_API_KEY}; a key written in the file is refused (it would end up in version control)",
                    at: keyNode.start, path: keyPath)
            }
        } else {
            config.key = apiKey(variable: "MULTICART_API_KEY", at: fields.node.start)
        }
        if let urlNode = fields["base_url"],
            let url = text(urlNode, path: fields.path("base_url"), what: "an http or https URL")
        {
            if let problem = Self.urlProblem(url) {
                report(
                    .invalidURL,
                    "'\(fields.path("base_url"))' must be an http or https URL such as \(APIConfig.defaultBaseURL), got \(shown(url, urlNode)); \(problem)",
                    at: urlNode.start, path: fields.path("base_url"))
            } else {
                config.baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            }
        }
        if let hostsNode = fields["allow_download_hosts"] {
            let hostsPath = fields.path("allow_download_hosts")
            var hosts: [String] = []
            for (index, item) in (list(hostsNode, path: hostsPath, of: "host name", allowEmpty: true) ?? [])
                .enumerated()
            {
                let itemPath = "\(hostsPath)[\(index)]"
                guard let host = text(item, path: itemPath, what: "a host name") else { continue }
                if Self.isHostName(host) {
                    hosts.append(host.lowercased())
                } else {
                    report(
                        .invalidURL,
                        "'\(itemPath)' must be a host name such as files.example.com (no scheme or path), got \(shown(host, item))",
                        at: item.start, path: itemPath)
                }
            }
            config.allowedDownloadHosts = hosts
        }
        if let timeoutNode = fields["timeout"], let value = apiTimeout(timeoutNode, path: fields.path("timeout")) {
            config.timeout = value
        }
        return config
    }

    /// `api.timeout`: its line is hidden like every line under `api` but the URL and hosts (it may hold a pasted
    /// key), so the message does not quote the value either.
    private func apiTimeout(_ node: Node, path: String) -> Seconds? {
        guard let value = text(node, path: path, what: "a duration such as 60s or 2m") else { return nil }
        switch ValueParsers.duration(value) {
        case .success(let seconds) where seconds.value >= 1:
            return seconds
        case .success:
            report(.invalidDuration, "'\(path)' must be at least 1s", at: node.start, path: path)
        case .failure(let problem):
            report(
                .invalidDuration, "'\(path)' must be a duration such as 60s or 2m; \(problem.hint)", at: node.start,
                path: path)
        }
        return nil
    }

    /// The variable name when `text` is exactly `${NAME}` (no default: a default would be a literal key).
    static func soleReference(_ text: String) -> String? {
        guard text.hasPrefix("${"), text.hasSuffix("}"), text.count > 3 else { return nil }
        let name = String(text.dropFirst(2).dropLast())
        return Interpolation.isVariableName(name) ? name : nil
    }

    static func urlProblem(_ url: String) -> String? {
        let rest: Substring
        if url.hasPrefix("https://") {
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            rest = url.dropFirst(7)
        } else {
            return "it must start with https:// or http://"
        }
        if url.contains(where: { $0.isWhitespace }) { return "it contains a space" }
        if url.contains("?") || url.contains("#") { return "it must not have a query or fragment" }
        let authority = rest.prefix { $0 != "/" }
        if authority.contains("@") { return "credentials do not belong in the URL" }
        return isHostName(String(authority)) ? nil : "'\(authority)' is not a host name"
    }

    /// A DNS name or IPv4 address, with an optional `:port`.
    static func isHostName(_ text: String) -> Bool {
        var host = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.unicodeScalars.allSatisfy(\.isASCIIDigit) else { return false }
            host = text[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !host.isEmpty
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "-" }
            }
    }

    // MARK: collections

    /// The valid collections, and the names of all collections declared (whatever is wrong with them); nil
    /// names when `collections` is not a mapping.
    private func collectionSpecs(_ node: Node, path: String) -> (specs: [CollectionSpec], declared: NamedEntries?) {
        guard let entries = namedEntries(node, path: path) else { return ([], nil) }
        // Empty as written: entries whose key was refused (not text, the API key) have been reported already.
        if node.mapping?.isEmpty == true {
            report(
                .emptyCollection,
                "'collections' is empty; name at least one collection, such as 'laptops: { id: 101 }'", at: node.start,
                path: path)
        }
        var specs: [CollectionSpec] = []
        var ids = [Int: (name: String, node: Node)](minimumCapacity: entries.keys.count)
        for (name, index) in entries.keys {
            let pair = entries.pairs[index]
            let place = FieldPath(path, key: name)
            if !WorkflowFormat.isValidName(name) {
                report(
                    .invalidName,
                    "collection name '\(name)' must be letters, digits, '_', '-' or '.', starting with a letter or digit",
                    at: pair.key.start, path: place.text)
            }
            guard let fields = fields(pair.value, at: place, allowed: WorkflowFormat.collectionKeys) else {
                continue
            }
            guard let idNode = fields["id"] else {
                report(
                    .missingKey, "collection '\(name)' needs an 'id' (the MultiCart collection id)", at: pair.key.start,
                    path: fields.path("id"))
                continue
            }
            let id = int(idNode, path: fields.path("id"), range: 1...Int(Int32.max))
            let items = fields["items"].flatMap { int($0, path: fields.path("items"), range: 1...10_000_000) }
            let title = fields["title"].flatMap { string($0, path: fields.path("title")) }
            guard let id else { continue }
            // One hash per collection: the first collection of an id stays its owner.
            if let first = ids.updateValue((name, idNode), forKey: id) {
                ids[id] = first
                reportRepeat(
                    "collection id \(id) is already used by '\(first.name)'; each collection would be run (and paid for) twice",
                    at: idNode, of: first.node, path: fields.path("id"), note: "'\(first.name)' uses id \(id) here")
                continue
            }
            specs.append(CollectionSpec(name: name, id: id, items: items, title: title))
        }
        return (specs, entries)
    }

    // MARK: credits

    private func creditRules(_ node: Node, path: String) -> CreditRules? {
        guard let fields = fields(node, path: path, allowed: WorkflowFormat.creditKeys) else { return nil }
        var rules = CreditRules()
        if let node = fields["reserve"], let value = int(node, path: fields.path("reserve"), range: 0...1_000_000_000) {
            rules.reserve = value
        }
        if let node = fields["max_spend"] {
            rules.maxSpend = int(node, path: fields.path("max_spend"), range: 1...1_000_000_000)
        }
        let insufficient = fields["on_insufficient"].flatMap {
            choice($0, path: fields.path("on_insufficient"), as: InsufficientChoice.self)
        }
        var limit = WorkflowFormat.defaultWaitLimit
        var interval = WorkflowFormat.defaultWaitInterval
        if let waitNode = fields["wait"] {
            let waitPath = fields.path("wait")
            if insufficient != .wait, fields["on_insufficient"] == nil || insufficient != nil {
                report(
                    .conflict, "'credits.wait' applies only with 'on_insufficient: wait'",
                    at: fields.keyNode("wait")!.start, path: waitPath)
            }
            if let wait = self.fields(waitNode, path: waitPath, allowed: WorkflowFormat.waitKeys) {
                if let node = wait["limit"], let value = duration(node, path: wait.path("limit")) { limit = value }
                if let node = wait["interval"], let value = duration(node, path: wait.path("interval"), minimum: 10) {
                    interval = value
                    if value > limit {
                        report(
                            .conflict,
                            "'credits.wait.interval' (\(value)) is longer than 'credits.wait.limit' (\(limit))",
                            at: node.start, path: wait.path("interval"))
                    }
                }
            }
        }
        switch insufficient {
        case .fail, nil: rules.onInsufficient = .fail
        case .skip: rules.onInsufficient = .skip
        case .wait: rules.onInsufficient = .wait(limit: limit, interval: interval)
        }
        return rules
    }

    // MARK: schedule

    private func schedule(_ node: Node, path: String) -> Schedule? {
        guard let fields = fields(node, path: path, allowed: WorkflowFormat.scheduleKeys) else { return nil }
        guard let everyNode = fields["every"] else {
            report(
                .missingKey, "a schedule needs 'every' (15m, 2h, daily, weekly or monthly)", at: node.start,
                path: fields.path("every"))
            return nil
        }
        let everyPath = fields.path("every")
        var cadence: Schedule.Cadence?
        var cadenceName = ""
        if let text = text(everyNode, path: everyPath, what: "daily, weekly, monthly or an interval such as 15m") {
            switch text {
            case "daily": cadence = .daily
            case "weekly": cadence = .weekly
            case "monthly": cadence = .monthly
            default:
                if let first = text.unicodeScalars.first, first.isASCIIDigit {
                    if let seconds = duration(everyNode, path: everyPath, minimum: WorkflowFormat.minimumInterval) {
                        cadence = .interval(seconds)
                    }
                } else {
                    var message =
                        "'\(everyPath)' must be daily, weekly, monthly or an interval such as 15m or 2h, got \(shown(text, everyNode))"
                    if text == "hourly" {
                        message += "; write 1h"
                    } else if let suggestion = closestMatch(to: text, in: ["daily", "weekly", "monthly"]) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    report(.invalidChoice, message, at: everyNode.start, path: everyPath)
                }
            }
            cadenceName = text
        }

        // `at` lists times of day (daily, weekly, monthly) or windows `08:00-18:00` (intervals); which one is
        // checked against the cadence below, so each item keeps its node for the message.
        var times: [ClockTime] = []
        var windows: [ClockWindow] = []
        var timeNodes: [(path: String, node: Node)] = []
        var windowNodes: [(path: String, node: Node)] = []
        if let atNode = fields["at"] {
            let atPath = fields.path("at")
            var seenTimes: [ClockTime: Node] = [:]
            var seenWindows: [ClockWindow: Node] = [:]
            for (index, item) in (list(atNode, path: atPath, of: "time") ?? []).enumerated() {
                let itemPath = atNode.sequence == nil ? atPath : "\(atPath)[\(index)]"
                guard let value = text(item, path: itemPath, what: "a time of day such as 08:00") else { continue }
                if value.contains("-") {
                    guard let window = clockWindow(value, item, path: itemPath) else { continue }
                    if let first = seenWindows[window] {
                        reportRepeat(
                            "\(window) is listed twice in 'at'", at: item, of: first, path: itemPath,
                            note: "first listed here")
                        continue
                    }
                    seenWindows[window] = item
                    windows.append(window)
                    windowNodes.append((itemPath, item))
                    continue
                }
                guard let time = clockTime(item, path: itemPath) else { continue }
                if let first = seenTimes[time] {
                    reportRepeat(
                        "\(time) is listed twice in 'at'", at: item, of: first, path: itemPath,
                        note: "first listed here")
                    continue
                }
                seenTimes[time] = item
                times.append(time)
                timeNodes.append((itemPath, item))
            }
        }
        var days: [Weekday] = []
        if let daysNode = fields["days"] {
            let daysPath = fields.path("days")
            var seen: [Weekday: Node] = [:]
            for (index, item) in (list(daysNode, path: daysPath, of: "day") ?? []).enumerated() {
                let itemPath = daysNode.sequence == nil ? daysPath : "\(daysPath)[\(index)]"
                guard let day = weekday(item, path: itemPath) else { continue }
                if let first = seen[day] {
                    reportRepeat(
                        "\(day) is listed twice in 'days'", at: item, of: first, path: itemPath,
                        note: "first listed here")
                    continue
                }
                seen[day] = item
                days.append(day)
            }
        }
        var monthDays: [Int] = []
        if let monthNode = fields["day_of_month"] {
            let monthPath = fields.path("day_of_month")
            var seen: [Int: Node] = [:]
            for (index, item) in (list(monthNode, path: monthPath, of: "day of the month") ?? []).enumerated() {
                let itemPath = monthNode.sequence == nil ? monthPath : "\(monthPath)[\(index)]"
                guard let day = int(item, path: itemPath, range: 1...31) else { continue }
                if let first = seen[day] {
                    reportRepeat(
                        "day \(day) is listed twice in 'day_of_month'", at: item, of: first, path: itemPath,
                        note: "first listed here")
                    continue
                }
                seen[day] = item
                monthDays.append(day)
            }
        }
        let zone = fields["timezone"].flatMap { self.zone($0, path: fields.path("timezone")) } ?? .utc
        let catchUp =
            fields["catch_up"].flatMap { choice($0, path: fields.path("catch_up"), as: Schedule.CatchUp.self) }
            ?? .latest
        let overlap =
            fields["overlap"].flatMap { choice($0, path: fields.path("overlap"), as: Schedule.Overlap.self) } ?? .skip

        guard let cadence else { return nil }
        switch cadence {
        case .interval:
            for (index, (itemPath, item)) in timeNodes.enumerated() {
                let time = times[index]
                report(
                    .conflict,
                    "'\(itemPath)' is a time of day (\(time)), which an interval schedule does not use: for an interval, "
                        + "'at' lists windows such as \"\(time)-18:00\"; for runs at fixed times use every: daily",
                    at: item.start, path: itemPath)
            }
            if let node = fields["day_of_month"] {
                report(
                    .conflict, "'day_of_month' applies only to 'every: monthly'",
                    at: fields.keyNode("day_of_month")!.start, path: fields.path("day_of_month"))
                _ = node
            }
            if catchUp == .all, let node = fields["catch_up"] {
                report(
                    .conflict,
                    "'catch_up: all' is refused for interval schedules: after downtime it would start one paid run per missed interval; use latest or none",
                    at: node.start, path: fields.path("catch_up"))
            }
        case .daily, .weekly, .monthly:
            for (index, (itemPath, item)) in windowNodes.enumerated() {
                report(
                    .conflict,
                    "'\(itemPath)' is a window (\(windows[index])), which only limits interval schedules (every: 15m); "
                        + "a \(cadenceName) schedule takes times of day such as \"\(windows[index].start)\"",
                    at: item.start, path: itemPath)
            }
            if fields["at"] == nil {
                report(
                    .conflict, "a \(cadenceName) schedule needs 'at' (the time of day, such as at: \"08:00\")",
                    at: everyNode.start, path: fields.path("at"))
            }
            if cadence == .weekly, fields["days"] == nil {
                report(
                    .conflict, "a weekly schedule needs 'days' (such as days: [mon, thu])", at: everyNode.start,
                    path: fields.path("days"))
            }
            if cadence == .monthly {
                if fields["day_of_month"] == nil {
                    report(
                        .conflict, "a monthly schedule needs 'day_of_month' (such as day_of_month: 1)",
                        at: everyNode.start, path: fields.path("day_of_month"))
                }
                if fields["days"] != nil {
                    report(
                        .conflict, "'days' does not apply to a monthly schedule; use 'day_of_month'",
                        at: fields.keyNode("days")!.start, path: fields.path("days"))
                }
            } else if fields["day_of_month"] != nil {
                report(
                    .conflict, "'day_of_month' applies only to 'every: monthly'",
                    at: fields.keyNode("day_of_month")!.start, path: fields.path("day_of_month"))
            }
        }
        return Schedule(
            every: cadence, at: times, days: days, daysOfMonth: monthDays, timezone: zone, catchUp: catchUp,
            overlap: overlap, windows: windows)
    }

    /// A window `HH:MM-HH:MM` of an interval schedule; an end at or before the start wraps past midnight.
    private func clockWindow(_ value: String, _ node: Node, path: String) -> ClockWindow? {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let problem: String
        if parts.count == 2 {
            switch (ValueParsers.clockTime(parts[0]), ValueParsers.clockTime(parts[1])) {
            case (.success(let start), .success(let end)): return ClockWindow(start: start, end: end)
            case (.failure(let failure), _): problem = "the start '\(parts[0])': \(failure.hint)"
            case (_, .failure(let failure)): problem = "the end '\(parts[1])': \(failure.hint)"
            }
        } else {
            problem = "write one start and one end, like 08:00-18:00"
        }
        report(
            .invalidTime,
            "'\(path)' must be a window HH:MM-HH:MM such as 08:00-18:00, got \(shown(value, node)); \(problem)",
            at: node.start, path: path)
        return nil
    }

    // MARK: poll and fetch

    private func pollConfig(_ node: Node, path: String) -> PollConfig? {
        guard let fields = fields(node, path: path, allowed: WorkflowFormat.pollKeys) else { return nil }
        var config = PollConfig()
        let interval = fields["interval"].flatMap { duration($0, path: fields.path("interval")) }
        let maxInterval = fields["max_interval"].flatMap { duration($0, path: fields.path("max_interval")) }
        let timeout = fields["timeout"].flatMap { duration($0, path: fields.path("timeout")) }
        if let interval { config.interval = interval }
        // An interval above the default maximum raises the maximum rather than conflicting with a default.
        config.maxInterval = maxInterval ?? max(config.maxInterval, config.interval)
        if let timeout { config.timeout = timeout }
        if let value = fields["attribution_grace"].flatMap({ duration($0, path: fields.path("attribution_grace")) }) {
            config.attributionGrace = value
        }
        if let maxInterval, maxInterval < config.interval, let node = fields["max_interval"] {
            report(
                .conflict, "'poll.max_interval' (\(maxInterval)) is shorter than 'poll.interval' (\(config.interval))",
                at: node.start, path: fields.path("max_interval"))
        }
        if timeout != nil, config.timeout < config.interval, let node = fields["timeout"] {
            report(
                .conflict, "'poll.timeout' (\(config.timeout)) is shorter than 'poll.interval' (\(config.interval))",
                at: node.start, path: fields.path("timeout"))
        }
        return config
    }

    private func fetchConfig(_ node: Node, path: String) -> FetchConfig? {
        guard let fields = fields(node, path: path, allowed: WorkflowFormat.fetchKeys) else { return nil }
        var config = FetchConfig()
        if let value = fields["from"].flatMap({ choice($0, path: fields.path("from"), as: FetchConfig.Source.self) }) {
            config.from = value
        }
        if let value = fields["concurrency"].flatMap({
            int($0, path: fields.path("concurrency"), range: 1...WorkflowFormat.maxConcurrency)
        }) {
            config.concurrency = value
        }
        if let value = fields["timeout"].flatMap({ duration($0, path: fields.path("timeout")) }) {
            config.timeout = value
        }
        return config
    }

    // MARK: steps

    /// The export steps; `collections` names every collection declared, so that `from:` is checked against the
    /// file as written, not against the collections that decoded without errors — and not at all when
    /// `collections` itself is missing or broken (nil), which is reported already.
    private func exportSteps(_ node: Node, path: String, collections declared: NamedEntries?, workflowName: String)
        -> [ExportStep]?
    {
        guard let items = list(node, path: path, of: "step", allowSingle: false, allowEmpty: true) else { return nil }
        var steps: [ExportStep] = []
        var fileBudget = 200_000
        // The files the steps write, as far as the file tells them (`{workflow}` and `{collection}` filled in,
        // `//` and `.` folded): two templates that differ can still name one file.
        var files = [String: (node: Node, step: Int)](minimumCapacity: items.count)
        for (index, item) in items.enumerated() {
            guard let fields = fields(item, at: FieldPath(path, index: index), allowed: WorkflowFormat.stepKeys) else {
                continue
            }
            let format: ExportStep.Format?
            if let node = fields["export"] {
                format = choice(node, path: fields.path("export"), as: ExportStep.Format.self)
            } else {
                report(
                    .missingKey, "step \(index + 1) needs 'export' (csv, json or ndjson)", at: item.start,
                    path: fields.path("export"))
                format = nil
            }
            var from: [String]?
            if let fromNode = fields["from"] {
                from = collectionReferences(fromNode, path: fields.path("from"), declared: declared)
            }
            var outputPath: String?
            if let node = fields["path"] {
                outputPath = string(node, path: fields.path("path"))
                if let template = outputPath {
                    checkTemplate(template, node: node, path: fields.path("path"))
                    checkFileName(template, node: node, path: fields.path("path"))
                    // Bounded: thousands of per-collection steps over thousands of collections would make this
                    // quadratic; past the budget a step is compared by its template alone.
                    // One hash per new file: the first step to write a file stays its writer.
                    var clash: (file: String, first: Node)?
                    func claim(_ file: String) {
                        guard let earlier = files.updateValue((node, index), forKey: file) else { return }
                        files[file] = earlier
                        if clash == nil, earlier.step != index { clash = (file, earlier.node) }
                    }
                    if fileBudget <= 0 {
                        claim(template)
                    } else if !PathTemplate.isPerCollection(template) {
                        // Nearly every step writes one file: no list of one.
                        fileBudget -= 1
                        claim(PathTemplate.file(of: template, workflow: workflowName))
                    } else {
                        let targets = PathTemplate.files(
                            of: template, workflow: workflowName, collections: from ?? declared?.names ?? [])
                        fileBudget -= targets.count
                        targets.forEach(claim)
                    }
                    if let clash {
                        reportRepeat(
                            "another step already writes '\(clash.file)'; the second would overwrite the first",
                            at: node, of: clash.first, path: fields.path("path"), note: "first written by this step")
                    }
                }
            } else {
                report(
                    .missingKey, "step \(index + 1) needs 'path' (where to write, such as out/{workflow}-{date}.csv)",
                    at: item.start, path: fields.path("path"))
            }
            let (columns, provenance) = checkColumns(
                fields["columns"].flatMap { columnEntries($0, path: fields.path("columns")) },
                fields["provenance"].map { provenanceEntries($0, path: fields.path("provenance")) } ?? Listed(),
                columnsPath: fields.path("columns"), provenancePath: fields.path("provenance"))
            let includeFailed = fields["include_failed"].flatMap { bool($0, path: fields.path("include_failed")) }
            let recordsKey = fields["records_key"].flatMap { string($0, path: fields.path("records_key")) }
            var bom = false
            var formulaGuard = true
            for key in ExportStep.csvOnlyKeys {
                guard let node = fields[key], let value = bool(node, path: fields.path(key)) else { continue }
                if key == "bom" { bom = value } else { formulaGuard = value }
                if let format, let problem = ExportStep.csvOnlyProblem("'\(key)'", format: format) {
                    report(.conflict, problem, at: fields.keyNode(key)!.start, path: fields.path(key))
                }
            }
            // The step's lists and texts are moved into it, not copied (each copy is a retain, and a release).
            steps.append(
                ExportStep(
                    format: format ?? .csv, from: consume from, path: (consume outputPath) ?? "",
                    columns: consume columns, includeFailed: includeFailed ?? false, provenance: consume provenance,
                    recordsKey: consume recordsKey, bom: bom, formulaGuard: formulaGuard))
        }
        return steps
    }

    private func collectionReferences(
        _ node: Node, path: @autoclosure () -> String, declared: NamedEntries?
    ) -> [String]? {
        guard let items = list(node, path: path(), of: "collection name") else { return nil }
        var result: [String] = []
        result.reserveCapacity(items.count)
        // Where each name is first listed; short lists (nearly all) search linearly, long ones hash, a list of
        // one needs neither.
        var listed: [(name: String, item: Int)] = []
        var index: [String: Int]? = items.count > 16 ? Dictionary(minimumCapacity: items.count) : nil
        for (position, item) in items.enumerated() {
            var itemPath: String { node.sequence == nil ? path() : "\(path())[\(position)]" }
            guard let name = text(item, path: itemPath, what: "a collection name") else { continue }
            if let first = index != nil ? index![name] : listed.first(where: { $0.name == name })?.item {
                reportRepeat(
                    ExportStep.repeatedCollectionMessage(name), at: item, of: items[first], path: itemPath,
                    note: "first listed here")
                continue
            }
            index?[name] = position
            if index == nil, items.count > 1 { listed.append((name, position)) }
            guard let declared, !declared.contains(name) else {
                result.append(name)
                continue
            }
            let names = declared.names
            var message = "'\(path())' names '\(name)', which is not a collection of this workflow"
            // A suggestion costs an edit distance per collection, and the list is shown whole only when
            // short: thousands of unknown names among thousands of collections must stay linear and brief.
            if names.count <= WorkflowFormat.maxSuggestionCandidates,
                let suggestion = closestMatch(to: name, in: names)
            {
                message += "; did you mean '\(suggestion)'?"
            } else if !names.isEmpty {
                let shown = names.prefix(10).joined(separator: ", ")
                message += " (collections: \(shown)\(names.count > 10 ? ", … \(names.count - 10) more" : ""))"
            }
            report(.unknownCollection, message, at: item.start, path: itemPath)
        }
        return result
    }

    /// Checks `{placeholder}`s: only the documented names, every `{` closed.
    /// Scans UTF-8 bytes (braces are ASCII) and counts scalars for the offsets that `mark(in:offset:)` takes.
    private func checkTemplate(_ template: String, node: Node, path: @autoclosure () -> String) {
        JSONSerializer.withUTF8(template) { bytes in checkTemplate(bytes, template: template, node: node, path: path())
        }
    }

    private func checkTemplate(
        _ bytes: UnsafeBufferPointer<UInt8>, template: String, node: Node, path: @autoclosure () -> String
    ) {
        guard bytes.contains(where: { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") }) else { return }
        // Offsets count Unicode scalars of the interpolated text; they are places in the file only if it is
        // unchanged (asked only for a diagnostic).
        func mark(in node: Node, offset: Int) -> SourceMark {
            node.scalar?.text != template ? node.start : self.mark(in: node, offset: offset)
        }
        var index = 0
        var offset = 0  // Unicode scalars before `index`.
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "}") {
                report(
                    .badPathTemplate, "'}' without a matching '{' in '\(path())'", at: mark(in: node, offset: offset),
                    path: path())
                return
            }
            guard bytes[index] == UInt8(ascii: "{") else {
                if bytes[index] & 0xC0 != 0x80 { offset += 1 }
                index += 1
                continue
            }
            guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")) else {
                report(
                    .badPathTemplate, "'{' without a closing '}' in '\(path())'", at: mark(in: node, offset: offset),
                    path: path())
                return
            }
            if !PathTemplate.isPlaceholder(bytes[index...close]) {
                let name = String(decoding: bytes[(index + 1)..<close], as: UTF8.self)
                var message = "unknown placeholder '{\(name)}' in '\(path())'"
                if let suggestion = closestMatch(to: name, in: WorkflowFormat.pathPlaceholders) {
                    message += "; did you mean '{\(suggestion)}'?"
                } else {
                    message +=
                        " (placeholders: " + WorkflowFormat.pathPlaceholders.map { "{\($0)}" }.joined(separator: ", ")
                        + ")"
                }
                report(.badPathTemplate, message, at: mark(in: node, offset: offset), path: path())
            }
            offset += bytes[index...close].count { $0 & 0xC0 != 0x80 }  // the braces and the name's scalars
            index = close + 1
        }
    }

    /// A path is a file name: no control characters (an interpolated newline or NUL would become part of it, or
    /// cut it short), and a last component that names a file, not a folder.
    private func checkFileName(_ template: String, node: Node, path: @autoclosure () -> String) {
        // Control characters are ASCII: found by byte, then read as the scalar there.
        // The last component is a folder when it is empty, `.` or `..`.
        let (control, namesFolder) = JSONSerializer.withUTF8(template) { bytes in
            let last = bytes[((bytes.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1)...]
            return (
                bytes.firstIndex { $0 < 0x20 || $0 == 0x7F },
                last.count <= 2 && last.allSatisfy { $0 == UInt8(ascii: ".") }
            )
        }
        if let control {
            let scalar = template.unicodeScalars[template.utf8.index(template.utf8.startIndex, offsetBy: control)]
            let hex = String(scalar.value, radix: 16, uppercase: true)
            let name = scalar == "\n" ? " (a newline)" : scalar == "\t" ? " (a tab)" : scalar == "\0" ? " (NUL)" : ""
            report(
                .badPathTemplate,
                "'\(path())' holds the control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex)\(name); a file name cannot hold it",
                at: node.start, path: path())
            return
        }
        if namesFolder {
            report(
                .badPathTemplate,
                "'\(path())' names a folder; end it with a file name, such as \(template.hasSuffix("/") ? template : template + "/"){workflow}.csv",
                at: node.start, path: path())
        }
    }

    /// Where each value of a `columns:` or `provenance:` list was written, for the step checks. The values are
    /// kept apart from their places, so a step without problems uses its list as read. The key path is built
    /// only when a diagnostic needs it: a large file has tens of thousands of columns.
    private struct Listed<Value> {
        var values: [Value] = []
        var places: [Place] = []

        mutating func append(_ value: Value, at mark: SourceMark, index: Int?) {
            values.append(value)
            places.append(Place(mark: mark, index: index))
        }
    }

    private struct Place {
        var mark: SourceMark
        /// The entry's index in its list (`nil` for a single value standing for the list).
        var index: Int?

        func path(in listPath: String) -> String { index.map { "\(listPath)[\($0)]" } ?? listPath }
    }

    private func columnEntries(_ node: Node, path: @autoclosure () -> String) -> Listed<ColumnSpec>? {
        guard let items = list(node, path: path(), of: "column", allowSingle: false) else { return nil }
        var columns = Listed<ColumnSpec>()
        columns.values.reserveCapacity(items.count)
        columns.places.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            var itemPath: String { "\(path())[\(index)]" }
            if let pairs = item.mapping {
                guard pairs.count == 1, let key = pairs[0].key.scalar, !key.isNull else {
                    report(
                        .wrongType,
                        "'\(itemPath)' must be a column name, or one 'output: source' pair such as 'price: price.amount'",
                        at: item.start, path: itemPath)
                    continue
                }
                guard !refusesSecret(inKey: key.text, pairs[0].key, path: itemPath),
                    let source = string(pairs[0].value, path: "\(itemPath).\(key.text)")
                else { continue }
                columns.append(ColumnSpec(name: key.text, source: source), at: pairs[0].key.start, index: index)
            } else {
                guard let name = string(item, path: itemPath) else { continue }
                columns.append(ColumnSpec(name), at: item.start, index: index)
            }
        }
        return columns
    }

    private func provenanceEntries(_ node: Node, path: @autoclosure () -> String) -> Listed<ExportStep.Provenance> {
        var result = Listed<ExportStep.Provenance>()
        for (index, item) in (list(node, path: path(), of: "provenance column") ?? []).enumerated() {
            let entryIndex = node.sequence == nil ? nil : index
            var itemPath: String { entryIndex.map { "\(path())[\($0)]" } ?? path() }
            guard let value = choice(item, path: itemPath, as: ExportStep.Provenance.self) else { continue }
            result.append(value, at: item.start, index: entryIndex)
        }
        return result
    }

    /// Reports what `ExportStep.problems` finds (the rules `cartflow export` and the exporter apply too) at the
    /// entry, with a note at the entry it clashes with; returns the entries without a problem.
    private func checkColumns(
        _ columns: Listed<ColumnSpec>?, _ provenance: Listed<ExportStep.Provenance>,
        columnsPath: @autoclosure () -> String, provenancePath: @autoclosure () -> String
    ) -> ([ColumnSpec]?, [ExportStep.Provenance]) {
        let problems = ExportStep.problems(columns: columns?.values, provenance: provenance.values)
        guard !problems.isEmpty else { return (columns?.values, provenance.values) }
        var badColumns = Set<Int>()
        var badProvenance = Set<Int>()
        let columnPlaces = columns?.places ?? []
        for problem in problems {
            let message = problem.message { "'\($0): \($1)'" }
            switch problem {
            case .emptyColumnName(let index, _), .emptyColumnSource(let index, _):
                let place = columnPlaces[index]
                report(.wrongType, message, at: place.mark, path: place.path(in: columnsPath()))
                badColumns.insert(index)
            case .duplicateColumnName(let index, let first, _, _):
                let place = columnPlaces[index]
                report(
                    .duplicateValue, message, at: place.mark, path: place.path(in: columnsPath()),
                    notes: [.init(message: "first defined here", location: location(columnPlaces[first].mark))])
                badColumns.insert(index)
            case .columnNamedLikeProvenance(let index, let owner, _, _):
                let place = columnPlaces[index]
                report(
                    .duplicateValue, message, at: place.mark, path: place.path(in: columnsPath()),
                    notes: [
                        .init(
                            message: "provenance column listed here", location: location(provenance.places[owner].mark))
                    ])
                badColumns.insert(index)
            case .duplicateProvenance(let index, let first, _):
                let place = provenance.places[index]
                report(
                    .duplicateValue, message, at: place.mark, path: place.path(in: provenancePath()),
                    notes: [.init(message: "first listed here", location: location(provenance.places[first].mark))])
                badProvenance.insert(index)
            }
        }
        let kept = columns.map { listed in
            listed.values.indices.filter { !badColumns.contains($0) }.map { listed.values[$0] }
        }
        return (
            kept, provenance.values.indices.filter { !badProvenance.contains($0) }.map { provenance.values[$0] }
        )
    }
}
