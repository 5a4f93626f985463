/// Output path templates of export steps: `out/{workflow}-{date}.csv`.
public enum PathTemplate {
    /// Every placeholder a path may use.
    public static let placeholders = ["workflow", "collection", "runner", "date", "time", "run"]

    /// Placeholders that make a step write one file per collection.
    public static let perCollection: Set<String> = ["collection", "runner"]

    /// The placeholder names used in `template`, in order (unknown ones included, for validation).
    public static func names(in template: String) -> [String] {
        var names: [String] = []
        var current: String?
        for character in template {
            if character == "{" {
                current = ""
            } else if character == "}", let name = current {
                names.append(name)
                current = nil
            } else if current != nil {
                current!.append(character)
            }
        }
        return names
    }

    /// Whether the template writes one file per collection.
    public static func isPerCollection(_ template: String) -> Bool {
        names(in: template).contains { perCollection.contains($0) }
    }

    /// Replaces each `{name}` with its value; values are made safe as one path segment.
    public static func expand(_ template: String, values: [String: String]) -> String {
        var result = ""
        var current: String?
        for character in template {
            if character == "{" {
                if let pending = current { result += "{" + pending }
                current = ""
            } else if character == "}", let name = current {
                result += values[name].map(safeSegment) ?? "{\(name)}"
                current = nil
            } else if current != nil {
                current!.append(character)
            } else {
                result.append(character)
            }
        }
        if let pending = current { result += "{" + pending }
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
        var text = String(
            value.unicodeScalars.map { scalar -> Character in
                if scalar == "/" || scalar == "\\" || scalar.value < 0x20 || scalar == "\u{7F}" { return "_" }
                return Character(scalar)
            })
        while text.hasPrefix(".") { text.removeFirst() }
        return text.isEmpty ? "_" : text
    }
}
