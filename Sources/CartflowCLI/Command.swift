import CartflowCore
import Foundation

/// One `cartflow` subcommand. Each lives in its own file under `Commands/` and is listed in `CartflowMain.commands`.
protocol Command: Sendable {
    /// The word after `cartflow`.
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text (usage, options, examples).
    static var help: String { get }
    /// Runs the command with the arguments after its name.
    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode
}

/// What a command may touch of the outside world; tests run commands in-process with their own context.
public struct CommandContext: Sendable {
    public var environment: [String: String]
    public var currentDirectory: String
    public var output: Output

    public init(environment: [String: String], currentDirectory: String, output: Output) {
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.output = output
    }

    /// Resolves a path given on the command line against the current directory.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: currentDirectory).appendingPathComponent(path).path
    }
}
