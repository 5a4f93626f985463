enum SandboxCommand: Command {
    static let name = "sandbox"
    static let summary = "(being built)"
    static let help = "cartflow sandbox"
    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        throw UsageError("not built yet")
    }
}
