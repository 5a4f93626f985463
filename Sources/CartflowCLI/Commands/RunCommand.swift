enum RunCommand: Command {
    static let name = "run"
    static let summary = "(being built)"
    static let help = "cartflow run"
    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        throw UsageError("not built yet")
    }
}
