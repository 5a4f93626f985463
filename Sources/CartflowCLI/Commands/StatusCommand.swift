import CartflowCore
import CartflowRuntime
import Foundation

/// `cartflow status [FILE]` — the runs recorded in the state database: each collection's phase, runner and
/// attribution, timed-out polls, downloaded files and exports. Reads only; never touches the network.
enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show recorded runs: phases, runners, attribution, files, exports"
    static let help = """
        USAGE: cartflow status [FILE] [options]

        Shows the runs recorded in the state database, newest first: each collection's phase (pending,
        intent, triggered, timed_out, fetched, failed, blocked, …), its runner and how the runner was
        attributed (exact; ambiguous with its candidates; adopted after a crash or a lost answer; not
        observed), downloaded files and exports, and each workflow's lease: held by a live process, or
        stale (its process gone, or no heartbeat for 60 s) with its run shown as interrupted — the next
        `cartflow run` resumes it. With FILE, only that workflow's runs. Reads the database only: no
        network, no key needed.

        OPTIONS:
          --state PATH   the state database (default .cartflow/state.db)
          --run N        only run N, with every downloaded file listed
          --limit N      at most N runs (default 10)
          --json         machine-readable output on stdout

        EXIT CODES: 0 shown · 2 usage · 3 invalid workflow FILE
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(arguments, flags: ["json"], options: ["state", "run", "limit"])
        guard args.positional.count <= 1 else { throw UsageError("status takes at most one workflow FILE") }
        let output = context.output
        var workflowName: String?
        if let file = args.positional.first {
            do {
                workflowName = try WorkflowSession.load(file, context: context, sandbox: true).name
            } catch is InvalidWorkflow {
                return .invalidWorkflow
            }
        }
        let limit = try args.intOption("limit", range: 1...10_000) ?? 10
        let onlyRun = try args.intOption("run", range: 1...Int.max)
        let statePath = context.resolve(args.option("state") ?? ".cartflow/state.db")
        // Reading must not create a database where there is none.
        guard FileManager.default.fileExists(atPath: statePath) else {
            if args.flag("json") {
                output.print(render(["state": statePath, "runs": [Any](), "leases": [Any]()]))
            } else {
                output.print("no state database at \(statePath): nothing has run here yet")
            }
            return .success
        }
        let state = try StateStore(path: statePath)
        var runs: [WorkflowRunRecord]
        if let onlyRun {
            guard let run = try state.run(id: onlyRun), workflowName == nil || run.workflow == workflowName else {
                throw UsageError(
                    "no run #\(onlyRun)" + (workflowName.map { " of workflow '\($0)'" } ?? "") + " in \(statePath)")
            }
            runs = [run]
        } else {
            runs = try state.runs(workflow: workflowName, limit: limit)
        }
        let workflows = Array(Set(runs.map(\.workflow))).sorted()
        let leases = try workflows.compactMap { name in try state.lease(workflow: name).map { (name, $0) } }
        // A lease is judged the way `run` judges it: a holder whose process is gone, or whose heartbeat is older
        // than the lease timeout, holds nothing — the next `run` takes the lease over and resumes the run.
        let now = Date().timeIntervalSince1970
        let staleAfter = Double(Executor.Options.defaultLeaseStaleAfter.components.seconds)
        let alive = Set(
            leases.filter { StateStore.isAlive($0.1, now: now, staleAfter: staleAfter) }.map(\.0))
        let newest = try Dictionary(
            uniqueKeysWithValues: workflows.map { ($0, try state.runs(workflow: $0, limit: 1).first?.id ?? 0) })
        let views = try runs.map { run in
            try RunView(
                run: run, state: state, live: alive.contains(run.workflow), newest: newest[run.workflow] == run.id)
        }

        if args.flag("json") {
            let object: [String: Any] = [
                "state": statePath,
                "runs": views.map(\.json),
                "leases": leases.map {
                    [
                        "workflow": $0.0, "pid": $0.1.pid, "host": $0.1.host, "heartbeat": $0.1.heartbeat,
                        "alive": alive.contains($0.0),
                    ]
                },
            ]
            output.print(render(object))
            return .success
        }
        output.print("state: \(statePath)")
        if views.isEmpty {
            output.print(workflowName.map { "no runs of \($0) recorded" } ?? "no runs recorded")
        }
        for (name, lease) in leases {
            let age = max(0, Int(now - lease.heartbeat))
            let holder = "process \(lease.pid) on \(lease.host)"
            if alive.contains(name) {
                output.print("\(name): held by \(holder) (last heartbeat \(age) s ago)")
            } else {
                let why = lease.processIsGone ? "process gone" : "no heartbeat for \(age) s"
                output.print("\(name): lease of \(holder) is stale (\(why)); `cartflow run` resumes it")
            }
        }
        for view in views { view.printText(output, allFiles: onlyRun != nil) }
        return .success
    }

    static func render(_ object: [String: Any]) -> String {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// One run with its collections, files and exports, read once.
    struct RunView {
        let run: WorkflowRunRecord
        let collections: [(record: CollectionRunRecord, files: [FileRecord])]
        let exports: [ExportRecord]
        /// Recorded as running, but no live process holds the workflow's lease: it crashed, was killed or
        /// stopped at a checkpoint.
        let interrupted: Bool
        /// The workflow's newest run: the one `cartflow run` resumes.
        let newest: Bool

        init(run: WorkflowRunRecord, state: StateStore, live: Bool, newest: Bool) throws {
            self.run = run
            self.interrupted = run.status == "running" && !live
            self.newest = newest
            collections = try state.collectionRuns(runID: run.id).map { ($0, try state.files(collectionRunID: $0.id)) }
            exports = try state.exports(runID: run.id)
        }

        var json: [String: Any] {
            var object: [String: Any] = [
                "id": run.id, "workflow": run.workflow, "source": run.sourcePath, "status": run.status,
                "started_at": run.startedAt,
            ]
            object["finished_at"] = run.finishedAt
            object["detail"] = run.detail
            object["interrupted"] = interrupted
            object["collections"] = collections.map { entry -> [String: Any] in
                let record = entry.record
                var item: [String: Any] = [
                    "name": record.collection, "collection_id": record.collectionID, "phase": record.phase,
                    "candidates": record.candidates, "files": entry.files.count,
                    "bytes": entry.files.map(\.size).reduce(0, +),
                ]
                item["runner"] = record.runnerID
                item["attribution"] = record.attribution
                item["baseline_runner"] = record.baselineRunner
                item["items"] = record.items
                item["scraped"] = record.exacted
                item["intent_at"] = record.intentAt
                item["triggered_at"] = record.triggeredAt
                item["detail"] = record.detail
                item["file_list"] = entry.files.map {
                    ["name": $0.name, "path": $0.localPath, "size": $0.size, "sha256": $0.sha256] as [String: Any]
                }
                return item
            }
            object["exports"] = exports.map {
                [
                    "step": $0.step + 1, "path": $0.path, "format": $0.format, "records": $0.records,
                    "bytes": $0.bytes, "repaired_strings": $0.repairedStrings,
                ] as [String: Any]
            }
            return object
        }

        func printText(_ output: Output, allFiles: Bool) {
            output.print("")
            let status =
                interrupted
                ? "interrupted (recorded as running, no live process"
                    + (newest ? "; `cartflow run` resumes it)" : ")")
                : run.status.replacingOccurrences(of: "_", with: " ")
            var head = "\(run.workflow)  run #\(run.id)  \(status)"
            head += "  started \(run.startedAt)"
            if let finished = run.finishedAt { head += "  finished \(finished)" }
            output.print(head)
            for (record, files) in collections {
                var line = "  \(record.collection) (\(record.collectionID)): \(record.phase)"
                if let runner = record.runnerID {
                    line += ", runner \(runner)"
                    switch record.attribution {
                    case "ambiguous":
                        line += " — AMBIGUOUS, candidates \(record.candidates.map(String.init).joined(separator: ", "))"
                    case "adopted_after_crash": line += " (adopted after a crash)"
                    case "adopted_after_lost_answer": line += " (adopted: the trigger's answer was lost)"
                    case "adopted_late": line += " (adopted late: it appeared after the attribution grace period)"
                    default: break
                    }
                } else if record.attribution == "not_observed" {
                    line +=
                        ", runner NOT OBSERVED (newest before the trigger: \(record.baselineRunner.map(String.init) ?? "?"))"
                } else if record.phase == "intent" {
                    line +=
                        ", trigger intent without an answer (newest runner before: \(record.baselineRunner.map(String.init) ?? "?"))"
                }
                if let items = record.items { line += ", \(items) items" }
                if let scraped = record.exacted { line += ", \(scraped) scraped" }
                if !files.isEmpty {
                    line +=
                        ", \(files.count) file\(files.count == 1 ? "" : "s") (\(files.map(\.size).reduce(0, +)) bytes)"
                }
                output.print(line)
                if record.phase == "timed_out" {
                    output.print("    poll timed out: `cartflow run` again resumes polling")
                }
                if let detail = record.detail { output.print("    \(detail)") }
                if allFiles {
                    for file in files {
                        output.print("    \(file.localPath)  \(file.size) bytes  sha256 \(file.sha256)")
                    }
                }
            }
            for export in exports {
                var details = "\(export.format), \(export.records) records, \(export.bytes) bytes"
                if let note = ExportSummary.repairedNote(export.repairedStrings) { details += ", \(note)" }
                output.print("  export \(export.path) (\(details))")
            }
            if let detail = run.detail { output.print("  ! \(detail)") }
        }
    }
}
