import CartflowCore
import Foundation

/// The entry point of the `cartflow` executable: global flags, command dispatch and the exit code.
public enum CartflowMain {
    public static let version = "0.1.0"

    /// Every command, in the order `cartflow --help` lists them.
    static let commands: [any Command.Type] = [
        ValidateCommand.self,
        PlanCommand.self,
        GraphCommand.self,
        RunCommand.self,
        ScheduleCommand.self,
        StatusCommand.self,
        ExportCommand.self,
        SandboxCommand.self,
        InitCommand.self,
    ]

    /// Runs `cartflow` with the process's arguments and exits.
    public static func main() -> Never {
        signal(SIGPIPE, SIG_IGN)
        let output = Output.standard()
        let context = CommandContext(
            environment: ProcessInfo.processInfo.environment,
            currentDirectory: FileManager.default.currentDirectoryPath, output: output)
        let box = ExitBox()
        let done = DispatchSemaphore(value: 0)
        let arguments = Array(CommandLine.arguments.dropFirst())
        Task {
            box.code = await run(arguments, context: context)
            done.signal()
        }
        done.wait()
        exit(box.code.rawValue)
    }

    /// Runs one invocation in-process and returns its exit code (what tests call).
    public static func run(_ arguments: [String], context: CommandContext) async -> ExitCode {
        var arguments = arguments
        let output = context.output
        do {
            try applyGlobalFlags(&arguments, context: context)
        } catch {
            return report(error, output: output)
        }
        guard let first = arguments.first else {
            output.error(overview)
            return .usage
        }
        switch first {
        case "--help", "-h", "help":
            guard arguments.count > 1 else {
                output.print(overview)
                return .success
            }
            guard let command = commands.first(where: { $0.name == arguments[1] }) else {
                return unknownCommand(arguments[1], output: output)
            }
            output.print(command.help)
            return .success
        case "--version", "-V", "version":
            output.print("cartflow \(version)")
            return .success
        default:
            break
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            return unknownCommand(first, output: output)
        }
        let rest = Array(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h") {
            output.print(command.help)
            return .success
        }
        do {
            return try await command.run(rest, context: context)
        } catch let error as UsageError {
            output.error("cartflow \(command.name): \(error.message)\nRun 'cartflow \(command.name) --help' for usage.")
            return .usage
        } catch {
            return report(error, output: output)
        }
    }

    private static func unknownCommand(_ name: String, output: Output) -> ExitCode {
        var message = "cartflow: unknown command '\(name)'"
        if let suggestion = closestMatch(to: name, in: commands.map { $0.name }) {
            message += "; did you mean '\(suggestion)'?"
        }
        output.error(message + "\nRun 'cartflow --help' for the list of commands.")
        return .usage
    }

    /// Removes the flags every command shares (`--quiet`, `--verbose`, `--color`) and applies them.
    static func applyGlobalFlags(_ arguments: inout [String], context: CommandContext) throws {
        let output = context.output
        var color = "auto"
        var verbosity: (flag: String, level: Output.Verbosity)?
        var kept: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--quiet", "-q", "--verbose", "-v":
                let level: Output.Verbosity = argument == "-q" || argument == "--quiet" ? .quiet : .verbose
                if let earlier = verbosity, earlier.level != level {
                    throw UsageError("\(earlier.flag) and \(argument) exclude each other; give one")
                }
                verbosity = (argument, level)
                output.verbosity = level
            case "--color", "--colour":
                guard index < arguments.count else { throw UsageError("--color needs a value (auto, always, never)") }
                color = arguments[index]
                index += 1
            case _ where argument.hasPrefix("--color="): color = String(argument.dropFirst("--color=".count))
            case "--":
                kept.append(contentsOf: arguments[(index - 1)...])
                index = arguments.count
            default: kept.append(argument)
            }
        }
        switch color {
        case "always": output.useColor = true
        case "never": output.useColor = false
        case "auto": output.useColor = output.stderrIsTerminal && context.environment["NO_COLOR"] == nil
        default: throw UsageError("--color must be auto, always or never, got '\(color)'")
        }
        arguments = kept
    }

    static var overview: String {
        let width = commands.map { $0.name.count }.max() ?? 0
        let list = commands.map {
            "  \($0.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\($0.summary)"
        }
        return """
            cartflow \(version) — run declarative workflow files against the MultiCart scraping API

            USAGE: cartflow <command> [options]

            COMMANDS:
            \(list.joined(separator: "\n"))

            COMMON OPTIONS:
              --quiet, -q          only errors on stderr
              --verbose, -v        more detail on stderr
              --color WHEN         auto (default; honours NO_COLOR), always, never
              --help, -h           help for cartflow or a command
              --version            print the version

            ENVIRONMENT:
              MULTICART_API_KEY    the API key (never printed or stored)
              MULTICART_BASE_URL   overrides the workflow's api.base_url

            EXIT CODES:
              0 success · 1 run failed · 2 usage error · 3 invalid workflow file
              4 blocked by credits · 5 poll timed out (run again to resume) · 6 partial success

            See docs/cli.md for every command.
            """
    }
}

private final class ExitBox: @unchecked Sendable {
    var code: ExitCode = .failure
}
