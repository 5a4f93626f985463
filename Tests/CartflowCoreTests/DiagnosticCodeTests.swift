import CartflowCore
import CartflowTestSupport
import CartflowYAML
import Foundation
import Testing

/// One example per diagnostic code, with the exact place it must be reported.
struct CodeExample: Sendable, CustomStringConvertible {
    var code: DiagnosticCode
    var yaml: String
    var environment: [String: String] = keyedEnvironment
    var limits: YAMLLimits = .default
    var description: String { code.rawValue }
}

let codeExamples: [CodeExample] = [
    CodeExample(
        code: .tooLarge, yaml: "1️⃣cartflow: 1\ncollections: { a: { id: 1 } }\n", limits: YAMLLimits(maxBytes: 10)),
    CodeExample(code: .syntax, yaml: "cartflow: 1\nname: a1️⃣: b\n"),
    CodeExample(code: .tabIndentation, yaml: "cartflow: 1\ncollections:\n  a: { id: 1 }\n1️⃣\tname: x\n"),
    CodeExample(code: .multipleDocuments, yaml: "cartflow: 1\n1️⃣---\ncartflow: 1\n"),
    CodeExample(code: .empty, yaml: "1️⃣# nothing here\n"),
    CodeExample(code: .tooDeep, yaml: "cartflow: 1\ncollections: [[1️⃣[1]]]\n", limits: YAMLLimits(maxDepth: 3)),
    CodeExample(
        code: .aliasExpansion, yaml: "cartflow: 1\nx: &x [1, 2, 3]\ny: 1️⃣*x\n", limits: YAMLLimits(maxAliasNodes: 2)),
    CodeExample(code: .mergeKey, yaml: "cartflow: 1\ncollections:\n  a: &a { id: 1 }\n  b:\n    1️⃣<<: *a\n    id: 2\n"),
    CodeExample(code: .undefinedAlias, yaml: "cartflow: 1\ndescription: 1️⃣*nope\n"),
    CodeExample(code: .tag, yaml: "cartflow: 1\ndescription: 1️⃣!!str yes\n"),
    CodeExample(code: .missingKey, yaml: "1️⃣collections: { a: { id: 1 } }\n"),
    CodeExample(code: .wrongType, yaml: "cartflow: 1\ncollections: 1️⃣[a, b]\n"),
    CodeExample(code: .unknownKey, yaml: header + "poll:\n  1️⃣intervall: 15s\n"),
    CodeExample(code: .duplicateKey, yaml: header + "name: a\n1️⃣name: b\n"),
    CodeExample(code: .invalidBoolean, yaml: header + "steps:\n  - { export: csv, path: x.csv, bom: 1️⃣yes }\n"),
    CodeExample(code: .invalidInteger, yaml: "cartflow: 1\ncollections: { a: { id: 1️⃣-5 } }\n"),
    CodeExample(code: .invalidDuration, yaml: header + "poll: { interval: 1️⃣15 }\n"),
    CodeExample(code: .invalidTime, yaml: header + "schedule: { every: daily, at: 1️⃣\"25:00\" }\n"),
    CodeExample(code: .invalidDay, yaml: header + "schedule: { every: weekly, at: \"08:00\", days: [mon, 1️⃣funday] }\n"),
    CodeExample(code: .invalidTimeZone, yaml: header + "schedule: { every: 1h, timezone: 1️⃣Etc/GMT+10 }\n"),
    CodeExample(code: .invalidChoice, yaml: header + "fetch: { from: 1️⃣page }\n"),
    CodeExample(code: .unsupportedVersion, yaml: "cartflow: 1️⃣2\ncollections: { a: { id: 1 } }\n"),
    CodeExample(code: .invalidName, yaml: header + "name: 1️⃣\"my workflow\"\n"),
    CodeExample(code: .invalidURL, yaml: header + "api: { base_url: 1️⃣ftp://example.com }\n"),
    CodeExample(code: .literalSecret, yaml: header + "api:\n  key: 1️⃣sk-live-abc123\n"),
    CodeExample(code: .unsetVariable, yaml: header + "description: 1️⃣${NOPE}\n"),
    CodeExample(code: .badInterpolation, yaml: header + "description: x 1️⃣${2BAD}\n"),
    CodeExample(code: .apiKeyUnset, yaml: header + "api:\n  key: 1️⃣${MY_KEY}\n", environment: [:]),
    CodeExample(code: .badPathTemplate, yaml: header + "steps:\n  - export: csv\n    path: out/1️⃣{name}.csv\n"),
    CodeExample(
        code: .unknownCollection,
        yaml: header + "steps:\n  - export: csv\n    path: x.csv\n    from: [laptops, 1️⃣lapotps]\n"),
    CodeExample(code: .conflict, yaml: header + "schedule:\n  every: 1️⃣weekly\n  at: \"08:00\"\n"),
    CodeExample(code: .emptyCollection, yaml: "cartflow: 1\ncollections: 1️⃣{}\n"),
    CodeExample(
        code: .duplicateValue, yaml: header + "schedule: { every: weekly, at: \"08:00\", days: [mon, 1️⃣mon] }\n"),
]

@Suite("Every diagnostic code")
struct DiagnosticCodeTests {
    @Test(arguments: codeExamples)
    func exampleReportsItsCodeAtTheMarker(_ example: CodeExample) {
        let marked = MarkedText(example.yaml)
        let result = WorkflowLoader.load(
            text: marked.text, path: "wf.yaml", environment: example.environment, limits: example.limits)
        #expect(spots(result) == [spot(example.code, marked, "1️⃣")])
        #expect(result.diagnostics.first?.severity == example.code.defaultSeverity)
        #expect((result.workflow == nil) == (example.code.defaultSeverity == .error))
    }

    /// CF001 and CF003 need a missing file and raw bytes; their tests are in ValidWorkflowTests and FieldCaseTests.
    @Test func everyCodeHasAnExample() {
        let covered = Set(codeExamples.map(\.code)).union([.unreadable, .invalidUTF8])
        #expect(covered == Set(DiagnosticCode.allCases))
    }

    @Test func messagesSayWhatToWrite() {
        let cases: [(String, String)] = [
            (header + "poll: { intervall: 15s }\n", "unknown key 'intervall' in 'poll'; did you mean 'interval'?"),
            (
                header + "schedule: { every: 1h, timezone: Etc/GMT+10 }\n",
                "'schedule.timezone' must be an IANA time zone (Australia/Sydney) or a fixed offset (UTC+10, UTC-03:30), got 'Etc/GMT+10'; 'Etc/GMT+10' means UTC-10 (POSIX inverts the sign); write UTC-10 for a fixed offset, or a city zone such as Australia/Sydney"
            ),
            (
                header + "fetch: { from: page }\n",
                "'fetch.from' must be one of pages, zip, got 'page'; did you mean 'pages'?"
            ),
            (
                header + "poll: { interval: 15 }\n",
                "'poll.interval' must be a duration such as 90s, 15m or 1h30m, got '15'; add a unit: write 15s, 15m or 15h"
            ),
            (
                header + "poll: { interval: 1.5h }\n",
                "'poll.interval' must be a duration such as 90s, 15m or 1h30m, got '1.5h'; use whole units, such as 1h30m or 90s"
            ),
            (
                header + "schedule: { every: weekly, at: \"08:00\" }\n",
                "a weekly schedule needs 'days' (such as days: [mon, thu])"
            ),
            (
                header + "schedule: { every: monthly, at: \"08:00\" }\n",
                "a monthly schedule needs 'day_of_month' (such as day_of_month: 1)"
            ),
            (
                header + "schedule: { every: daily }\n",
                "a daily schedule needs 'at' (the time of day, such as at: \"08:00\")"
            ),
            (
                header + "schedule: { every: 15m, catch_up: all }\n",
                "'catch_up: all' is refused for interval schedules: after downtime it would start one paid run per missed interval; use latest or none"
            ),
            (header + "schedule: { every: 30s }\n", "'schedule.every' must be at least 1m, got '30s'"),
            (
                header + "schedule: { every: hourly }\n",
                "'schedule.every' must be daily, weekly, monthly or an interval such as 15m or 2h, got 'hourly'; write 1h"
            ),
            (
                header + "fetch: { concurrency: 64 }\n",
                "'fetch.concurrency' must be a whole number from 1 to 32, got '64'"
            ),
            (
                header + "steps: [{ export: json, path: x.json, bom: true }]\n",
                "'bom' applies only to CSV exports; this step exports json"
            ),
            (
                header + "credits: { on_insufficient: fail, wait: { limit: 1h } }\n",
                "'credits.wait' applies only with 'on_insufficient: wait'"
            ),
            (
                header + "steps: [{ export: csv, path: \"out/{colection}.csv\" }]\n",
                "unknown placeholder '{colection}' in 'steps[0].path'; did you mean '{collection}'?"
            ),
            (
                "cartflow: 1\ncollections: { a: { id: 7 }, b: { id: 7 } }\n",
                "collection id 7 is already used by 'a'; each collection would be run (and paid for) twice"
            ),
        ]
        for (yaml, message) in cases {
            let result = WorkflowLoader.load(text: yaml, path: "wf.yaml", environment: keyedEnvironment)
            #expect(result.diagnostics.map(\.message) == [message])
        }
    }

    @Test func zonesAndOffsets() throws {
        let text = header + "schedule: { every: 1h, timezone: UTC-03:30 }\n"
        #expect(
            WorkflowLoader.load(text: text, path: "wf.yaml", environment: keyedEnvironment).workflow?.schedule?.timezone
                == .fixed(offsetSeconds: -12_600))
        #expect(try ValueParsers.zone("UTC+10").get() == .fixed(offsetSeconds: 36_000))
        #expect(try ValueParsers.zone("Australia/Sydney").get() == .iana("Australia/Sydney"))
        #expect(try ValueParsers.zone("UTC").get() == .utc)
        for refused in ["Etc/GMT+10", "GMT+10", "AEST", "australia/sydney", "UTC+15", "UTC+1:5", "Mars/Olympus"] {
            #expect(throws: ValueParsers.Problem.self, "\(refused)") { try ValueParsers.zone(refused).get() }
        }
    }

    @Test func durations() throws {
        #expect(try ValueParsers.duration("90s").get() == Seconds(90))
        #expect(try ValueParsers.duration("1h30m").get() == Seconds(5400))
        #expect(try ValueParsers.duration("2d").get() == Seconds(172_800))
        for refused in ["", "15", "m", "30m1h", "1.5h", "10ms", "1h1h", "-5m", "367d"] {
            #expect(throws: ValueParsers.Problem.self, "\(refused)") { try ValueParsers.duration(refused).get() }
        }
    }

    @Test func integers() throws {
        #expect(try ValueParsers.integer("0").get() == 0)
        #expect(try ValueParsers.integer("-12").get() == -12)
        for refused in ["010", "+5", "1_000", "1e3", "10.0", "0x10", "99999999999999999999", "", "-"] {
            #expect(throws: ValueParsers.Problem.self, "\(refused)") { try ValueParsers.integer(refused).get() }
        }
    }

    @Test func dayNamesAcceptShortAndFullNamesInAnyCase() {
        #expect(ValueParsers.weekday("mon") == .monday)
        #expect(ValueParsers.weekday("Sunday") == .sunday)
        #expect(ValueParsers.weekday("SAT") == .saturday)
        #expect(ValueParsers.weekday("mo") == nil)
    }
}

@Test func diagnosticsCatalogueDocumentsEveryCode() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let catalogue = try String(contentsOf: root.appendingPathComponent("docs/diagnostics.md"), encoding: .utf8)
    for code in DiagnosticCode.allCases {
        #expect(catalogue.contains("## \(code.rawValue)\n"), "\(code.rawValue) missing from docs/diagnostics.md")
    }
}
