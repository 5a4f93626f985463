import CartflowCore
import CartflowTestSupport
import Foundation
import Testing

@Suite("Loading valid workflows")
struct ValidWorkflowTests {
    @Test func fullExampleDecodesEveryField() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/au-laptops.yaml")
        let result = WorkflowLoader.load(path: url.path, environment: keyedEnvironment)
        #expect(result.diagnostics == [])
        let workflow = try #require(result.workflow)
        #expect(workflow.name == "au-laptops")
        #expect(workflow.description == "Twice-daily price check of AU laptops")
        #expect(workflow.api.baseURL == "https://multicartapi.com/api/v1")
        #expect(workflow.api.key == Secret(value: "test-key-123", origin: "${MULTICART_API_KEY}"))
        #expect(workflow.api.allowedDownloadHosts == ["files.multicartapi.com"])
        #expect(workflow.api.timeout == Seconds(90))
        #expect(
            workflow.collections == [
                CollectionSpec(name: "laptops", id: 101, items: 250, title: "AU Laptops"),
                CollectionSpec(name: "phones", id: 102),
            ])
        #expect(
            workflow.credits
                == CreditRules(
                    reserve: 200, maxSpend: 1000, onInsufficient: .wait(limit: Seconds(7200), interval: Seconds(600))))
        #expect(
            workflow.schedule
                == Schedule(
                    every: .daily, at: [ClockTime(hour: 8, minute: 0), ClockTime(hour: 18, minute: 0)],
                    days: [.monday, .tuesday, .wednesday, .thursday, .friday], timezone: .iana("Australia/Brisbane")))
        #expect(
            workflow.poll
                == PollConfig(
                    interval: Seconds(15), maxInterval: Seconds(120), timeout: Seconds(3600),
                    attributionGrace: Seconds(120)))
        #expect(workflow.fetch == FetchConfig(from: .pages, concurrency: 4, timeout: Seconds(600)))
        #expect(
            workflow.steps == [
                ExportStep(
                    format: .csv, path: "out/{workflow}-{date}.csv",
                    columns: [
                        ColumnSpec("asin"), ColumnSpec("title"), ColumnSpec(name: "price", source: "price.amount"),
                        ColumnSpec("price.currency"), ColumnSpec("availability"),
                    ],
                    provenance: [.collection, .runner, .scrapedAt], formulaGuard: true),
                ExportStep(
                    format: .ndjson, from: ["laptops"], path: "out/laptops-{runner}.ndjson", includeFailed: true),
            ])
    }

    @Test func minimalExampleTakesDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/minimal.yaml")
        let result = WorkflowLoader.load(path: url.path, environment: keyedEnvironment)
        #expect(result.diagnostics == [])
        let workflow = try #require(result.workflow)
        #expect(workflow.name == "minimal")
        #expect(workflow.api == APIConfig(key: Secret(value: "test-key-123", origin: "${MULTICART_API_KEY}")))
        #expect(workflow.credits == CreditRules())
        #expect(workflow.schedule == nil)
        #expect(workflow.poll == PollConfig())
        #expect(workflow.fetch == FetchConfig())
    }

    /// Every sample in the fixtures (and, once the lead adds it, every file in workflows/) validates with cartflow.
    @Test func everyExampleFileValidates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        var folders = [root.appendingPathComponent("Fixtures").path]
        let workflows = root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("workflows")
            .path
        if FileManager.default.fileExists(atPath: workflows) { folders.append(workflows) }
        let listing = WorkflowLoader.workflowFiles(in: folders)
        #expect(listing.problems == [])
        #expect(listing.files.count >= 2)
        for file in listing.files {
            let result = WorkflowLoader.load(path: file, environment: keyedEnvironment)
            #expect(result.diagnostics.filter { $0.severity == .error } == [], "\(file)")
            #expect(result.workflow != nil, "\(file)")
        }
    }

    @Test func workflowFilesListsYAMLFilesSortedAndReportsMissingPaths() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cartflow-list-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["b.yml", "a.yaml", "notes.txt", "c.yaml"] {
            try Data().write(to: folder.appendingPathComponent(name))
        }
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let listing = WorkflowLoader.workflowFiles(in: [folder.path, folder.path + "/missing.yaml", empty.path])
        #expect(listing.files == ["a.yaml", "b.yml", "c.yaml"].map { folder.path + "/" + $0 })
        #expect(listing.problems.map(\.code) == ["CF001", "CF001"])
        #expect(
            listing.problems.map(\.message) == [
                "no such file or folder", "no workflow files (*.yaml, *.yml) in this folder",
            ])
    }

    /// `validate f f` (or `f ./f`, or a folder and a file in it) checks each file once, named as first given.
    @Test func aFileNamedTwiceIsListedOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cartflow-twice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.path
        try "cartflow: 1\n".write(toFile: folder + "/a.yaml", atomically: true, encoding: .utf8)
        try "cartflow: 1\n".write(toFile: folder + "/b.yml", atomically: true, encoding: .utf8)
        let listing = WorkflowLoader.workflowFiles(in: [
            folder + "/b.yml", folder + "/b.yml", folder + "/./b.yml", folder, folder + "/a.yaml", folder + "/",
        ])
        #expect(listing.files == [folder + "/b.yml", folder + "/a.yaml"])
        #expect(listing.problems.isEmpty)
    }

    /// A folder named like a workflow file is listed with the files of its parent; it gets a plain CF001, not a
    /// dump of Foundation's error.
    @Test func aFolderNamedLikeAWorkflowFileIsACleanCF001() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cartflow-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("sub.yaml"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let listing = WorkflowLoader.workflowFiles(in: [folder.path])
        #expect(listing.files == [folder.path + "/sub.yaml"])
        let result = WorkflowLoader.load(path: listing.files[0], environment: keyedEnvironment)
        #expect(spots(result) == [Spot(code: "CF001", line: 1, column: 1)])
        #expect(result.diagnostics.map(\.message) == ["this is a folder, not a workflow file"])
    }

    @Test func missingFileIsCF001() {
        let result = WorkflowLoader.load(path: "/nonexistent/x.yaml", environment: [:])
        #expect(result.workflow == nil)
        #expect(result.diagnostics.map(\.code) == ["CF001"])
    }

    @Test func fileOverTheSizeLimitIsCF002() {
        let text = header + "description: " + String(repeating: "x", count: 2000) + "\n"
        let result = WorkflowLoader.load(
            text: text, path: "big.yaml", environment: keyedEnvironment, limits: .init(maxBytes: 1024))
        #expect(result.diagnostics.map(\.code) == ["CF002"])
        #expect(result.workflow == nil)
    }
}

/// A file within the size limit must load in time linear in its size: lists that are checked for repeats, and
/// unknown names that get a suggestion, must not make validation quadratic (a CI job stuck for minutes).
@Suite("Loading large files")
struct LargeFileTests {
    @Test(.timeLimit(.minutes(1)))
    func sixtyThousandColumnsLoadQuickly() throws {
        let columns = (0..<60_000).map { "c\($0)" }.joined(separator: ", ")
        let text = header + "steps:\n  - export: csv\n    path: a.csv\n    columns: [\(columns), c7]\n"
        let result = WorkflowLoader.load(text: text, path: "big.yaml", environment: keyedEnvironment)
        #expect(result.diagnostics.map(\.code) == ["CF122"])
        // The first c7 is after "    columns: [" and seven "cN, " entries.
        #expect(result.diagnostics.first?.notes.first?.location.column == 1 + "    columns: [".count + 7 * 4)
    }

    @Test(.timeLimit(.minutes(1)))
    func unknownReferencesAmongManyCollectionsGiveShortMessages() throws {
        let collections = (0..<20_000).map { "  c\($0): { id: \($0 + 1) }\n" }.joined()
        let from = (0..<3_000).map { "x\($0)" }.joined(separator: ", ")
        let text =
            "cartflow: 1\ncollections:\n" + collections
            + "steps:\n  - export: csv\n    path: a.csv\n    from: [\(from), x1]\n"
        let result = WorkflowLoader.load(text: text, path: "big.yaml", environment: keyedEnvironment)
        #expect(result.diagnostics.count == 3_001)
        #expect(result.diagnostics.allSatisfy { $0.message.count < 300 })
        #expect(result.diagnostics.filter { $0.code == "CF122" }.count == 1)
        // Rendering every diagnostic with its source line is linear too (the file is split once, not per line).
        let rendered = result.diagnostics.map { $0.render(sourceText: result.sourceText) }
        #expect(rendered.last?.contains(" | ") == true)
    }
}
