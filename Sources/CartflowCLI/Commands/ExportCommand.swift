import CartflowCore
import CartflowRuntime
import Foundation

/// `cartflow export`: re-exports downloaded page files to CSV, JSON or NDJSON, without the network.
enum ExportCommand: Command {
    static let name = "export"
    static let summary = "export downloaded page files to CSV, JSON or NDJSON (no network)"
    static let help = """
        USAGE: cartflow export --format csv|json|ndjson --out PATH [--pages PATH]... [PAGE...] [options]
               cartflow export --run N --format csv|json|ndjson --out PATH [--from NAMES] [--state PATH] [options]

        Writes one export file from local result page files, with the same rules as a workflow's
        export steps (see docs/exports.md). The file is replaced atomically: if the export fails, the
        previous file is left as it was.

        OPTIONS:
          --format FORMAT       csv, json or ndjson (also accepted as --step-format)
          --out PATH            the file to write (its directory is created if needed)
          --pages PATH          a page file, or a directory whose *.json files are read in natural
                                order (Page_2 before Page_10); repeatable; page files may also be
                                given as arguments
          --run N               the page files of run N from the state database (see `cartflow status`),
                                each checked against its recorded SHA-256; provenance comes from the run
          --from NAMES          with --run: only these collections (comma-separated local names, each once)
          --state PATH          with --run: the state database (default .cartflow/state.db)
          --columns LIST        fixed columns, comma-separated: 'asin,price:price.amount' (name:source)
          --include-failed      keep records of items that failed to scrape
          --records-key KEY     the field holding the records when pages are objects (default: detect)
          --provenance LIST     add columns first: collection, runner, scraped_at (comma-separated)
          --collection NAME     page files: the collection name for provenance (default: pages)
          --runner ID           page files: the runner id for provenance (default: 0)
          --scraped-at TEXT     page files: the scrape time for provenance (default: empty)
          --bom                 CSV only: start with a UTF-8 byte order mark (for spreadsheets)
          --no-formula-guard    CSV only: do not prefix text starting with = + - @ tab CR with '

        EXAMPLES:
          cartflow export --pages .cartflow/downloads/au-price-watch/run-3/laptops/904 --format csv \\
              --out out/laptops.csv
          cartflow export --run 3 --from laptops --format csv --out out/laptops.csv --provenance runner
          cartflow export --format ndjson --out all.ndjson page1.json page2.json
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(
            arguments, flags: ["include-failed", "bom", "no-formula-guard"],
            options: [
                "format", "step-format", "out", "pages", "columns", "records-key", "provenance", "collection", "runner",
                "scraped-at", "run", "from", "state",
            ], repeatable: ["pages"])
        guard let formatText = args.option("format") ?? args.option("step-format") else {
            throw UsageError("--format is required (csv, json or ndjson)")
        }
        guard let format = ExportStep.Format(rawValue: formatText) else {
            throw UsageError("--format must be one of csv, json, ndjson, got '\(formatText)'")
        }
        guard let out = args.option("out") else { throw UsageError("--out is required") }
        let runID = try args.intOption("run", range: 1...Int.max)
        var pages: [URL] = []
        let wanted = try args.listOption("from", example: "laptops,phones")
        // As the loader checks `from:` (CF122): a collection named twice would be exported twice.
        if let repeated = ExportStep.repeatedCollections(wanted ?? []).first {
            throw UsageError("--from: \(ExportStep.repeatedCollectionMessage(repeated.name))")
        }
        if runID != nil {
            if !(args.options("pages") + args.positional).isEmpty {
                throw UsageError("--run and page files exclude each other")
            }
            for option in ["collection", "runner", "scraped-at"] where args.option(option) != nil {
                throw UsageError(
                    "--\(option) sets provenance for page files; with --run, provenance comes from the recorded run")
            }
        } else {
            if args.option("from") != nil || args.option("state") != nil {
                throw UsageError("--from and --state go with --run")
            }
            pages = try (args.options("pages") + args.positional).flatMap { try pageFiles(context.resolve($0)) }
            if pages.isEmpty { throw UsageError("no page files given (use --pages DIR, list page files, or --run N)") }
        }

        // `name` or `name:source`; empty names and sources are left to the step rules below.
        let columns = try args.listOption("columns", example: "asin,price:price.amount")?.map { entry in
            guard let colon = entry.firstIndex(of: ":") else { return ColumnSpec(entry) }
            return ColumnSpec(
                name: entry[..<colon].trimmingCharacters(in: .whitespaces),
                source: entry[entry.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let provenance = try (args.listOption("provenance", example: "collection,runner,scraped_at") ?? []).map {
            item in
            guard let value = ExportStep.Provenance(rawValue: item) else {
                throw UsageError("--provenance entries are collection, runner, scraped_at; got '\(item)'")
            }
            return value
        }
        // The loader's rules for `columns:` and `provenance:`, so the command line cannot write what a file may not.
        if let problem = ExportStep.problems(columns: columns, provenance: provenance).first {
            let option = if case .duplicateProvenance = problem { "--provenance" } else { "--columns" }
            throw UsageError("\(option): \(problem.message { "'\($0):\($1)'" })")
        }
        // The loader refuses 'bom' and 'formula_guard' on a JSON or NDJSON step (CF120): no silent no-op here either.
        for flag in ["bom", "no-formula-guard"] where args.flag(flag) {
            if let problem = ExportStep.csvOnlyProblem("--\(flag)", format: format, subject: "this command") {
                throw UsageError(problem)
            }
        }
        if args.option("records-key")?.isEmpty == true {
            throw UsageError("--records-key is empty; name the field holding the records, such as 'results'")
        }
        let runner = try args.intOption("runner", range: 0...Int.max) ?? 0
        let step = ExportStep(
            format: format, path: out, columns: columns, includeFailed: args.flag("include-failed"),
            provenance: provenance, recordsKey: args.option("records-key"), bom: args.flag("bom"),
            formulaGuard: !args.flag("no-formula-guard"))
        let inputs: [ExportInput]
        if let runID {
            let statePath = context.resolve(args.option("state") ?? ".cartflow/state.db")
            guard FileManager.default.fileExists(atPath: statePath) else {
                throw UsageError("no state database at \(statePath)")
            }
            inputs = try StateStore(path: statePath).exportInputs(runID: runID, collections: wanted)
        } else {
            inputs = [
                ExportInput(
                    collection: args.option("collection") ?? "pages", collectionID: 0, runnerID: runner,
                    scrapedAt: args.option("scraped-at"), pages: pages)
            ]
        }

        let summary = try Exporter.export(step, inputs: inputs, to: context.resolve(out))
        for warning in summary.warnings { context.output.error("warning: \(warning)") }
        var line = "wrote \(summary.recordsWritten) records to \(out)"
        if summary.failedSkipped > 0 { line += " (\(summary.failedSkipped) failed records left out)" }
        if let note = ExportSummary.repairedNote(summary.repairedStrings) { line += ", \(note)" }
        if format == .csv { line += ", \(summary.columns.count) columns" }
        line += ", \(summary.bytes) bytes"
        context.output.progress(line)
        return .success
    }

    /// A page file, or the `*.json` files of a directory in natural order. Entries of the directory that are
    /// directories themselves (`sub.json/`) are not page files and are skipped, as are hidden ones.
    static func pageFiles(_ path: String) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UsageError("no such page file or directory: '\(path)'")
        }
        guard isDirectory.boolValue else { return [URL(fileURLWithPath: path)] }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw ExportError.unreadablePage(path: path, reason: "cannot list the directory: \(systemReason(error))")
        }
        let directory = URL(fileURLWithPath: path)
        return
            entries
            .filter { name in
                var entryIsDirectory: ObjCBool = false
                return name.hasSuffix(".json") && !name.hasPrefix(".")
                    && FileManager.default.fileExists(
                        atPath: directory.appendingPathComponent(name).path, isDirectory: &entryIsDirectory)
                    && !entryIsDirectory.boolValue
            }
            .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
            .map { directory.appendingPathComponent($0) }
    }
}
