import Foundation

/// A place in a workflow file: the file as given, a 1-based line and a 1-based column in characters.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a workflow file, with a stable code, its place and a plain-words message.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Equatable, Comparable {
        case error
        case warning
        case note

        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
        private var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .note: return 2
            }
        }
    }

    /// A second place that explains the diagnostic (the first of two duplicate keys, libyaml's context mark).
    public struct Note: Sendable, Equatable {
        public var message: String
        public var location: SourceLocation

        public init(message: String, location: SourceLocation) {
            self.message = message
            self.location = location
        }
    }

    /// The stable code, `CF102`; see docs/diagnostics.md.
    public var code: String
    public var severity: Severity
    public var message: String
    public var file: String
    public var line: Int
    public var column: Int
    /// Where in the document model the problem is, `collections.laptops.id`; empty for file-level problems.
    public var keyPath: String
    public var notes: [Note]
    /// False when the source line holds a secret (a literal API key): rendering then omits the line.
    public var showsSourceLine: Bool

    public init(
        code: DiagnosticCode, severity: Severity? = nil, message: String, location: SourceLocation,
        keyPath: String = "",
        notes: [Note] = [], showsSourceLine: Bool = true
    ) {
        self.code = code.rawValue
        self.severity = severity ?? code.defaultSeverity
        self.message = message
        self.file = location.file
        self.line = location.line
        self.column = location.column
        self.keyPath = keyPath
        self.notes = notes
        self.showsSourceLine = showsSourceLine
    }

    public var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    /// Names the file `file` as `shown` here and in the notes: a file is read by its resolved path, but named
    /// as the user gave it.
    public mutating func relabel(file: String, as shown: String) {
        if self.file == file { self.file = shown }
        for index in notes.indices where notes[index].location.file == file { notes[index].location.file = shown }
    }

    /// The one-line form, `path:line:col: error: message [CF102]`.
    public var description: String { "\(location): \(severity.rawValue): \(message) [\(code)]" }

    /// Compiler-style text: the headline, the source line with a caret under the column, then each note likewise.
    /// `sourceText` is the file's text (nil when it could not be read); `color` adds ANSI styles.
    public func render(sourceText: String?, color: Bool = false) -> String {
        let lines = sourceText.map(SplitCache.shared.lines) ?? []
        var out = Self.headline(location, severity.rawValue, message + " [\(code)]", color: color)
        if showsSourceLine { out += Self.excerpt(lines, line: line, column: column, color: color) }
        for note in notes {
            out += "\n" + Self.headline(note.location, "note", note.message, color: color)
            if note.location.file == file, showsSourceLine {
                out += Self.excerpt(lines, line: note.location.line, column: note.location.column, color: color)
            }
        }
        return out
    }

    private static func headline(_ location: SourceLocation, _ label: String, _ message: String, color: Bool) -> String
    {
        guard color else { return "\(location): \(label): \(message)" }
        let labelStyle = label == "error" ? "1;31" : label == "warning" ? "1;35" : "1;36"
        return "\u{1B}[1m\(location):\u{1B}[0m \u{1B}[\(labelStyle)m\(label):\u{1B}[0m \u{1B}[1m\(message)\u{1B}[0m"
    }

    /// `  7 | text` and `    |   ^`, with the caret under the column (tabs kept so the caret lines up).
    /// The longest source line shown whole; a longer one (a minified, one-line flow file) is shown as a window
    /// of this many characters around the column, marked with `…`, so each diagnostic stays a few lines.
    static let excerptWidth = 120

    private static func excerpt(_ lines: [Substring], line: Int, column: Int, color: Bool) -> String {
        guard line >= 1, line <= lines.count else { return "" }
        var scalars = SplitCache.shared.scalars(of: lines[line - 1])
        var caretIndex = max(0, column - 1)
        if scalars.count > excerptWidth {
            let start = max(0, min(caretIndex - excerptWidth / 2, scalars.count - excerptWidth))
            let end = min(scalars.count, start + excerptWidth)
            let window = Array(scalars[start..<end])
            scalars = (start > 0 ? ["…"] : []) + window + (end < scalars.count ? ["…"] : [])
            caretIndex = caretIndex - start + (start > 0 ? 1 : 0)
        }
        // One visible character per unsafe one (not an escape), so the caret stays under its column; tabs stay.
        var text = ""
        var padding = ""
        for (index, scalar) in scalars.enumerated() {
            text.unicodeScalars.append(scalar != "\t" && isUnsafeToShow(scalar) ? "\u{FFFD}" : scalar)
            if index < caretIndex { padding.append(scalar == "\t" ? "\t" : " ") }
        }
        let number = String(line)
        let gutter = String(repeating: " ", count: number.count)
        let caret = color ? "\u{1B}[1;32m^\u{1B}[0m" : "^"
        return "\n \(number) | \(text)\n \(gutter) | \(padding)\(caret)"
    }

    /// Whether a character must not reach a terminal as it is: C0 and C1 controls (escape sequences, line
    /// breaks), DEL, and the invisible ones that move or reorder text (bidi overrides, LS, PS, BOM).
    static func isUnsafeToShow(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    /// `text` with unsafe characters written as escapes (`\n`, `\r`, `\t`, `\u{1B}`), for values echoed in
    /// messages: a message stays one line and cannot drive the terminal.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafeToShow) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard isUnsafeToShow(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    /// Lines without their terminators; a CRLF file renders like an LF one.
    static func splitLines(_ text: String) -> [Substring] {
        // The same line breaks as libyaml: LF, CRLF, CR, NEL (C2 85), LS (E2 80 A8), PS (E2 80 A9). Scanned as
        // UTF-8 bytes: splitting on Characters compares graphemes with normalisation, which made loading a large
        // file several times slower than parsing it.
        var text = text
        text.makeContiguousUTF8()
        let utf8 = text.utf8
        var bounds: [(start: Int, end: Int)] = []
        utf8.withContiguousStorageIfAvailable { bytes in
            let count = bytes.count
            var lineStart = 0
            var i = 0
            while i < count {
                let byte = bytes[i]
                var breakLength = 0
                if byte == 0x0A {
                    breakLength = 1
                } else if byte == 0x0D {
                    breakLength = i + 1 < count && bytes[i + 1] == 0x0A ? 2 : 1
                } else if byte == 0xC2, i + 1 < count, bytes[i + 1] == 0x85 {
                    breakLength = 2
                } else if byte == 0xE2, i + 2 < count, bytes[i + 1] == 0x80,
                    bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9
                {
                    breakLength = 3
                }
                if breakLength > 0 {
                    bounds.append((lineStart, i))
                    i += breakLength
                    lineStart = i
                } else {
                    i += 1
                }
            }
            bounds.append((lineStart, count))
        }
        return bounds.map { bound in
            text[utf8.index(utf8.startIndex, offsetBy: bound.start)..<utf8.index(utf8.startIndex, offsetBy: bound.end)]
        }
    }
}

extension Array where Element == Diagnostic {
    /// Sorted by file, line, column, then code, so output is deterministic.
    public func sortedByLocation() -> [Diagnostic] {
        sorted { ($0.file, $0.line, $0.column, $0.code) < ($1.file, $1.line, $1.column, $1.code) }
    }

    public var hasErrors: Bool { contains { $0.severity == .error } }
}

/// The lines of the last file rendered: `render` is called once per diagnostic with the same text, and splitting
/// a large file for each of thousands of diagnostics made rendering quadratic.
private final class SplitCache: @unchecked Sendable {
    static let shared = SplitCache()
    private let lock = NSLock()
    private var text = ""
    private var cached: [Substring] = []

    func lines(_ text: String) -> [Substring] {
        lock.lock()
        defer { lock.unlock() }
        if text != self.text || (cached.isEmpty && !text.isEmpty) {
            self.text = text
            cached = Diagnostic.splitLines(text)
        }
        return cached
    }

    private var lastLine: Substring = ""
    private var lastScalars: [Unicode.Scalar] = []

    /// The characters of `line`, kept for the next call: the diagnostics of a one-line file all render that line.
    func scalars(of line: Substring) -> [Unicode.Scalar] {
        lock.lock()
        defer { lock.unlock() }
        if line.startIndex != lastLine.startIndex || line.endIndex != lastLine.endIndex || line != lastLine {
            lastLine = line
            lastScalars = Array(line.unicodeScalars)
        }
        return lastScalars
    }
}
