import CartflowCore

/// What a `cartflow run` did, for the summary and the exit code.
public struct RunReport: Sendable {
    public enum Outcome: String, Sendable {
        case succeeded
        /// The workflow's credit rules or the API's credit gate stopped it; nothing was spent.
        case blocked
        /// Skipped because credits were short and `on_insufficient: skip`.
        case skipped
        /// A runner did not finish before the poll timeout; `run` again resumes.
        case timedOut = "timed_out"
        /// Some collections finished, some failed.
        case partial
        case failed
    }

    public struct CollectionResult: Sendable {
        public var name: String
        public var collectionID: Int
        public var runnerID: Int?
        public var attribution: String?
        public var items: Int?
        public var exacted: Int?
        /// Credits this run spent on the collection (0 when it resumed an earlier trigger).
        public var creditsSpent: Int
        public var files: Int
        public var phase: String
        public var detail: String?
    }

    public struct ExportResult: Sendable {
        public var path: String
        public var format: String
        public var records: Int
        /// Strings whose invalid Unicode was replaced with U+FFFD (`ExportSummary.repairedStrings`).
        public var repairedStrings: Int

        public init(path: String, format: String, records: Int, repairedStrings: Int = 0) {
            self.path = path
            self.format = format
            self.records = records
            self.repairedStrings = repairedStrings
        }

        /// The export's line in the run summary: `out/laptops.csv  (240 records, csv)`, with the repaired strings
        /// when there are any.
        public var summaryLine: String {
            var details = ["\(records) records", format]
            if let note = ExportSummary.repairedNote(repairedStrings) { details.append(note) }
            return "\(path)  (\(details.joined(separator: ", ")))"
        }
    }

    public var runID: Int
    public var workflow: String
    public var resumed: Bool
    public var outcome: Outcome
    public var collections: [CollectionResult]
    public var exports: [ExportResult]
    /// Problems worth reading, in order (blocked reasons, failures, warnings).
    public var messages: [String]
    /// Why the run cannot finish by itself, one line per collection (its trigger produced no visible runner,
    /// its runner is not in the run history); empty when a later `run` can finish it. Such a run stays
    /// unfinished, so every later run and scheduler slot resumes it instead of scraping afresh: it needs a person
    /// (`cartflow run --new` pays for new runners).
    public var attention: [String] = []

    /// Whether the run needs a person to finish (see `attention`).
    public var needsAttention: Bool { !attention.isEmpty }

    /// The outcome a scheduler slot reports: throws `RunError.needsAttention` when the run cannot finish by
    /// itself, so that the scheduler says so at every slot instead of logging another failed resume.
    public func scheduledOutcome() throws -> Outcome {
        guard attention.isEmpty else {
            throw RunError.needsAttention(workflow: workflow, runID: runID, reasons: attention)
        }
        return outcome
    }
}
