import CartflowCore
import Foundation

extension StateStore {
    /// The export inputs of a recorded run, for `cartflow export --run N`: each collection that has downloaded
    /// files, with its runner and its page files in page order. Every file is checked against its recorded size
    /// and SHA-256 first, so an export never reads a page that changed on disk.
    public func exportInputs(runID: Int, collections wanted: [String]? = nil) throws -> [ExportInput] {
        guard let run = try run(id: runID) else { throw RecordedRunError.noSuchRun(runID) }
        let records = try collectionRuns(runID: runID)
        if let wanted {
            let unknown = wanted.filter { name in !records.contains { $0.collection == name } }
            if !unknown.isEmpty {
                throw RecordedRunError.unknownCollections(
                    runID: runID, names: unknown, known: records.map(\.collection))
            }
        }
        var inputs: [ExportInput] = []
        for record in records where wanted?.contains(record.collection) ?? true {
            let files = try files(collectionRunID: record.id).sorted { Fetcher.pageOrder($0.name, $1.name) }
            guard let runner = record.runnerID, !files.isEmpty else {
                if wanted != nil {
                    throw RecordedRunError.notFetched(
                        runID: runID, collection: record.collection,
                        hint: try recovery(of: record, in: run, records: records, changedFile: false))
                }
                continue
            }
            for file in files where !Fetcher.verify(file, at: file.localPath) {
                throw RecordedRunError.fileChanged(
                    runID: runID, path: file.localPath,
                    hint: try recovery(of: record, in: run, records: records, changedFile: true))
            }
            inputs.append(
                ExportInput(
                    collection: record.collection, collectionID: record.collectionID, runnerID: runner,
                    scrapedAt: record.scrapedAt, pages: files.map { URL(fileURLWithPath: $0.localPath) }))
        }
        if inputs.isEmpty {
            throw RecordedRunError.nothingFetched(
                runID, hint: try recovery(of: nil, in: run, records: records, changedFile: false))
        }
        return inputs
    }

    /// What gets the files of `record` (or of the run) downloaded again, and whether it costs anything, for the hint
    /// of an error: `cartflow run` resumes only the workflow's newest unfinished run, and otherwise starts a new,
    /// paid one, so it is named only when it resumes this run, with what the resume pays for.
    private func recovery(
        of record: CollectionRunRecord?, in run: WorkflowRunRecord, records: [CollectionRunRecord], changedFile: Bool
    ) throws -> String {
        let newestUnfinished = try unfinishedRun(workflow: run.workflow)
        let resumes = Self.resumableStatuses.contains(run.status) && newestUnfinished?.id == run.id
        guard resumes else {
            let why =
                run.status == "succeeded"
                ? "run #\(run.id) has finished"
                : Self.resumableStatuses.contains(run.status)
                    ? "a newer run of \(run.workflow) was recorded since run #\(run.id)"
                    : "run #\(run.id) is \(run.status)"
            let what = changedFile ? "downloads it again" : "downloads them"
            var hint =
                "\(why), so no command \(what) without paying (`cartflow run` would start a new run, and pay for "
                + "its triggers)"
            if changedFile {
                hint += ": restore the file from a copy"
                if let record, records.count > 1 { hint += ", or leave \(record.collection) out with --from" }
            }
            return hint
        }
        let command = "`cartflow run \(run.sourcePath)` resumes run #\(run.id)"
        let paid = records.filter { ResumeRules.needsTrigger(phase: $0.phase) && $0.id != record?.id }
            .map(\.collection)
        let alsoPaid =
            paid.isEmpty
            ? "" : " (it also triggers \(paid.joined(separator: ", ")), which is paid for)"
        guard let record else { return command + alsoPaid + "; `cartflow plan \(run.sourcePath)` shows what it does" }
        if let runner = record.runnerID {
            return command + " and downloads \(record.collection)'s files again from runner \(runner), without a new "
                + "trigger" + alsoPaid
        }
        let action = ResumeRules.resumeAction(
            phase: record.phase, runnerID: record.runnerID, attribution: record.attribution)
        return command + alsoPaid + "; for \(record.collection): \(action)"
    }
}

/// Why a recorded run cannot be exported.
public enum RecordedRunError: Error, Sendable, CustomStringConvertible, LocalizedError {
    case noSuchRun(Int)
    case unknownCollections(runID: Int, names: [String], known: [String])
    /// `hint` says what recovers the files, and whether that is paid for (`StateStore.recovery`).
    case notFetched(runID: Int, collection: String, hint: String)
    case nothingFetched(Int, hint: String)
    case fileChanged(runID: Int, path: String, hint: String)

    public var description: String {
        switch self {
        case .noSuchRun(let id): return "no run #\(id) in the state database"
        case .unknownCollections(let id, let names, let known):
            return
                "run #\(id) has no collection \(names.joined(separator: ", ")) (it has \(known.joined(separator: ", ")))"
        case .notFetched(let id, let collection, let hint):
            return "run #\(id) has no downloaded files for \(collection); \(hint)"
        case .nothingFetched(let id, let hint): return "run #\(id) has no downloaded files yet; \(hint)"
        case .fileChanged(let id, let path, let hint):
            return "\(path) of run #\(id) no longer matches its recorded size and SHA-256; \(hint)"
        }
    }

    public var errorDescription: String? { description }
}
