/// The typed form of a workflow file (format version 1), produced by `WorkflowLoader` and consumed by
/// the planner, the scheduler and the runtime. Every value here is already validated.
public struct Workflow: Sendable, Equatable {
    /// The format version (`cartflow: 1`).
    public var formatVersion: Int
    /// The workflow's name (`name:`, default: the file name without extension).
    public var name: String
    public var description: String?
    /// The file it was loaded from, as given on the command line.
    public var sourcePath: String
    public var api: APIConfig
    /// The collections in file order.
    public var collections: [CollectionSpec]
    public var credits: CreditRules
    /// `nil` when the workflow is manual only.
    public var schedule: Schedule?
    public var poll: PollConfig
    public var fetch: FetchConfig
    public var steps: [ExportStep]

    public init(
        formatVersion: Int = 1, name: String, description: String? = nil, sourcePath: String,
        api: APIConfig = APIConfig(), collections: [CollectionSpec], credits: CreditRules = CreditRules(),
        schedule: Schedule? = nil, poll: PollConfig = PollConfig(), fetch: FetchConfig = FetchConfig(),
        steps: [ExportStep] = []
    ) {
        self.formatVersion = formatVersion
        self.name = name
        self.description = description
        self.sourcePath = sourcePath
        self.api = api
        self.collections = collections
        self.credits = credits
        self.schedule = schedule
        self.poll = poll
        self.fetch = fetch
        self.steps = steps
    }

    /// The collection with the given local name.
    public func collection(named localName: String) -> CollectionSpec? {
        collections.first { $0.name == localName }
    }
}

/// A secret value (the API key). Its description never shows the value.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The value itself; only the HTTP transport should read it.
    public let value: String
    /// Where it came from, e.g. `${MULTICART_API_KEY}`, safe to show.
    public let origin: String

    public init(value: String, origin: String) {
        self.value = value
        self.origin = origin
    }

    public var description: String { "<secret from \(origin)>" }
    public var debugDescription: String { description }
}

/// `api:` — where the MultiCart API is and how to authenticate.
public struct APIConfig: Sendable, Equatable {
    public static let defaultBaseURL = "https://multicartapi.com/api/v1"
    public static let defaultKeyReference = "${MULTICART_API_KEY}"

    /// The base URL, without a trailing slash.
    public var baseURL: String
    /// The API key; `nil` when the referenced environment variable is unset (an error for `run`,
    /// reported by `validate` and `plan --offline` only as a warning).
    public var key: Secret?
    /// The text of the `key:` field as written (always an interpolation), for messages.
    public var keyReference: String
    /// Hosts other than the API host that downloads may come from (never sent the key).
    public var allowedDownloadHosts: [String]
    /// The deadline of each attempt of an API call (`api.timeout`).
    public var timeout: Seconds

    public init(
        baseURL: String = APIConfig.defaultBaseURL, key: Secret? = nil,
        keyReference: String = APIConfig.defaultKeyReference, allowedDownloadHosts: [String] = [],
        timeout: Seconds = Seconds(60)
    ) {
        self.baseURL = baseURL
        self.key = key
        self.keyReference = keyReference
        self.allowedDownloadHosts = allowedDownloadHosts
        self.timeout = timeout
    }

    /// Why `url` cannot be an API base URL, in plain words (`credentials do not belong in the URL`), or nil: the
    /// check `api.base_url` gets in a workflow file, for a URL that comes from elsewhere (`MULTICART_BASE_URL`).
    public static func baseURLProblem(_ url: String) -> String? {
        WorkflowDecoder.urlProblem(url.hasSuffix("/") ? String(url.dropLast()) : url)
    }

    /// `url` without its userinfo (`http://bob:hunter2@host/…` → `http://host/…`), for every place a base URL is
    /// shown: such a URL is refused on loading, and if one got through it would still not be printed.
    public static func displayed(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let authorityEnd =
            url[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" })
            ?? url.endIndex
        guard let at = url[scheme.upperBound..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(url[url.index(after: at)...])
    }
}

/// One entry of `collections:`.
public struct CollectionSpec: Sendable, Equatable {
    /// The local name (the mapping key), used by steps' `from:` and in path templates.
    public var name: String
    /// The MultiCart collection id.
    public var id: Int
    /// The expected item count, used when the API cannot tell (offline plans).
    public var items: Int?
    /// The collection's display name on MultiCart, if given (used by the sandbox to name files).
    public var title: String?

    public init(name: String, id: Int, items: Int? = nil, title: String? = nil) {
        self.name = name
        self.id = id
        self.items = items
        self.title = title
    }
}

/// `credits:` — the credit threshold rules.
public struct CreditRules: Sendable, Equatable {
    public enum OnInsufficient: Sendable, Equatable {
        case fail
        case skip
        /// Poll the balance every `interval` for at most `limit`.
        case wait(limit: Seconds, interval: Seconds)
    }

    /// Keep at least this many credits after the runs.
    public var reserve: Int
    /// Never spend more than this in one workflow run; `nil` = no limit.
    public var maxSpend: Int?
    public var onInsufficient: OnInsufficient

    public init(reserve: Int = 0, maxSpend: Int? = nil, onInsufficient: OnInsufficient = .fail) {
        self.reserve = reserve
        self.maxSpend = maxSpend
        self.onInsufficient = onInsufficient
    }
}

/// A duration in whole seconds, as written in workflow files (`90s`, `15m`, `1h30m`).
public struct Seconds: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Int
    public init(_ value: Int) { self.value = value }
    public static func < (a: Seconds, b: Seconds) -> Bool { a.value < b.value }
    public var duration: Duration { .seconds(value) }

    /// The canonical text: `1h30m`, `15m`, `90s` → `1m30s`.
    public var description: String {
        if value == 0 { return "0s" }
        var rest = value
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}

/// `poll:` — how to wait for a runner to finish.
public struct PollConfig: Sendable, Equatable {
    public var interval: Seconds
    public var maxInterval: Seconds
    public var timeout: Seconds
    /// How long to wait for the triggered runner to appear in the history.
    public var attributionGrace: Seconds

    public init(
        interval: Seconds = Seconds(15), maxInterval: Seconds = Seconds(120), timeout: Seconds = Seconds(3_600),
        attributionGrace: Seconds = Seconds(120)
    ) {
        self.interval = interval
        self.maxInterval = maxInterval
        self.timeout = timeout
        self.attributionGrace = attributionGrace
    }
}

/// `fetch:` — how result files are downloaded.
public struct FetchConfig: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable, CaseIterable {
        case pages
        case zip
    }

    public var from: Source
    public var concurrency: Int
    /// The most one file (a page or the ZIP) may take to download, every attempt included (`fetch.timeout`).
    public var timeout: Seconds

    public init(from: Source = .pages, concurrency: Int = 4, timeout: Seconds = Seconds(300)) {
        self.from = from
        self.concurrency = concurrency
        self.timeout = timeout
    }
}

/// One post-download step (`steps:` entry).
public struct ExportStep: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable, CaseIterable {
        case csv
        case json
        case ndjson
    }

    /// Extra columns describing where a record came from.
    public enum Provenance: String, Sendable, Equatable, CaseIterable {
        case collection
        case runner
        case scrapedAt = "scraped_at"
    }

    public var format: Format
    /// Local collection names this step reads; `nil` = all collections of the workflow.
    public var from: [String]?
    /// The output path template (`{workflow}`, `{collection}`, `{runner}`, `{date}`, `{time}`).
    public var path: String
    /// A fixed set and order of columns; `nil` = the union of all columns in first-seen order.
    public var columns: [ColumnSpec]?
    /// Keep records of items that failed to scrape (default false).
    public var includeFailed: Bool
    /// Provenance columns to add, in this order, before the record's own columns.
    public var provenance: [Provenance]
    /// The key of the records array when pages are objects; `nil` = detect.
    public var recordsKey: String?
    /// CSV only: write a UTF-8 byte order mark (for spreadsheets).
    public var bom: Bool
    /// CSV only: neutralise strings that a spreadsheet would run as a formula (default true).
    public var formulaGuard: Bool

    public init(
        format: Format, from: [String]? = nil, path: String, columns: [ColumnSpec]? = nil,
        includeFailed: Bool = false, provenance: [Provenance] = [], recordsKey: String? = nil, bom: Bool = false,
        formulaGuard: Bool = true
    ) {
        self.format = format
        self.from = from
        self.path = path
        self.columns = columns
        self.includeFailed = includeFailed
        self.provenance = provenance
        self.recordsKey = recordsKey
        self.bom = bom
        self.formulaGuard = formulaGuard
    }
}

/// One entry of a step's `columns:` — `asin` or `price: price.amount` (output name: source path).
public struct ColumnSpec: Sendable, Equatable {
    /// The header text in the output.
    public var name: String
    /// The dotted path in the flattened record.
    public var source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    public init(_ path: String) {
        self.init(name: path, source: path)
    }
}
