import CartflowCore
import CartflowRuntime
import Foundation
import MultiCart
import MultiCartSandbox

/// `cartflow run FILE` — run a workflow now, or resume its unfinished run.
enum RunCommand: Command {
    static let name = "run"
    static let summary = "run a workflow now; resumes an interrupted run of the same workflow"
    static let help = """
        USAGE: cartflow run FILE [options]

        Runs the workflow: checks credits, triggers each collection once, polls until its files are ready,
        downloads them and runs the export steps. An unfinished run of the same workflow (crashed, timed out,
        failed after the trigger) is resumed instead: nothing is paid twice.

        OPTIONS:
          --sandbox             run against an embedded MultiCart emulator on loopback (no account, no network);
                                it starts empty, so this always starts a new run, recorded by default in
                                .cartflow/sandbox/state.db (not with real runs)
          --sandbox-credits N   credits of the embedded emulator (default 100000)
          --state PATH          the state database (default .cartflow/state.db)
          --new                 start a fresh run even if an unfinished one exists (it is marked abandoned)
          --wait                when another process is running this workflow, wait for it instead of refusing
          --quiet, --verbose    less or more on stderr

        EXIT CODES: 0 success · 1 failed · 2 usage · 3 invalid workflow · 4 blocked by credits
                    5 poll timed out (run again to resume) · 6 partial
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(arguments, flags: ["sandbox", "new", "wait"], options: ["state", "sandbox-credits"])
        guard args.positional.count == 1 else {
            throw UsageError(args.positional.isEmpty ? "missing the workflow FILE" : "run takes one workflow FILE")
        }
        let output = context.output
        let workflow: Workflow
        do {
            workflow = try WorkflowSession.load(args.positional[0], context: context, sandbox: args.flag("sandbox"))
        } catch is InvalidWorkflow {
            return .invalidWorkflow
        }
        // Sandbox runs keep their own database by default, so they never touch (or abandon) real runs.
        let statePath = context.resolve(
            args.option("state") ?? (args.flag("sandbox") ? ".cartflow/sandbox/state.db" : ".cartflow/state.db"))
        var sandbox: SandboxServer?
        var key: String?
        var runWorkflow = workflow
        if args.flag("sandbox") {
            let credits = try args.intOption("sandbox-credits", range: 0...100_000_000) ?? 100_000
            let started = try WorkflowSession.startSandbox(
                for: [workflow], credits: credits, completion: .afterHistoryReads(1))
            sandbox = started.server
            key = started.key
            runWorkflow.api.baseURL = started.server.baseURL!.absoluteString
            output.progress("sandbox: MultiCart emulator at \(runWorkflow.api.baseURL) (\(credits) credits)")
        }
        defer { sandbox?.stop() }
        let client = try WorkflowSession.client(for: runWorkflow, key: key, output: output)
        let state = try StateStore(path: statePath)
        // The embedded emulator starts empty every time: an unfinished run's runners do not exist in it, so a
        // --sandbox run always starts afresh (the old run is kept, marked abandoned).
        let executor = WorkflowSession.executor(
            for: runWorkflow, client: client, state: state, context: context,
            startNew: args.flag("new") || args.flag("sandbox"), waitForLease: args.flag("wait"))
        let report = try await executor.run()
        printSummary(report, output: output, redactor: client.redactor)
        return exitCode(for: report.outcome)
    }

    static func exitCode(for outcome: RunReport.Outcome) -> ExitCode {
        switch outcome {
        case .succeeded, .skipped: return .success
        case .blocked: return .blockedByCredits
        case .timedOut: return .pollTimeout
        case .partial: return .partial
        case .failed: return .failure
        }
    }

    /// The one-screen summary on stdout: collections, runners, items, credits spent, files written.
    static func printSummary(_ report: RunReport, output: Output, redactor: Redactor) {
        output.print(
            "\(report.workflow): run #\(report.runID) \(report.outcome.rawValue.replacingOccurrences(of: "_", with: " "))\(report.resumed ? " (resumed)" : "")"
        )
        var rows = [["collection", "id", "runner", "items", "scraped", "credits", "files", "state"]]
        for c in report.collections {
            rows.append([
                c.name, String(c.collectionID),
                c.runnerID.map { String($0) + (c.attribution == "ambiguous" ? "?" : "") } ?? "-",
                c.items.map(String.init) ?? "-", c.exacted.map(String.init) ?? "-", String(c.creditsSpent),
                String(c.files),
                c.phase,
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            output.print(
                "  "
                    + row.enumerated().map {
                        $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0)
                    }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        let spent = CreditCheck.total(of: report.collections.map(\.creditsSpent))
        output.print("  credits spent: \(spent.map(String.init) ?? "more than \(Int.max)")")
        if !report.exports.isEmpty {
            output.print("  files written:")
            for export in report.exports {
                output.print("    \(export.summaryLine)")
            }
        }
        for message in report.messages { output.print("  ! " + redactor.redact(message)) }
        if report.needsAttention {
            output.print(
                "  ! needs attention: run #\(report.runID) cannot finish by itself, and every later run resumes it "
                    + "instead of scraping afresh; `cartflow run --new` starts a fresh run (and pays for new runners)")
        }
    }
}
