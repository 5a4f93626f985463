import CartflowCore
import Foundation

/// `cartflow validate [PATH ...]`: lints workflow files and folders and reports every problem.
enum ValidateCommand: Command {
    static let name = "validate"
    static let summary = "check workflow files and report every problem (default: workflows/)"
    static let help = """
        USAGE: cartflow validate [PATH ...] [--format text|json|github]

        Checks workflow files against format version 1 and reports every problem at once, sorted by file,
        line and column. A folder contributes its *.yaml and *.yml files. The default path is workflows/.
        An unset API key variable is a warning: validate never needs the key.

        OPTIONS:
          --format FORMAT   text (default): compiler-style messages with the source line, on stderr
                            json: one object on stdout: {valid, files, diagnostics}
                            github: GitHub Actions annotations (::error file=...) on stdout

        EXIT CODES:
          0 every file is valid (warnings allowed) · 2 usage error · 3 a file is invalid

        EXAMPLES:
          cartflow validate
          cartflow validate workflows/au-price-watch.yaml --format github
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let parsed = try Arguments(arguments, flags: [], options: ["format"])
        let format = try parsed.choice("format", in: ["text", "json", "github"], default: "text")
        let paths = parsed.positional.isEmpty ? ["workflows"] : parsed.positional

        // Diagnostics name files as the user gave them; reading resolves them against the current directory.
        let listing = WorkflowLoader.workflowFiles(in: paths.map(context.resolve))
        var diagnostics = listing.problems.map { relabel($0, paths: paths, context: context) }
        var sources: [String: String] = [:]
        var files: [(path: String, valid: Bool)] = []
        for file in listing.files {
            let shown = displayPath(file, paths: paths, context: context)
            var result = WorkflowLoader.load(path: file, environment: context.environment)
            result.diagnostics = result.diagnostics.map { relabel($0, paths: paths, context: context) }
            diagnostics += result.diagnostics
            sources[shown] = result.sourceText
            files.append((shown, result.isValid))
        }
        diagnostics = diagnostics.sortedByLocation()
        let valid = !diagnostics.hasErrors

        switch format {
        case "json":
            context.output.print(json(valid: valid, files: files, diagnostics: diagnostics))
        case "github":
            for diagnostic in diagnostics { context.output.print(github(diagnostic)) }
        default:
            for diagnostic in diagnostics {
                context.output.error(
                    diagnostic.render(sourceText: sources[diagnostic.file], color: context.output.useColor) + "\n")
            }
            let errors = diagnostics.filter { $0.severity == .error }.count
            let warnings = diagnostics.filter { $0.severity == .warning }.count
            let invalid = files.filter { !$0.valid }.count
            var summary = "\(files.count) file\(files.count == 1 ? "" : "s") checked: "
            summary += invalid == 0 && errors == 0 ? "all valid" : "\(invalid) invalid"
            summary += ", \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
            if valid, context.output.verbosity == .quiet {
                break
            }
            context.output.error(summary)
        }
        return valid ? .success : .invalidWorkflow
    }

    /// The path as the user wrote it: resolved paths under the current directory are shown relative to it.
    private static func displayPath(_ path: String, paths: [String], context: CommandContext) -> String {
        let base = context.currentDirectory.hasSuffix("/") ? context.currentDirectory : context.currentDirectory + "/"
        guard paths.allSatisfy({ !$0.hasPrefix("/") }), path.hasPrefix(base) else { return path }
        var relative = path.dropFirst(base.count)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        return String(relative)
    }

    private static func relabel(_ diagnostic: Diagnostic, paths: [String], context: CommandContext) -> Diagnostic {
        var diagnostic = diagnostic
        diagnostic.file = displayPath(diagnostic.file, paths: paths, context: context)
        diagnostic.notes = diagnostic.notes.map { note in
            var note = note
            note.location.file = displayPath(note.location.file, paths: paths, context: context)
            return note
        }
        return diagnostic
    }

    private struct Report: Encodable {
        struct File: Encodable {
            var path: String
            var valid: Bool
        }

        struct Entry: Encodable {
            var code: String
            var severity: String
            var message: String
            var file: String
            var line: Int
            var column: Int
            var keyPath: String
            var notes: [Note]

            enum CodingKeys: String, CodingKey {
                case code, severity, message, file, line, column, notes
                case keyPath = "key_path"
            }
        }

        struct Note: Encodable {
            var message: String
            var file: String
            var line: Int
            var column: Int
        }

        var valid: Bool
        var files: [File]
        var diagnostics: [Entry]
    }

    static func json(valid: Bool, files: [(path: String, valid: Bool)], diagnostics: [Diagnostic]) -> String {
        let report = Report(
            valid: valid, files: files.map { Report.File(path: $0.path, valid: $0.valid) },
            diagnostics: diagnostics.map { diagnostic in
                Report.Entry(
                    code: diagnostic.code, severity: diagnostic.severity.rawValue, message: diagnostic.message,
                    file: diagnostic.file, line: diagnostic.line, column: diagnostic.column,
                    keyPath: diagnostic.keyPath,
                    notes: diagnostic.notes.map {
                        Report.Note(
                            message: $0.message, file: $0.location.file, line: $0.location.line,
                            column: $0.location.column)
                    })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, numbers and booleans cannot fail.
        let data = (try? encoder.encode(report)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A GitHub Actions workflow command: `::error file=F,line=L,col=C,title=CF102::message`.
    static func github(_ diagnostic: Diagnostic) -> String {
        let command = diagnostic.severity == .error ? "error" : diagnostic.severity == .warning ? "warning" : "notice"
        var message = diagnostic.message
        for note in diagnostic.notes {
            message += "\n\(note.location.file):\(note.location.line):\(note.location.column): note: \(note.message)"
        }
        let properties = [
            "file=\(escapeProperty(diagnostic.file))", "line=\(diagnostic.line)", "col=\(diagnostic.column)",
            "title=\(escapeProperty(diagnostic.code))",
        ]
        return "::\(command) \(properties.joined(separator: ","))::\(escapeData(message))"
    }

    private static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    private static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
