/// The process exit codes of every command — the one table of DESIGN.md §4.
public enum ExitCode: Int32, Sendable, CaseIterable {
    /// Success (plan: everything would run).
    case success = 0
    /// The run failed (API, network, export).
    case failure = 1
    /// Usage error (bad flags or arguments).
    case usage = 2
    /// A workflow file is invalid.
    case invalidWorkflow = 3
    /// Blocked by credits (the credit gate or the workflow's threshold).
    case blockedByCredits = 4
    /// Still running when the poll timeout ran out; `run` again resumes.
    case pollTimeout = 5
    /// Partial: some collections finished, some failed.
    case partial = 6
}
