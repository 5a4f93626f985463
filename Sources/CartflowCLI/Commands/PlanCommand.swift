import CartflowCore
import Foundation
import MultiCart
import MultiCartSandbox

/// `cartflow plan FILE...` — the dry run: load → validate → step graph → facts (read-only) → plan → render.
/// No `Executor` is built and the facts come through `PlanFactSource`, which has no trigger.
enum PlanCommand: Command {
    static let name = "plan"
    static let summary = "the dry run: steps, credit math, what is going on, outputs, next fire times"
    static let help = """
        USAGE: cartflow plan FILE... [options]

        Shows what `cartflow run` would do, without spending a credit: the steps in execution order, the
        credit math with the origin of every number, an unfinished run it would resume, a runner processing
        on the server, every output path and the next 5 fire times of the schedule. Only read-only API calls
        are made (credit balance, item counts, run history); every fact says whether it was checked or assumed.

        OPTIONS:
          --json                the versioned JSON document (format_version 1) instead of text
          --offline             no network at all: item counts from the workflow's `items:` hints
          --sandbox             plan against an embedded MultiCart emulator on loopback
          --sandbox-credits N   credits of the embedded emulator (default 100000)
          --state PATH          the state database to look for an unfinished run (default .cartflow/state.db;
                                with --sandbox .cartflow/sandbox/state.db, and a sandbox run never resumes)
          --now TIME            plan as of this UTC instant (2026-06-20T09:00:00Z) instead of the clock

        EXIT CODES: 0 everything would run · 4 blocked by credits (or skipped / waiting by on_insufficient)
                    6 run would end partial: a collection would not be fetched (someone else's runner is
                      processing it, or its trigger produced no visible runner) · 1 run would fetch nothing so,
                      or could not plan (API unreachable, key refused; --offline still works) · 3 invalid file
                    With several FILEs, the worst: 3, then 1, then 6, then 4, then 0.
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(
            arguments, flags: ["json", "offline", "sandbox"], options: ["state", "sandbox-credits", "now"])
        guard !args.positional.isEmpty else { throw UsageError("missing the workflow FILE") }
        if args.flag("offline") && args.flag("sandbox") {
            throw UsageError("--offline and --sandbox exclude each other (--offline asks no API at all)")
        }
        let now = try parseNow(args.option("now"))
        // The same default as `run --sandbox`: sandbox runs keep their own database, apart from real runs.
        let shownState =
            args.option("state") ?? (args.flag("sandbox") ? ".cartflow/sandbox/state.db" : ".cartflow/state.db")
        let statePath = context.resolve(shownState)
        let output = context.output
        // Before loading: the files are loaded with `try?`, which would turn the refusal into "invalid".
        _ = try WorkflowSession.baseURLOverride(context.environment)

        var loaded: [(file: String, workflow: Workflow?)] = []
        for file in args.positional {
            // Neither an offline plan nor the sandbox needs the key: no CF117 warning for a missing one.
            let keyless = args.flag("sandbox") || args.flag("offline")
            loaded.append((file, try? WorkflowSession.load(file, context: context, sandbox: keyless)))
        }

        var sandbox: SandboxServer?
        var sandboxKey: String?
        if args.flag("sandbox") {
            let credits = try args.intOption("sandbox-credits", range: 0...100_000_000) ?? 100_000
            let workflows = loaded.compactMap(\.workflow)
            if !workflows.isEmpty {
                let started = try WorkflowSession.startSandbox(
                    for: workflows, credits: credits, completion: .afterHistoryReads(3))
                sandbox = started.server
                sandboxKey = started.key
                output.progress(
                    "sandbox: MultiCart emulator at \(started.server.baseURL!.absoluteString) (\(credits) credits)")
            }
        }
        defer { sandbox?.stop() }

        var codes: [ExitCode] = []
        var documents: [JSONValue] = []
        var texts: [String] = []
        for (file, workflow) in loaded {
            guard let workflow else {
                codes.append(.invalidWorkflow)
                documents.append(
                    failure(file, "the workflow file is invalid (diagnostics on stderr)", .invalidWorkflow))
                continue
            }
            do {
                let plan = try await makePlan(
                    workflow, args: args, sandbox: sandbox, sandboxKey: sandboxKey, now: now, statePath: statePath,
                    shownState: shownState, output: output)
                codes.append(exitCode(for: plan.verdict.outcome))
                documents.append(PlanJSONRenderer.document(plan))
                texts.append(PlanTextRenderer.render(plan))
            } catch {
                let message = "could not plan \(file): \(describe(error))"
                output.error(
                    "cartflow: error: \(message)\n"
                        + "  `cartflow plan --offline` plans without the API; `--sandbox` plans against the emulator.")
                codes.append(.failure)
                documents.append(failure(file, message, .failure))
            }
        }

        if args.flag("json") {
            if loaded.count == 1 {
                if case .object(let object) = documents[0], object["error"] == nil {
                    output.write(PlanJSONRenderer.pretty(documents[0]) + "\n")
                }
            } else {
                output.write(PlanJSONRenderer.render(many: documents))
            }
        } else {
            output.write(texts.joined(separator: "\n"))
        }
        return worst(codes)
    }

    /// Facts (read-only) → plan, for one valid workflow.
    static func makePlan(
        _ workflow: Workflow, args: Arguments, sandbox: SandboxServer?, sandboxKey: String?, now: Date,
        statePath: String, shownState: String, output: Output
    ) async throws -> Plan {
        let graph = StepGraph.build(workflow)
        var source: (any PlanFactSource)?
        var mode = PlanFacts.Mode.offline
        if let sandbox, let url = sandbox.baseURL {
            var pointed = workflow
            pointed.api.baseURL = url.absoluteString
            source = try WorkflowSession.client(for: pointed, key: sandboxKey, output: output)
            mode = .sandbox
        } else if !args.flag("offline") {
            source = try WorkflowSession.client(for: workflow, key: nil, output: output)
            mode = .api(baseURL: workflow.api.baseURL)
        }
        let facts = try await PlanFactGatherer.gather(
            workflow, source: source, mode: mode, statePath: statePath, shownPath: shownState)
        return Planner.plan(workflow, graph: graph, facts: facts, now: now)
    }

    static func failure(_ file: String, _ message: String, _ code: ExitCode) -> JSONValue {
        .object(
            JSONObject([
                "file": .string(file), "error": .string(message), "exit_code": .number(String(code.rawValue)),
            ]))
    }

    /// The code `run` would exit with, as far as the plan can tell: 0 only when everything would run.
    static func exitCode(for outcome: Plan.Verdict.Outcome) -> ExitCode {
        switch outcome {
        case .runs: .success
        case .blocked, .skipped, .waits: .blockedByCredits
        case .partial: .partial
        case .fails: .failure
        }
    }

    /// The exit code of several plans: an invalid file is worst, then a failed plan (or a run that would fail),
    /// then a partial run, then a block.
    static func worst(_ codes: [ExitCode]) -> ExitCode {
        for code in [ExitCode.invalidWorkflow, .failure, .partial, .blockedByCredits] where codes.contains(code) {
            return code
        }
        return .success
    }

    static func parseNow(_ text: String?) throws -> Date {
        guard let text else { return Date() }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text) else {
            throw UsageError("--now must be an ISO 8601 instant like 2026-06-20T09:00:00Z, got '\(text)'")
        }
        return date
    }
}
