import CartflowTestSupport
import Foundation
import Testing

/// `cartflow export` on local page files: its options are checked with the loader's rules for a step.
@Suite struct ExportCommandEndToEndTests {
    /// Runs `cartflow export` in a fresh directory holding `page.json`.
    private func export(_ arguments: [String], page: String = #"[{"asin": "A", "runner": 5}]"#) async throws
        -> (CartflowProcess.Result, URL)
    {
        let directory = try CartflowProcess.temporaryDirectory("export")
        try Data(page.utf8).write(to: directory.appendingPathComponent("page.json"))
        let result = try await CartflowProcess.run(
            ["export", "--format", "csv", "--out", "out.csv"] + arguments + ["page.json"], in: directory)
        return (result, directory)
    }

    /// The options that would make a step the loader refuses are usage errors (exit 2), and nothing is written.
    @Test(
        arguments: [
            (
                ["--provenance", "runner", "--columns", "asin,runner"],
                "--columns: column 'runner' has the name of the provenance column 'runner', which comes first and keeps it; give the column another output name ('other:runner')"
            ),
            (["--provenance", "runner,runner"], "--provenance: provenance column 'runner' is listed twice"),
            (
                ["--columns", "x:a,x:b"],
                "--columns: column 'x' appears twice; give one of them another output name ('other:b')"
            ),
            (["--columns", ""], "--columns is empty; give a comma-separated list such as 'asin,price:price.amount'"),
            (
                ["--columns", " , "],
                "--columns is empty; give a comma-separated list such as 'asin,price:price.amount'"
            ),
            (
                ["--columns", "a,,b"],
                "--columns has an empty entry (entry 2 of 'a,,b'); give a comma-separated list such as 'asin,price:price.amount'"
            ),
            (
                ["--columns", "a:"],
                "--columns: column 'a' has an empty source; name the field it reads ('a:price.amount'), or write just 'a'"
            ),
            (["--columns", ":a"], "--columns: a column has an empty name; a header must name its column ('name:a')"),
            (
                ["--provenance", "runner,"],
                "--provenance has an empty entry (entry 2 of 'runner,'); give a comma-separated list such as 'collection,runner,scraped_at'"
            ),
            (["--records-key", ""], "--records-key is empty; name the field holding the records, such as 'results'"),
            (
                ["--columns", "asin", "--columns", "title"],
                "--columns is given twice ('asin' and 'title'); give it once"
            ),
            (["--out=other.csv"], "--out is given twice ('out.csv' and 'other.csv'); give it once"),
        ])
    func optionsBreakingTheStepRulesAreUsageErrors(arguments: [String], message: String) async throws {
        let (result, directory) = try await export(arguments)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(result.exitCode == 2)
        #expect(result.stderr.hasPrefix("cartflow export: \(message)\n"), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.csv").path))
    }

    /// What the loader refuses in a step is refused on the command line too (exit 2), never silently ignored: a
    /// repeated `--from` collection (CF122), `--bom` and `--no-formula-guard` with JSON or NDJSON (CF120); and
    /// the provenance values of page files with `--run`, whose provenance comes from the run.
    @Test(
        arguments: [
            (["--run", "1", "--from", "phones, phones", "--format", "csv"], "--from: 'phones' is listed twice"),
            (
                ["--bom", "--format", "json", "page.json"],
                "--bom applies only to CSV exports; this command exports json"
            ),
            (
                ["--no-formula-guard", "--format", "ndjson", "page.json"],
                "--no-formula-guard applies only to CSV exports; this command exports ndjson"
            ),
            (
                ["--run", "1", "--collection", "x", "--format", "csv"],
                "--collection sets provenance for page files; with --run, provenance comes from the recorded run"
            ),
        ])
    func optionsTheLoaderWouldRefuseAreUsageErrors(arguments: [String], message: String) async throws {
        let directory = try CartflowProcess.temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"[{"asin": "A"}]"#.utf8).write(to: directory.appendingPathComponent("page.json"))
        let result = try await CartflowProcess.run(["export", "--out", "out.json"] + arguments, in: directory)
        #expect(result.exitCode == 2)
        #expect(result.stderr.hasPrefix("cartflow export: \(message)\n"), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.json").path))
    }

    /// `--pages` is the one repeatable option of export: every file given is read, in order.
    @Test func pagesMayBeRepeated() async throws {
        let directory = try CartflowProcess.temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"[{"asin": "A"}]"#.utf8).write(to: directory.appendingPathComponent("1.json"))
        try Data(#"[{"asin": "B"}]"#.utf8).write(to: directory.appendingPathComponent("2.json"))
        let result = try await CartflowProcess.run(
            ["export", "--format", "csv", "--out", "out.csv", "--pages", "1.json", "--pages", "2.json"], in: directory)
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let csv = try Data(contentsOf: directory.appendingPathComponent("out.csv"))
        #expect(String(decoding: csv, as: UTF8.self) == "asin\r\nA\r\nB\r\n")
    }

    /// A folder given to --pages contributes its `*.json` files only: a directory named like a page is skipped.
    @Test func aDirectoryNamedLikeAPageIsNotAPageFile() async throws {
        let directory = try CartflowProcess.temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pages = directory.appendingPathComponent("pd")
        try FileManager.default.createDirectory(
            at: pages.appendingPathComponent("sub.json"), withIntermediateDirectories: true)
        try Data(#"[{"asin": "A"}]"#.utf8).write(to: pages.appendingPathComponent("p1.json"))
        let result = try await CartflowProcess.run(
            ["export", "--format", "csv", "--out", "out.csv", "--pages", "pd"], in: directory)
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let csv = try Data(contentsOf: directory.appendingPathComponent("out.csv"))
        #expect(String(decoding: csv, as: UTF8.self) == "asin\r\nA\r\n")
    }

    /// An output path below a regular file is an error in plain words, not a Foundation error dump.
    @Test func anOutputBelowAFileSaysWhichPartIsInTheWay() async throws {
        let directory = try CartflowProcess.temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("[]".utf8).write(to: directory.appendingPathComponent("page.json"))
        try Data().write(to: directory.appendingPathComponent("blocker"))
        let blocked = try await CartflowProcess.run(
            ["export", "--format", "csv", "--out", "blocker/sub/o.csv", "page.json"], in: directory)
        #expect(blocked.exitCode == 1)
        #expect(
            blocked.stderr
                == "cartflow: error: cannot create the directory '\(directory.appendingPathComponent("blocker/sub").path)' for the export: '\(directory.appendingPathComponent("blocker").path)' is a file, not a directory\n"
        )
    }

    /// Entries are trimmed, and `name:source` splits at the first colon.
    @Test func columnsAreTrimmedAndSplitAtTheFirstColon() async throws {
        let (result, directory) = try await export(
            ["--columns", " id : a:b , asin "], page: #"[{"asin": "A", "a:b": 1}]"#)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let csv = try Data(contentsOf: directory.appendingPathComponent("out.csv"))
        #expect(String(decoding: csv, as: UTF8.self) == "id,asin\r\n1,A\r\n")
    }

    /// The summary line counts the strings whose invalid Unicode was replaced, as docs/exports.md says.
    @Test func theSummaryLineCountsRepairedStrings() async throws {
        let (result, directory) = try await export(
            ["--include-failed"], page: #"[{"title": "bad \ud800"}, {"title": "\udc00", "status": "failed"}]"#)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        #expect(
            result.stderr.contains(
                "] wrote 2 records to out.csv, 2 strings with invalid Unicode repaired, 2 columns, "),
            "stderr: \(result.stderr)")
        let (skipping, other) = try await export([], page: #"[{"title": "bad \ud800"}, {"title": "ok", "error": "x"}]"#)
        defer { try? FileManager.default.removeItem(at: other) }
        #expect(
            skipping.stderr.contains(
                "] wrote 1 records to out.csv (1 failed records left out), 1 string with invalid Unicode repaired, 1 columns, "
            ), "stderr: \(skipping.stderr)")
    }

    /// A source named like a provenance column reads the record's own field.
    @Test func aSourceNamedLikeAProvenanceColumnReadsTheRecord() async throws {
        let (result, directory) = try await export(
            ["--provenance", "runner", "--runner", "88", "--columns", "their:runner,asin"])
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let csv = try Data(contentsOf: directory.appendingPathComponent("out.csv"))
        #expect(String(decoding: csv, as: UTF8.self) == "runner,their,asin\r\n88,5,A\r\n")
    }
}
