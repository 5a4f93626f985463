import Foundation

extension StateStore {
    /// The export inputs of a recorded run, for `cartflow export --run N`: each collection that has downloaded
    /// files, with its runner and its page files in page order. Every file is checked against its recorded size
    /// and SHA-256 first, so an export never reads a page that changed on disk.
    public func exportInputs(runID: Int, collections wanted: [String]? = nil) throws -> [ExportInput] {
        guard try run(id: runID) != nil else { throw RecordedRunError.noSuchRun(runID) }
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
                if wanted != nil { throw RecordedRunError.notFetched(runID: runID, collection: record.collection) }
                continue
            }
            for file in files where !Fetcher.verify(file, at: file.localPath) {
                throw RecordedRunError.fileChanged(runID: runID, path: file.localPath)
            }
            inputs.append(
                ExportInput(
                    collection: record.collection, collectionID: record.collectionID, runnerID: runner,
                    scrapedAt: record.scrapedAt, pages: files.map { URL(fileURLWithPath: $0.localPath) }))
        }
        if inputs.isEmpty { throw RecordedRunError.nothingFetched(runID) }
        return inputs
    }
}

/// Why a recorded run cannot be exported.
public enum RecordedRunError: Error, Sendable, CustomStringConvertible, LocalizedError {
    case noSuchRun(Int)
    case unknownCollections(runID: Int, names: [String], known: [String])
    case notFetched(runID: Int, collection: String)
    case nothingFetched(Int)
    case fileChanged(runID: Int, path: String)

    public var description: String {
        switch self {
        case .noSuchRun(let id): return "no run #\(id) in the state database"
        case .unknownCollections(let id, let names, let known):
            return
                "run #\(id) has no collection \(names.joined(separator: ", ")) (it has \(known.joined(separator: ", ")))"
        case .notFetched(let id, let collection):
            return "run #\(id) has no downloaded files for \(collection); `cartflow run` resumes it"
        case .nothingFetched(let id): return "run #\(id) has no downloaded files yet; `cartflow run` resumes it"
        case .fileChanged(let id, let path):
            return
                "\(path) of run #\(id) no longer matches its recorded size and SHA-256; `cartflow run` fetches it again"
        }
    }

    public var errorDescription: String? { description }
}
