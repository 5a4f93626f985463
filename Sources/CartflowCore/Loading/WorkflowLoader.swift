import CartflowYAML
import Foundation

/// What loading one workflow file produced: the workflow when it is valid, and every diagnostic either way.
public struct LoadResult: Sendable {
    /// The workflow; `nil` if and only if a diagnostic is an error.
    public var workflow: Workflow?
    /// Errors and warnings, sorted by file, line, column.
    public var diagnostics: [Diagnostic]
    /// The file's text as read (for rendering source lines); `nil` when it could not be read or is not UTF-8.
    public var sourceText: String?

    public init(workflow: Workflow?, diagnostics: [Diagnostic], sourceText: String?) {
        self.workflow = workflow
        self.diagnostics = diagnostics
        self.sourceText = sourceText
    }

    public var isValid: Bool { workflow != nil }
}

/// Loads workflow files: bytes → YAML nodes (CartflowYAML) → a validated `Workflow`, with diagnostics.
public enum WorkflowLoader {
    /// Reads and loads the file at `path` (as given; it is also the file name shown in diagnostics).
    public static func load(path: String, environment: [String: String], limits: YAMLLimits = .default) -> LoadResult {
        let bytes: [UInt8]
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > limits.maxBytes {
                let diagnostic = Diagnostic(
                    code: .tooLarge, message: "the file is \(size) bytes; the limit is \(limits.maxBytes) bytes",
                    location: SourceLocation(file: path, line: 1, column: 1))
                return LoadResult(workflow: nil, diagnostics: [diagnostic], sourceText: nil)
            }
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? "\(error)"
            let exists = FileManager.default.fileExists(atPath: path)
            let diagnostic = Diagnostic(
                code: .unreadable, message: exists ? "cannot read the file: \(reason)" : "no such file",
                location: SourceLocation(file: path, line: 1, column: 1))
            return LoadResult(workflow: nil, diagnostics: [diagnostic], sourceText: nil)
        }
        return load(bytes: bytes, path: path, environment: environment, limits: limits)
    }

    /// Loads workflow text; `path` names it in diagnostics and gives the default workflow name.
    public static func load(text: String, path: String, environment: [String: String], limits: YAMLLimits = .default)
        -> LoadResult
    {
        load(bytes: Array(text.utf8), path: path, environment: environment, limits: limits)
    }

    /// Loads workflow bytes (UTF-8, optionally with a byte order mark).
    public static func load(bytes: [UInt8], path: String, environment: [String: String], limits: YAMLLimits = .default)
        -> LoadResult
    {
        // The byte order mark is not text of line 1 (libyaml's columns do not count it, and excerpts must not
        // carry an invisible character).
        let text = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
        let sourceText = String(validating: text, as: UTF8.self)
        let root: Node
        do {
            root = try YAMLParser.parse(bytes, limits: limits)
        } catch {
            let secrets = [environment["MULTICART_API_KEY"] ?? ""].filter { !$0.isEmpty }
            return LoadResult(
                workflow: nil,
                diagnostics: redacting([diagnostic(for: error, file: path)], secrets: secrets, sourceText: sourceText),
                sourceText: sourceText)
        }
        let decoder = WorkflowDecoder(file: path, environment: environment, sourceText: sourceText)
        let workflow = decoder.workflow(root, defaultName: defaultName(for: path))
        let diagnostics = redacting(
            decoder.finishedDiagnostics(), secrets: decoder.secretValues, sourceText: sourceText)
        return LoadResult(workflow: workflow, diagnostics: diagnostics, sourceText: sourceText)
    }

    /// The last guard for the key: a diagnostic whose line (or a note's line) holds a secret value is rendered
    /// without source lines, and a secret in a message or key path (a collection named like the key, a value
    /// echoed by a message) is replaced — also in its percent-encoded form.
    static func redacting(_ diagnostics: [Diagnostic], secrets: [String], sourceText: String?) -> [Diagnostic] {
        let forms = secrets.flatMap { secret in
            [secret, secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret]
        }.filter { !$0.isEmpty }
        guard !forms.isEmpty, !diagnostics.isEmpty else { return diagnostics }
        let lines = sourceText.map(Diagnostic.splitLines) ?? []
        var exposed: [Int: Bool] = [:]
        func exposes(_ line: Int) -> Bool {
            if let known = exposed[line] { return known }
            let result = holdsSecret(line)
            exposed[line] = result
            return result
        }
        func holdsSecret(_ line: Int) -> Bool {
            line >= 1 && line <= lines.count
                && forms.contains { WorkflowDecoder.holds(String(lines[line - 1]), secret: $0) }
        }
        func redact(_ text: String) -> String {
            // A key of one to three characters cannot be told from ordinary text; longer ones are replaced.
            forms.filter { $0.utf8.count >= 4 }.reduce(text) {
                $0.replacingOccurrences(of: $1, with: "<the API key>")
            }
        }
        return diagnostics.map { diagnostic in
            var diagnostic = diagnostic
            if exposes(diagnostic.line) || diagnostic.notes.contains(where: { exposes($0.location.line) }) {
                diagnostic.showsSourceLine = false
            }
            diagnostic.message = redact(diagnostic.message)
            diagnostic.keyPath = redact(diagnostic.keyPath)
            diagnostic.notes = diagnostic.notes.map { note in
                var note = note
                note.message = redact(note.message)
                return note
            }
            return diagnostic
        }
    }

    /// The workflow name used when the file has no `name:`: the file name without its extension.
    public static func defaultName(for path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        for suffix in [".yaml", ".yml"] where file.hasSuffix(suffix) && file.count > suffix.count {
            return String(file.dropLast(suffix.count))
        }
        return file
    }

    static func diagnostic(for error: YAMLError, file: String) -> Diagnostic {
        let code: DiagnosticCode
        switch error.kind {
        case .tooLarge: code = .tooLarge
        case .invalidUTF8: code = .invalidUTF8
        case .syntax: code = .syntax
        case .tabIndentation: code = .tabIndentation
        case .multipleDocuments: code = .multipleDocuments
        case .empty: code = .empty
        case .tooDeep: code = .tooDeep
        case .aliasExpansion: code = .aliasExpansion
        case .undefinedAlias: code = .undefinedAlias
        case .tag: code = .tag
        }
        let location = SourceLocation(file: file, line: error.mark.line, column: error.mark.column)
        var notes: [Diagnostic.Note] = []
        if let context = error.context {
            notes.append(
                Diagnostic.Note(
                    message: context.message,
                    location: SourceLocation(file: file, line: context.mark.line, column: context.mark.column)))
        }
        return Diagnostic(code: code, message: Diagnostic.visible(error.message), location: location, notes: notes)
    }

    /// The workflow files named by `paths`: a file is taken as given; a folder contributes its `*.yaml` and `*.yml`
    /// files (not recursive), sorted by name. Paths that do not exist, and folders without workflow files, are
    /// returned as `.unreadable` diagnostics so a linter never passes on nothing.
    public static func workflowFiles(in paths: [String]) -> (files: [String], problems: [Diagnostic]) {
        var files: [String] = []
        var problems: [Diagnostic] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                problems.append(
                    Diagnostic(
                        code: .unreadable, message: "no such file or folder",
                        location: SourceLocation(file: path, line: 1, column: 1)))
                continue
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            let entries = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            let found = entries.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            if found.isEmpty {
                problems.append(
                    Diagnostic(
                        code: .unreadable, message: "no workflow files (*.yaml, *.yml) in this folder",
                        location: SourceLocation(file: path, line: 1, column: 1)))
            }
            let base = path.hasSuffix("/") ? String(path.dropLast()) : path
            files.append(contentsOf: found.map { base == "." ? $0 : "\(base)/\($0)" })
        }
        return (files, problems)
    }
}
