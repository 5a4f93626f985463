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
}
