import CartflowCore
import CartflowTestSupport
import Testing

/// The rules for a step's `columns:` and `provenance:`, shared by the loader, `cartflow export` and the exporter.
@Suite("Export step columns")
struct ExportStepRulesTests {
    /// A column named like a provenance column would lose its own value in CSV (the provenance column keeps the
    /// name) and be renamed `name#2` in JSON: the loader refuses it at the column, with a note at the provenance.
    @Test func aColumnNamedLikeAProvenanceColumnIsCF122() throws {
        let marked = MarkedText(
            header + """
                steps:
                  - export: csv
                    path: out/a.csv
                    provenance: [2️⃣runner, collection, 3️⃣runner]
                    columns: [asin, 1️⃣runner, { record_runner: runner }, { 4️⃣"": title }, 5️⃣asin]
                """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.duplicateValue, marked, "3️⃣"), spot(.duplicateValue, marked, "1️⃣"),
                spot(.wrongType, marked, "4️⃣"), spot(.duplicateValue, marked, "5️⃣"),
            ])
        let messages = result.diagnostics.map(\.message)
        #expect(
            messages == [
                "provenance column 'runner' is listed twice",
                "column 'runner' has the name of the provenance column 'runner', which comes first and keeps it; give the column another output name ('other: runner')",
                "a column has an empty name; a header must name its column ('name: title')",
                "column 'asin' appears twice; give one of them another output name ('other: asin')",
            ])
        let notes = result.diagnostics.map { $0.notes.first.map { "\($0.location.line):\($0.location.column)" } }
        let provenance = marked["2️⃣"]
        #expect(notes[0] == "\(provenance.line):\(provenance.column)")
        #expect(notes[1] == "\(provenance.line):\(provenance.column)")
        #expect(result.workflow == nil)
    }

    /// A source may name a record field called like a provenance column: the name is what must differ.
    @Test func aSourceNamedLikeAProvenanceColumnIsFine() throws {
        let result = load(
            MarkedText(
                header + """
                    steps:
                      - export: ndjson
                        path: out/a.ndjson
                        provenance: [runner]
                        columns: [{ record_runner: runner }]
                    """))
        #expect(result.diagnostics == [])
        #expect(result.workflow?.steps.first?.columns == [ColumnSpec(name: "record_runner", source: "runner")])
    }

    @Test func theRulesFindOneProblemPerEntry() {
        let columns = [
            ColumnSpec("a"), ColumnSpec(name: "", source: "b"), ColumnSpec(name: "c", source: ""),
            ColumnSpec("runner"), ColumnSpec(name: "a", source: "z"), ColumnSpec(name: "ok", source: "runner"),
        ]
        #expect(
            ExportStep.problems(columns: columns, provenance: [.collection, .runner, .collection]) == [
                .duplicateProvenance(provenance: 2, first: 0, name: "collection"),
                .emptyColumnName(column: 1, source: "b"),
                .emptyColumnSource(column: 2, name: "c"),
                .columnNamedLikeProvenance(column: 3, provenance: 1, name: "runner", source: "runner"),
                .duplicateColumnName(column: 4, first: 0, name: "a", source: "z"),
            ])
        #expect(ExportStep.problems(columns: nil, provenance: [.runner]) == [])
    }

    /// Short lists are searched linearly and long ones hashed: both find the same first column, the first one
    /// kept (a column with an empty source before it is not one).
    @Test(arguments: [0, 40])
    func aRepeatNamesTheFirstColumnKept(padding: Int) {
        let padded = (0..<padding).map { ColumnSpec("pad\($0)") }
        let columns = padded + [ColumnSpec(name: "a", source: ""), ColumnSpec("a"), ColumnSpec(name: "a", source: "z")]
        #expect(
            ExportStep.problems(columns: columns, provenance: []) == [
                .emptyColumnSource(column: padding, name: "a"),
                .duplicateColumnName(column: padding + 2, first: padding + 1, name: "a", source: "z"),
            ])
    }

    /// `from:` repeats and CSV-only keys: the loader reports them with these rules and messages, and `cartflow
    /// export --from/--bom/--no-formula-guard` refuses the same.
    @Test func repeatedCollectionsAndCSVOnlyKeys() {
        let repeats = ExportStep.repeatedCollections(["a", "b", "a", "b", "a"])
        #expect(repeats.map(\.index) == [2, 3, 4])
        #expect(repeats.map(\.first) == [0, 1, 0])
        #expect(ExportStep.repeatedCollections(["a", "b"]).isEmpty)
        #expect(ExportStep.csvOnlyProblem("'bom'", format: .csv) == nil)
        #expect(
            ExportStep.csvOnlyProblem("--bom", format: .ndjson, subject: "this command")
                == "--bom applies only to CSV exports; this command exports ndjson")
        let marked = MarkedText(
            header + """
                steps:
                  - export: json
                    from: [laptops, 1️⃣laptops]
                    path: out/a.json
                    2️⃣formula_guard: false
                """)
        let result = load(marked)
        #expect(spots(result) == [spot(.duplicateValue, marked, "1️⃣"), spot(.conflict, marked, "2️⃣")])
        #expect(
            result.diagnostics.map(\.message) == [
                ExportStep.repeatedCollectionMessage("laptops"),
                ExportStep.csvOnlyProblem("'formula_guard'", format: .json)!,
            ])
    }
}
