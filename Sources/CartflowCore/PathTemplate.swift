/// Output path templates of export steps: `out/{workflow}-{date}.csv`.
public enum PathTemplate {
    /// Every placeholder a path may use.
    public static let placeholders = ["workflow", "collection", "runner", "date", "time", "run"]

    /// Placeholders that make a step write one file per collection.
    public static let perCollection: Set<String> = ["collection", "runner"]

    /// The placeholder names used in `template`, in order (unknown ones included, for validation).
    public static func names(in template: String) -> [String] {
        var names: [String] = []
        forEachPlaceholder(in: template) { _, name, _ in names.append(String(name)) }
        return names
    }

    /// Whether the template writes one file per collection.
    public static func isPerCollection(_ template: String) -> Bool {
        // `{collection}` written out is a placeholder named so (its `{` is the last one before its `}`), and a
        // placeholder named so is written out: a search for each, without building names.
        perCollectionWords.contains { holds(template, word: $0) }
    }

    /// Whether `written` (braces included) is one of `placeholders`, compared as bytes.
    static func isPlaceholder(_ written: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        placeholderWords.contains { $0.elementsEqual(written) }
    }

    /// Every placeholder written out (`{date}`), then `{collection}`, `{runner}` and `{workflow}`, as UTF-8, built
    /// once.
    private static let placeholderWords = placeholders.map { Array("{\($0)}".utf8) }
    private static let perCollectionWords = perCollection.sorted().map { Array("{\($0)}".utf8) }
    private static let workflowWord = Array("{workflow}".utf8)

    /// Whether `template` holds `word` (a placeholder written out, braces included).
    private static func holds(_ template: String, word: [UInt8]) -> Bool {
        JSONSerializer.withUTF8(template) { bytes in
            guard bytes.count >= word.count else { return false }
            return (0...(bytes.count - word.count)).contains { start in
                bytes[start] == UInt8(ascii: "{") && bytes[start..<(start + word.count)].elementsEqual(word)
            }
        }
    }

    /// Replaces each `{name}` with its value; values are made safe as one path segment. A `{` that no `}` closes,
    /// and a `}` that no `{` opens, stay as written.
    public static func expand(_ template: String, values: [String: String]) -> String {
        expand(template) { values[String($0)] }
    }

    /// `expand(_:values:)` with the values given by a function (nil: the placeholder stays as written).
    static func expand(_ template: String, value: (Substring) -> String?) -> String {
        var result = ""
        var literal = template.startIndex  // where the text not yet copied starts
        forEachPlaceholder(in: template) { open, name, close in
            if result.isEmpty { result.reserveCapacity(template.utf8.count + 16) }
            result += template[literal..<open]
            result += value(name).map(safeSegment) ?? "{\(name)}"
            literal = close
        }
        guard literal > template.startIndex else { return template }
        result += template[literal...]
        return result
    }

    /// Calls `body` with each `{name}` of `template`: where its `{` is, the name, and where the text after its `}`
    /// starts. A `{` that no `}` closes before the next `{` is text. Scans the UTF-8 buffer (braces are ASCII): a
    /// workflow's thousands of paths are checked at every load.
    private static func forEachPlaceholder(
        in template: String, _ body: (_ open: String.Index, _ name: Substring, _ after: String.Index) -> Void
    ) {
        let view = template.utf8
        JSONSerializer.withUTF8(template) { bytes in
            var open: Int?
            for (index, byte) in bytes.enumerated() {
                if byte == UInt8(ascii: "{") {
                    open = index
                } else if byte == UInt8(ascii: "}"), let first = open {
                    // Native strings index their UTF-8 in constant time.
                    let start = view.index(view.startIndex, offsetBy: first)
                    let end = view.index(start, offsetBy: index - first)
                    body(start, template[view.index(after: start)..<end], view.index(after: end))
                    open = nil
                }
            }
        }
    }

    /// The files a step with `template` writes for `collections` (its `from:`), as far as a workflow file tells:
    /// `{workflow}` and `{collection}` filled in, each collection's `{runner}` kept apart, `{date}`, `{time}` and
    /// `{run}` left as written (one value per run), the path folded (`//`, `.` and `..` segments).
    public static func files(of template: String, workflow: String, collections: [String]) -> [String] {
        guard isPerCollection(template) else { return [file(of: template, workflow: workflow)] }
        return collections.map { collection in
            folded(
                expand(template) { name in
                    switch name {
                    case "workflow": workflow
                    case "collection": collection
                    case "runner": "{runner of \(collection)}"
                    default: nil
                    }
                })
        }
    }

    /// The one file of a template that is not per collection (`files(of:workflow:collections:)` for one).
    public static func file(of template: String, workflow: String) -> String {
        guard holds(template, word: workflowWord) else { return folded(template) }
        return folded(expand(template) { $0 == "workflow" ? workflow : nil })
    }

    /// `path` with empty and `.` segments dropped and `..` applied where it can be.
    public static func folded(_ path: String) -> String {
        guard needsFolding(path) else { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// A value usable as (part of) one path segment: no separators, no leading dots, no control characters.
    public static func safeSegment(_ value: String) -> String {
        if let first = value.utf8.first, first != UInt8(ascii: "."),
            !value.utf8.contains(where: {
                $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\")
            })
        {
            return value
        }
        var text = String(
            value.unicodeScalars.map { scalar -> Character in
                if scalar == "/" || scalar == "\\" || scalar.value < 0x20 || scalar == "\u{7F}" { return "_" }
                return Character(scalar)
            })
        while text.hasPrefix(".") { text.removeFirst() }
        return text.isEmpty ? "_" : text
    }

    /// Whether `folded` would change `path`: an empty segment (`//`, a trailing `/`), or a `.` or `..` segment.
    private static func needsFolding(_ path: String) -> Bool {
        JSONSerializer.withUTF8(path, needsFolding)
    }

    private static func needsFolding(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        var length = 0  // bytes of the current segment
        var dots = 0  // dots among them
        var atStart = true
        for byte in path {
            if byte == UInt8(ascii: "/") {
                if length == 0 ? !atStart : (dots == length && length <= 2) { return true }
                atStart = false
                (length, dots) = (0, 0)
            } else {
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return length == 0 ? !path.isEmpty : (dots == length && length <= 2)
    }
}
