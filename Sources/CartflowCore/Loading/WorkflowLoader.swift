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
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            // A folder named like a workflow file (`sub.yaml/`), listed by a folder given to `validate`.
            let diagnostic = Diagnostic(
                code: .unreadable, message: "this is a folder, not a workflow file",
                location: SourceLocation(file: path, line: 1, column: 1))
            return LoadResult(workflow: nil, diagnostics: [diagnostic], sourceText: nil)
        }
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
            let reason = readFailure(error)
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
        let document: YAMLDocument
        do {
            document = try YAMLParser.parseDocument(bytes, limits: limits)
        } catch {
            // Without a node tree nothing says which variable `api.key` names, nor which lines are `api.key`: both
            // are found by a scan of the text — the values of `MULTICART_API_KEY` and of every variable a `key:`
            // names are secrets, and a literal key written in the file (the environment may not even hold it)
            // hides the lines it may be on.
            let lines = sourceText.map(Diagnostic.splitLines) ?? []
            let variables = ["MULTICART_API_KEY"] + keyVariables(lines).sorted()
            let secrets = variables.compactMap { environment[$0] }.filter { !$0.isEmpty }
            var diagnostics = redacting(
                [diagnostic(for: error, file: path)], secrets: secrets, sourceText: sourceText)
            if sourceText != nil, diagnostics.contains(where: \.showsSourceLine) {
                let hidden = literalKeyLines(lines)
                for index in diagnostics.indices
                where ([diagnostics[index].line] + diagnostics[index].notes.map(\.location.line)).contains(where: {
                    hidden.contains($0)
                }) {
                    diagnostics[index].showsSourceLine = false
                }
            }
            return LoadResult(workflow: nil, diagnostics: diagnostics, sourceText: sourceText)
        }
        let decoder = WorkflowDecoder(
            file: path, environment: environment, sourceText: sourceText)
        let workflow = decoder.workflow(document.root, defaultName: defaultName(for: path))
        let diagnostics = redacting(
            decoder.finishedDiagnostics(), secrets: decoder.secretValues.map(\.secret), sourceText: sourceText)
        return LoadResult(workflow: workflow, diagnostics: diagnostics, sourceText: sourceText)
    }

    /// The last guard for the key: a diagnostic whose line (or a note's line) holds a secret value is rendered
    /// without source lines, and a secret in a message or key path (a collection named like the key, a value
    /// echoed by a message) is replaced — raw or percent-encoded, however the encoder chose (`SecretText`).
    static func redacting(_ diagnostics: [Diagnostic], secrets: [String], sourceText: String?) -> [Diagnostic] {
        let forms = secrets.filter { !$0.isEmpty }.map(SecretText.init)
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
            forms.filter { $0.secret.utf8.count >= 4 }.reduce(text) { $1.redact($0, with: "<the API key>") }
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

    /// The lines (1-based) that may show a literal API key, for a file libyaml refused: a line where a key ending
    /// in `key` (`key:`, `api_key:`, `"key":`, `{key: …}`, any letter case) has a value other than exactly
    /// `${NAME}` (a `${NAME:-default}` holds a literal default), and the lines such a value may continue on — an
    /// unclosed quote up to its closing quote (or the end of the file), an empty value or a block scalar (`|`,
    /// `>`) and plain continuations over the more-indented lines after it (a line indented with a tab counts as
    /// more indented). A byte scan that errs towards hiding: a hidden line costs an excerpt, a shown key costs a
    /// key.
    static func literalKeyLines(_ lines: [Substring]) -> Set<Int> {
        var hidden = Set<Int>()
        var index = 0
        while index < lines.count {
            let bytes = Array(lines[index].utf8)
            guard let value = keyValue(in: bytes), value.isLiteral else {
                index += 1
                continue
            }
            hidden.insert(index + 1)
            var next = index + 1
            if let quote = value.openQuote {
                // The value runs on to the line that closes its quote.
                while next < lines.count {
                    hidden.insert(next + 1)
                    let closes = closingQuote(quote, in: Array(lines[next].utf8), from: 0) != nil
                    next += 1
                    if closes { break }
                }
            } else {
                let indent = bytes.prefix { $0 == 0x20 || $0 == 0x09 }.count
                while next < lines.count {
                    let line = lines[next].utf8
                    let isBlank = line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
                    // A tab is not YAML indentation, but a key pasted after one is on a line libyaml refused.
                    let leading = line.prefix { $0 == 0x20 || $0 == 0x09 }
                    let deeper = leading.contains(0x09) || leading.count > indent
                    guard isBlank || deeper else { break }
                    hidden.insert(next + 1)
                    next += 1
                }
            }
            index = max(index + 1, next)
        }
        return hidden
    }

    /// The environment variables that the `…key:` entries of a file libyaml refused name (`${NAME}`, or the
    /// `NAME` of `${NAME:-default}`): any of them may be the one `api.key` names, so their values are secrets.
    static func keyVariables(_ lines: [Substring]) -> Set<String> {
        var names = Set<String>()
        for line in lines where line.utf8.count >= 3 {
            for value in keyValues(in: Array(line.utf8)) {
                if let name = value.variable { names.insert(name) }
            }
        }
        return names
    }

    private struct KeyValue {
        /// The quote of a quoted value that the line does not close.
        var openQuote: UInt8?
        /// The variable a `${NAME}` or `${NAME:-default}` value names.
        var variable: String?
        /// False only for a value that is exactly `${NAME}`: anything else may be, or hold, a literal key.
        var isLiteral: Bool
    }

    /// The `…key:` entry of a line that best tells whether a literal key may be there: the last one with an
    /// unclosed quote, else the last literal one, else the last one. Nil when the line holds no such entry.
    private static func keyValue(in bytes: [UInt8]) -> KeyValue? {
        let values = keyValues(in: bytes)
        return values.last { $0.openQuote != nil } ?? values.last { $0.isLiteral } ?? values.last
    }

    /// Every `…key:` entry of a line, in order.
    private static func keyValues(in bytes: [UInt8]) -> [KeyValue] {
        func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        var found: [KeyValue] = []
        var start = 0
        while start + 3 <= bytes.count {
            defer { start += 1 }
            guard lower(bytes[start]) == 0x6B, lower(bytes[start + 1]) == 0x65, lower(bytes[start + 2]) == 0x79 else {
                continue
            }
            var index = start + 3
            if index < bytes.count, bytes[index] == 0x22 || bytes[index] == 0x27 { index += 1 }
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count, bytes[index] == 0x3A else { continue }
            index += 1
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            var quote: UInt8?
            if index < bytes.count, bytes[index] == 0x22 || bytes[index] == 0x27 {
                quote = bytes[index]
                index += 1
            }
            let open = quote.flatMap { closingQuote($0, in: bytes, from: index) == nil ? $0 : nil }
            var value = KeyValue(openQuote: open, variable: nil, isLiteral: true)
            if index + 1 < bytes.count, bytes[index] == 0x24, bytes[index + 1] == 0x7B {
                var end = index + 2
                while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
                let name = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                if Interpolation.isVariableName(name) {
                    value.variable = name
                    // Exactly `${NAME}`: the reference ends the value — at its quote; for a plain value at the end
                    // of the line or a comment, or in a flow collection at a `,`, `}` or `]`.
                    if end < bytes.count, bytes[end] == 0x7D {
                        var after = end + 1
                        if let quote {
                            value.isLiteral = !(after < bytes.count && bytes[after] == quote)
                        } else {
                            while after < bytes.count, isSpace(bytes[after]) { after += 1 }
                            let inFlow = bytes[..<start].contains { $0 == 0x7B || $0 == 0x5B }
                            let ends =
                                after == bytes.count || (after > end + 1 && bytes[after] == 0x23)
                                || (inFlow && [0x2C, 0x7D, 0x5D].contains(bytes[after]))
                            value.isLiteral = !ends
                        }
                    }
                }
            }
            found.append(value)
        }
        return found
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x5F
    }

    /// The index of the quote that closes a `quote`-quoted scalar in `bytes`, searching from `start`: `\"` does not
    /// close a double-quoted one, `''` does not close a single-quoted one.
    private static func closingQuote(_ quote: UInt8, in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if quote == 0x22, byte == 0x5C {
                index += 2
                continue
            }
            if byte == quote {
                if quote == 0x27, index + 1 < bytes.count, bytes[index + 1] == 0x27 {
                    index += 2
                    continue
                }
                return index
            }
            index += 1
        }
        return nil
    }

    /// Why a file could not be read, in plain words: the system's reason (`Permission denied`) rather than the
    /// dump of an `NSError` with its user info, which is all Foundation gives on Linux.
    static func readFailure(_ error: any Error) -> String { systemReason(error) }

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
    /// files (not recursive), sorted by name. A file named twice (`f f`, `./f`, a folder and a file in it) is
    /// listed once, where it is first named, so it is neither checked nor scheduled twice. Paths that do not
    /// exist, and folders without workflow files, are returned as `.unreadable` diagnostics so a linter never
    /// passes on nothing.
    public static func workflowFiles(in paths: [String]) -> (files: [String], problems: [Diagnostic]) {
        var files: [String] = []
        var seen = Set<String>()
        func add(_ file: String) {
            if seen.insert(URL(fileURLWithPath: file).standardizedFileURL.path).inserted { files.append(file) }
        }
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
                add(path)
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
            for file in found { add(base == "." ? file : "\(base)/\(file)") }
        }
        return (files, problems)
    }
}
