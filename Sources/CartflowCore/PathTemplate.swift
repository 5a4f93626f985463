/// Output path templates of export steps: `out/{workflow}-{date}.csv`.
public enum PathTemplate {
    /// Every placeholder a path may use.
    public static let placeholders = ["workflow", "collection", "runner", "date", "time", "run"]

    /// Placeholders that make a step write one file per collection.
    public static let perCollection: Set<String> = ["collection", "runner"]

    /// The placeholder names used in `template`, in order (unknown ones included, for validation).
    /// Scans UTF-8 bytes: braces are ASCII, and a workflow's thousands of paths are checked at every load.
    public static func names(in template: String) -> [String] {
        var names: [String] = []
        var open: String.Index?
        var index = template.utf8.startIndex
        while index < template.utf8.endIndex {
            let byte = template.utf8[index]
            if byte == UInt8(ascii: "{") {
                open = index
            } else if byte == UInt8(ascii: "}"), let start = open {
                names.append(String(template[template.utf8.index(after: start)..<index]))
                open = nil
            }
            template.utf8.formIndex(after: &index)
        }
        return names
    }

    /// Whether the template writes one file per collection.
    public static func isPerCollection(_ template: String) -> Bool {
        names(in: template).contains { perCollection.contains($0) }
    }

    /// Replaces each `{name}` with its value; values are made safe as one path segment. A `{` that no `}` closes,
    /// and a `}` that no `{` opens, stay as written.
    public static func expand(_ template: String, values: [String: String]) -> String {
        let utf8 = template.utf8
        guard utf8.contains(UInt8(ascii: "{")) else { return template }
        var result = ""
        var literal = utf8.startIndex  // where the text not yet copied starts
        var open: String.Index?
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "{") {
                open = index
            } else if byte == UInt8(ascii: "}"), let start = open {
                result += template[literal..<start]
                let name = String(template[utf8.index(after: start)..<index])
                result += values[name].map(safeSegment) ?? "{\(name)}"
                literal = utf8.index(after: index)
                open = nil
            }
            utf8.formIndex(after: &index)
        }
        result += template[literal...]
        return result
    }

    /// The files a step with `template` writes for `collections` (its `from:`), as far as a workflow file tells:
    /// `{workflow}` and `{collection}` filled in, each collection's `{runner}` kept apart, `{date}`, `{time}` and
    /// `{run}` left as written (one value per run), the path folded (`//`, `.` and `..` segments).
    public static func files(of template: String, workflow: String, collections: [String]) -> [String] {
        guard isPerCollection(template) else { return [folded(expand(template, values: ["workflow": workflow]))] }
        return collections.map { collection in
            folded(
                expand(
                    template,
                    values: ["workflow": workflow, "collection": collection, "runner": "{runner of \(collection)}"]))
        }
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
            !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") })
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
        var length = 0  // bytes of the current segment
        var dots = 0  // dots among them
        var atStart = true
        for byte in path.utf8 {
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
