import Foundation

/// Where a command writes: results on stdout, progress and diagnostics on stderr.
public final class Output: @unchecked Sendable {
    public enum Verbosity: Int, Sendable, Comparable {
        case quiet = 0, normal, verbose
        public static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
    }

    private let lock = NSLock()
    private let writeOut: @Sendable (String) -> Void
    private let writeErr: @Sendable (String) -> Void
    public var verbosity: Verbosity = .normal
    /// Whether stderr is a terminal (live status lines, colour).
    public let stderrIsTerminal: Bool
    public let stdoutIsTerminal: Bool
    public var useColor = false

    public init(
        stdout: @escaping @Sendable (String) -> Void, stderr: @escaping @Sendable (String) -> Void,
        stdoutIsTerminal: Bool = false, stderrIsTerminal: Bool = false
    ) {
        self.writeOut = stdout
        self.writeErr = stderr
        self.stdoutIsTerminal = stdoutIsTerminal
        self.stderrIsTerminal = stderrIsTerminal
    }

    /// The process's real stdout and stderr.
    public static func standard() -> Output {
        Output(
            stdout: { writeAll($0, to: 1) }, stderr: { writeAll($0, to: 2) },
            stdoutIsTerminal: isatty(1) == 1, stderrIsTerminal: isatty(2) == 1)
    }

    /// Writes `text` to a file descriptor whole, and drops it when the reader has gone (`| head`, a closed CI log):
    /// `FileHandle.write` traps on EPIPE, and a run must never die between its trigger intent and its trigger
    /// because nobody reads its progress.
    static func writeAll(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { buffer in
            guard var pointer = buffer.baseAddress else { return }
            var left = buffer.count
            while left > 0 {
                let written = Foundation.write(descriptor, pointer, left)
                if written > 0 {
                    pointer += written
                    left -= written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // EPIPE, EBADF, a full disk: the text is lost, the command goes on
                }
            }
        }
    }

    /// A result line on stdout.
    public func print(_ text: String = "") {
        lock.withLock { writeOut(text + "\n") }
    }

    /// Raw text on stdout, no newline added.
    public func write(_ text: String) {
        lock.withLock { writeOut(text) }
    }

    /// A diagnostic or message on stderr (shown unless --quiet, errors always).
    public func error(_ text: String) {
        lock.withLock { writeErr(text + "\n") }
    }

    /// A progress line on stderr, timestamped when stderr is not a terminal.
    public func progress(_ text: String) {
        guard verbosity >= .normal else { return }
        lock.withLock { writeErr(stderrIsTerminal ? "  \(text)\n" : "[\(Output.timestamp())] \(text)\n") }
    }

    /// Detail shown only with --verbose.
    public func verbose(_ text: String) {
        guard verbosity >= .verbose else { return }
        lock.withLock { writeErr(stderrIsTerminal ? "  · \(text)\n" : "[\(Output.timestamp())] \(text)\n") }
    }

    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    /// Wraps `text` in an ANSI style when colour is on.
    public func styled(_ text: String, _ code: String) -> String {
        useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
