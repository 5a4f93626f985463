import CartflowCore
import CartflowTestSupport
import Testing

/// Two steps must never write one file: the second would silently replace the first. Templates are compared by
/// the files they name once `{workflow}` and `{collection}` are filled in and the path is folded.
@Suite("Step output paths")
struct OutputPathTests {
    static let twoCollections = """
        cartflow: 1
        name: col
        collections:
          laptops: { id: 101 }
          phones: { id: 102 }

        """

    @Test(arguments: [
        // A per-collection template names the file another step writes for one of its collections.
        ("1️⃣out/{collection}.csv", "from: [phones]\n    path: 2️⃣out/laptops.csv", "out/laptops.csv"),
        // {workflow} is the workflow's name.
        ("1️⃣out/{workflow}.csv", "path: 2️⃣out/col.csv", "out/col.csv"),
        // Empty and `.` segments name the same file.
        ("1️⃣out//x.csv", "path: 2️⃣./out/x.csv", "out/x.csv"),
        ("1️⃣out/a/../x.csv", "path: 2️⃣out/x.csv", "out/x.csv"),
        // The same template twice.
        ("1️⃣out/{date}.csv", "path: 2️⃣out/{date}.csv", "out/{date}.csv"),
    ])
    func stepsNamingOneFileAreCF122(first: String, second: String, file: String) throws {
        let marked = MarkedText(
            Self.twoCollections + """
                steps:
                  - export: csv
                    path: \(first)
                  - export: json
                    \(second)
                """)
        let result = load(marked)
        #expect(spots(result) == [spot(.duplicateValue, marked, "2️⃣")])
        #expect(
            result.diagnostics.first?.message
                == "another step already writes '\(file)'; the second would overwrite the first")
        let note = try #require(result.diagnostics.first?.notes.first?.location)
        #expect(note.line == marked["1️⃣"].line && note.column == marked["1️⃣"].column)
    }

    /// Per-collection steps over different collections write different files, even with one template.
    @Test func oneTemplateOverDifferentCollectionsIsFine() {
        let marked = MarkedText(
            Self.twoCollections + """
                steps:
                  - export: csv
                    from: [laptops]
                    path: out/{runner}.csv
                  - export: csv
                    from: [phones]
                    path: out/{runner}.csv
                  - export: ndjson
                    path: out/{collection}-{runner}.ndjson
                """)
        let result = load(marked)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.message))")
    }

    @Test func filesFillTheTemplateAndFoldThePath() {
        #expect(
            PathTemplate.files(
                of: "out//{workflow}/./{collection}-{runner}.csv", workflow: "w", collections: ["a", "b/c"])
                == ["out/w/a-{runner of a}.csv", "out/w/b_c-{runner of b_c}.csv"])
        #expect(PathTemplate.files(of: "/x/../y/{date}.csv", workflow: "w", collections: ["a"]) == ["/y/{date}.csv"])
    }

    /// The byte-level template functions (and their shortcuts for text with nothing to do) agree with the plain
    /// definitions below on every template built from the pieces that matter: braces, slashes, dots, names.
    @Test func templateFunctionsAgreeWithTheirDefinitions() {
        let pieces = ["{", "}", "/", ".", "..", "a", "é", "workflow", "collection", "date", "\\", "\n", "x y"]
        let values = ["workflow": "w.f", "collection": "a/b", "date": ".hidden"]
        // Every sequence of up to four pieces.
        var level = [""]
        var templates = Set(level)
        for _ in 1...4 {
            level = level.flatMap { prefix in pieces.map { prefix + $0 } }
            templates.formUnion(level)
        }
        for template in templates {
            #expect(PathTemplate.names(in: template) == Reference.names(in: template), "\(template)")
            #expect(PathTemplate.expand(template, values: values) == Reference.expand(template, values: values))
            #expect(PathTemplate.folded(template) == Reference.folded(template), "\(template)")
            #expect(PathTemplate.safeSegment(template) == Reference.safeSegment(template), "\(template)")
        }
    }

    /// The definitions, written character by character.
    enum Reference {
        static func names(in template: String) -> [String] {
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

        static func expand(_ template: String, values: [String: String]) -> String {
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

        static func folded(_ path: String) -> String {
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

        static func safeSegment(_ value: String) -> String {
            var text = String(
                value.unicodeScalars.map { scalar -> Character in
                    if scalar == "/" || scalar == "\\" || scalar.value < 0x20 || scalar == "\u{7F}" { return "_" }
                    return Character(scalar)
                })
            while text.hasPrefix(".") { text.removeFirst() }
            return text.isEmpty ? "_" : text
        }
    }
}
