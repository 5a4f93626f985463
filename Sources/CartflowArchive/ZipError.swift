/// Why a ZIP archive was refused or could not be written; cases that concern one entry name it.
public enum ZipError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An entry name is empty, absolute, has a `..` segment, a NUL or a backslash-separated escape.
    case unsafeEntryName(entry: String, reason: String)
    /// An entry is a symlink, hardlink, device or other entry that is neither a regular file nor a directory.
    case notARegularFile(entry: String, kind: String)
    /// Two entries share one name, so which one is meant is ambiguous.
    case duplicateEntry(entry: String)
    /// The archive holds more entries than the limit allows.
    case tooManyEntries(limit: Int)
    /// One entry (declared or actual size) exceeds the per-entry limit.
    case entryTooLarge(entry: String, limit: Int64)
    /// The entries together exceed the total uncompressed limit.
    case totalTooLarge(entry: String, limit: Int64)
    /// libarchive could not read the archive (not a ZIP, truncated, corrupt).
    case unreadable(String)
    /// libarchive could not write the archive.
    case writeFailed(String)

    public var description: String {
        switch self {
        case let .unsafeEntryName(entry, reason): "ZIP entry '\(Self.printable(entry))' refused: \(reason)"
        case let .notARegularFile(entry, kind):
            "ZIP entry '\(Self.printable(entry))' refused: it is a \(kind), not a regular file"
        case let .duplicateEntry(entry): "ZIP entry '\(Self.printable(entry))' refused: the name appears twice"
        case let .tooManyEntries(limit): "ZIP refused: more than \(limit) entries"
        case let .entryTooLarge(entry, limit):
            "ZIP entry '\(Self.printable(entry))' refused: larger than \(limit) bytes uncompressed"
        case let .totalTooLarge(entry, limit):
            "ZIP refused at entry '\(Self.printable(entry))': more than \(limit) bytes uncompressed in total"
        case let .unreadable(message): "ZIP could not be read: \(message)"
        case let .writeFailed(message): "ZIP could not be written: \(message)"
        }
    }

    /// Shows control characters as escapes so a hostile name cannot forge terminal output.
    public static func printable(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
