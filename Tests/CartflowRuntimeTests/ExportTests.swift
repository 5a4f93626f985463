import CartflowCore
import CartflowRuntime
import Foundation
import Testing

@Suite struct ExportCSVTests {
    @Test func c24QuotingKeepsOneRecordPerSourceRecord() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"""
            [
              {"asin": "B1", "title": "He said \"hi\", then left\nline 2"},
              {"asin": "B2", "title": "  padded  "},
              {"asin": "B3", "title": "comma, only"},
              {"asin": "B4", "title": "carriage\r\nreturn"},
              {"asin": "B5", "title": "plain"},
              {"asin": "B6", "title": ""},
              {"asin": "B7", "title": null},
              {"asin": "B8", "title": "tab\tinside"}
            ]
            """#)
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        try expectGolden(data, "c24-quoting.csv")
        #expect(summary.recordsWritten == 8)
        #expect(summary.columns == ["asin", "title"])
        let rows = try StrictCSVReader.parse(data)
        #expect(rows.count == 9)
        #expect(rows[1] == ["B1", "He said \"hi\", then left\nline 2"])
        #expect(rows[4] == ["B4", "carriage\r\nreturn"])
        #expect(rows[2] == ["B2", "  padded  "])
    }

    @Test func c25ColumnsThatChangeAcrossPagesGiveTheUnionInFirstSeenOrder() throws {
        var fixture = try PageFixture()
        let page1 = try fixture.page(
            #"[{"asin": "A1", "price": {"amount": 10.5, "currency": "USD"}}, {"asin": "A2", "price": {"amount": 3, "currency": "EUR"}}]"#
        )
        let page2 = try fixture.page(
            #"[{"asin": "A3", "seller": "Acme", "price": {"amount": 7, "currency": "GBP"}}, {"seller": "Solo", "asin": "A4"}]"#
        )
        let (summary, data) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv"), [fixture.input([page1, page2])])
        try expectGolden(data, "c25-union.csv")
        #expect(summary.columns == ["asin", "price.amount", "price.currency", "seller"])
        let rows = try StrictCSVReader.parse(data)
        #expect(rows[4] == ["A4", "", "", "Solo"])
        #expect(summary.warnings == [])
    }

    @Test func c25FixedColumnsChooseOrderAndRenameAndWarnAboutTypos() throws {
        var fixture = try PageFixture()
        let page1 = try fixture.page(#"[{"asin": "A1", "price": {"amount": 10.5, "currency": "USD"}}]"#)
        let page2 = try fixture.page(#"[{"asin": "A3", "seller": "Acme", "price": {"amount": 7}}]"#)
        let step = ExportStep(
            format: .csv, path: "x.csv",
            columns: [
                ColumnSpec("seller"), ColumnSpec(name: "price", source: "price.amount"), ColumnSpec("asin"),
                ColumnSpec("price.amont"),
            ])
        let (summary, data) = try fixture.export(step, [fixture.input([page1, page2])])
        try expectGolden(data, "c25-fixed-columns.csv")
        #expect(summary.columns == ["seller", "price", "asin", "price.amont"])
        #expect(
            summary.warnings == [
                "column 'price.amont' (source 'price.amont') matched no field in any record; did you mean 'price.amount'?"
            ])
    }

    private static let formulaPage = #"""
        [{"title": "=HYPERLINK(\"http://x.example\",\"Deal\")", "delta": -5, "note": "-5", "plus": "+1 more",
          "at": "@SUM(A1)", "tab": "\tx", "cr": "\rx", "dash": "-", "minus_text": "-5 off", "ok": "fine",
          "tags": ["=1"]}]
        """#

    @Test func c26FormulaGuardIsOnByDefaultAndLeavesNumbersAlone() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(Self.formulaPage)
        let (_, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        try expectGolden(data, "c26-guard-on.csv")
        let rows = try StrictCSVReader.parse(data)
        let cells = Dictionary(uniqueKeysWithValues: zip(rows[0], rows[1]))
        #expect(cells["title"] == "'=HYPERLINK(\"http://x.example\",\"Deal\")")
        #expect(cells["delta"] == "-5")
        #expect(cells["note"] == "-5")
        #expect(cells["minus_text"] == "'-5 off")
        #expect(cells["tags"] == #"["=1"]"#)
    }

    /// Full-width `＝ ＋ － ＠` are turned into their ASCII forms by spreadsheets in East Asian locales, so they
    /// start formulas too; the guard treats them like `= + - @`.
    @Test func c26FullWidthTriggersAreGuardedToo() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"eq": "＝HYPERLINK(\"http://x.example\")", "plus": "＋1", "minus": "－1", "at": "＠SUM(A1)", "ok": "ｘ＝1"}]"#
        )
        let (_, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        let rows = try StrictCSVReader.parse(data)
        #expect(rows[1] == ["'＝HYPERLINK(\"http://x.example\")", "'＋1", "'－1", "'＠SUM(A1)", "ｘ＝1"])
        let (_, off) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", formulaGuard: false), [fixture.input([page])])
        #expect(try StrictCSVReader.parse(off)[1][1] == "＋1")
    }

    @Test func c26FormulaGuardCanBeTurnedOff() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(Self.formulaPage)
        let (_, data) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", formulaGuard: false), [fixture.input([page])])
        try expectGolden(data, "c26-guard-off.csv")
        let rows = try StrictCSVReader.parse(data)
        #expect(rows[1][0] == "=HYPERLINK(\"http://x.example\",\"Deal\")")
    }

    @Test func c27NumbersKeepTheirText() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"price": 0.30000000000000004, "big": 1e21, "round": 100.0, "neg": -0.0, "huge": 123456789012345678901234567890, "exp": 1E+2, "flag": true, "off": false}]"#
        )
        let (_, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        try expectGolden(data, "c27-numbers.csv")
        #expect(
            String(decoding: data, as: UTF8.self)
                == "price,big,round,neg,huge,exp,flag,off\r\n0.30000000000000004,1e21,100.0,-0.0,123456789012345678901234567890,1E+2,true,false\r\n"
        )
    }

    @Test func nestedObjectsFlattenArraysBecomeJSONAndEmptyObjectsStay() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"a": {"b": {"c": 1}, "d": [1, {"e": "x,y"}]}, "empty": {}, "list": [], "s": "é😀"}]"#)
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(summary.columns == ["a.b.c", "a.d", "empty", "list", "s"])
        #expect(
            String(decoding: data, as: UTF8.self)
                == "a.b.c,a.d,empty,list,s\r\n1,\"[1,{\"\"e\"\":\"\"x,y\"\"}]\",{},[],é😀\r\n")
    }

    @Test func collidingNamesAreRenamedNeverOverwritten() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"""
            [{"price.amount": "literal", "price": {"amount": "nested"}, "sku": 1, "sku": 2, "sku#2": "own"},
             {"price": {"amount": "only nested"}},
             {"price.amount": "only literal"}]
            """#)
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        try expectGolden(data, "collisions.csv")
        #expect(summary.columns == ["price.amount", "sku", "sku#2", "price.amount#2", "sku#3"])
        #expect(
            summary.warnings == [
                "\(page.path): record 1: field 'price.amount' contains a dot and collides with a nested field of the same name; the other value is written in column 'price.amount#2'",
                "\(page.path): record 1: field 'sku' occurs more than once in the record; the other value is written in column 'sku#3'",
            ])
    }

    /// With `columns:`, a collision is reported only where a column reads one of its two names: fields the step
    /// does not write are renamed without a word, as JSON leaves them out.
    @Test func collisionsOfFieldsNoColumnReadsAreNotReported() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"sku": 1, "sku": 2, "tag": "a", "tag": "b", "asin": "x"}]"#)
        let step = ExportStep(format: .csv, path: "x.csv", columns: [ColumnSpec("asin"), ColumnSpec("tag#2")])
        let (summary, data) = try fixture.export(step, [fixture.input([page])])
        #expect(String(decoding: data, as: UTF8.self) == "asin,tag#2\r\nx,b\r\n")
        #expect(
            summary.warnings == [
                "\(page.path): record 1: field 'tag' occurs more than once in the record; the other value is written in column 'tag#2'"
            ])
    }

    @Test func provenanceColumnsComeFirstAndOwnTheirNames() throws {
        var fixture = try PageFixture()
        let laptops = try fixture.page(#"[{"asin": "L1", "runner": "theirs"}]"#)
        let phones = try fixture.page(#"{"results": [{"asin": "P1"}]}"#)
        let step = ExportStep(format: .csv, path: "x.csv", provenance: [.collection, .runner, .scrapedAt])
        let (summary, data) = try fixture.export(
            step,
            [
                fixture.input([laptops], collection: "laptops", runner: 88, scrapedAt: "2026-12-03T18:00:00Z"),
                fixture.input([phones], collection: "phones", runner: 91),
            ])
        try expectGolden(data, "provenance.csv")
        #expect(summary.columns == ["collection", "runner", "scraped_at", "asin", "runner#2"])
        #expect(summary.warnings.count == 1)
    }

    /// With `columns:`, a source names the record's own field even when a provenance column has that name, in CSV as
    /// in JSON; the careful path (a record with a repeated key) resolves it the same way.
    @Test(arguments: [ExportStep.Format.csv, .ndjson])
    func aSourceNamedLikeAProvenanceColumnReadsTheRecordsOwnField(format: ExportStep.Format) throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"runner": 5, "asin": "A"}, {"asin": "B", "runner": 6, "asin": "B2"}]"#)
        let step = ExportStep(
            format: format, path: "x", columns: [ColumnSpec(name: "their", source: "runner"), ColumnSpec("asin")],
            provenance: [.runner])
        let (summary, data) = try fixture.export(step, [fixture.input([page], runner: 88)])
        try expectGolden(data, "provenance-fixed-columns.\(format.rawValue)")
        #expect(summary.columns == ["runner", "their", "asin"])
        if format == .csv {
            #expect(try StrictCSVReader.parse(data).map { $0[1] } == ["their", "5", "6"])
            #expect(summary.warnings.count == 1)  // the repeated 'asin'
        } else {
            #expect(summary.warnings == [])
        }
    }

    /// A column named like a provenance column is refused by the loader and `cartflow export`; the exporter refuses
    /// it too rather than writing `runner,asin,runner` in CSV and `runner#2` in JSON.
    @Test(arguments: [ExportStep.Format.csv, .json, .ndjson])
    func aColumnNamedLikeAProvenanceColumnIsRefused(format: ExportStep.Format) throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"runner": 5, "asin": "A"}]"#)
        let step = ExportStep(
            format: format, path: "x", columns: [ColumnSpec("asin"), ColumnSpec("runner")], provenance: [.runner])
        let error = #expect(throws: ExportError.self) { try fixture.export(step, [fixture.input([page])]) }
        #expect(
            error?.description
                == "cannot export these columns: column 'runner' has the name of the provenance column 'runner', which comes first and keeps it; give the column another output name ('other: runner')"
        )
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.file("out/result.\(format.rawValue)")))
    }

    @Test func bomIsWrittenOnlyWhenAsked() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"a": "ü"}]"#)
        let (_, plain) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(Array(plain) == Array("a\r\nü\r\n".utf8))
        let (summary, withBOM) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", bom: true), [fixture.input([page])])
        #expect(Array(withBOM) == [0xEF, 0xBB, 0xBF] + Array("a\r\nü\r\n".utf8))
        #expect(summary.bytes == withBOM.count)
    }

    @Test func aSingleColumnEmptyCellIsQuotedSoTheRowIsNotBlank() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"a": "x"}, {"a": null}, {"a": ""}]"#)
        let (_, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(String(decoding: data, as: UTF8.self) == "a\r\nx\r\n\"\"\r\n\"\"\r\n")
    }

    /// The header is guarded like a row: a one-column header from the key `""` is `""`, not a blank line that
    /// readers skip (which would make the first row the header).
    @Test(arguments: [false, true])
    func aSingleColumnEmptyHeaderIsQuotedSoItIsNotBlank(bom: Bool) throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"": 1}, {"": null}]"#)
        let (summary, data) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", bom: bom), [fixture.input([page])])
        #expect(summary.columns == [""])
        #expect(Array(data) == (bom ? [0xEF, 0xBB, 0xBF] : []) + Array("\"\"\r\n1\r\n\"\"\r\n".utf8))
        #expect(try StrictCSVReader.parse(Data(data.dropFirst(bom ? 3 : 0))) == [[""], ["1"], [""]])
    }

    /// An empty string and null are different values: `""` and an empty cell (as PostgreSQL, DuckDB and
    /// csvkit read them), so a loader can tell "no title" from "title is empty".
    @Test func c24EmptyStringAndNullStayDistinct() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"a": "", "b": null, "c": "x"}, {"a": null, "b": "", "c": {"d": ""}}]"#)
        let (_, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(String(decoding: data, as: UTF8.self) == "a,b,c,c.d\r\n\"\",,x,\r\n,\"\",,\"\"\r\n")
    }

    @Test func noRecordsGiveAnEmptyFileOrJustTheFixedHeader() throws {
        var fixture = try PageFixture()
        let page = try fixture.page("[]")
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(data.isEmpty)
        #expect(summary.recordsWritten == 0)
        let (_, fixed) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", columns: [ColumnSpec("a"), ColumnSpec("b")]),
            [fixture.input([page])])
        #expect(String(decoding: fixed, as: UTF8.self) == "a,b\r\n")
        // Provenance columns alone are no header: without records the file is empty, as docs/exports.md says.
        let (withProvenance, empty) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", provenance: [.runner]), [fixture.input([page])])
        #expect(empty.isEmpty)
        #expect(withProvenance.columns == [])
        // Only failed records (left out) is no records too.
        let failed = try fixture.page(#"[{"a": 1, "status": "failed"}]"#)
        let (_, none) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", provenance: [.runner], bom: true), [fixture.input([failed])])
        #expect(none == Data([0xEF, 0xBB, 0xBF]))
    }

    /// Records that are all `{}` have no column to be written in: no blank lines passing for rows and no header,
    /// but an empty file and a warning that says why. With a provenance column or `columns:` they are rows.
    @Test func recordsWithoutAnyFieldAreNotBlankLines() throws {
        var fixture = try PageFixture()
        let page = try fixture.page("[{}, {}]")
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(data.isEmpty)
        #expect(summary.recordsWritten == 0)
        #expect(summary.columns == [])
        #expect(
            summary.warnings == [
                "2 records have no field at all ({}) and the step no provenance column, so there is no CSV column to write them in: none was written and the file is empty (JSON and NDJSON keep them as {})"
            ])
        let (runner, rows) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", provenance: [.runner]), [fixture.input([page])])
        #expect(String(decoding: rows, as: UTF8.self) == "runner\r\n88\r\n88\r\n")
        #expect(runner.recordsWritten == 2 && runner.warnings == [])
        let (_, fixed) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", columns: [ColumnSpec("a")]), [fixture.input([page])])
        #expect(String(decoding: fixed, as: UTF8.self) == "a\r\n\"\"\r\n\"\"\r\n")
        let (json, ndjson) = try fixture.export(ExportStep(format: .ndjson, path: "x"), [fixture.input([page])])
        #expect(String(decoding: ndjson, as: UTF8.self) == "{}\n{}\n")
        #expect(json.recordsWritten == 2)
    }

    @Test func headerNamesAreQuotedAndGuardedToo() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"a,b": 1, "=cmd": 2}]"#)
        let (_, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(String(decoding: data, as: UTF8.self) == "\"a,b\",'=cmd\r\n1,2\r\n")
    }
}

@Suite struct ExportJSONTests {
    private static let page = #"""
        [ {"price": 0.30000000000000004, "big": 1e21, "title": "q\"\n😀", "nested": {"z": 1, "a": [100.0, null]}},
          {"status": "FAILED", "error": "timeout"},
          {"price": -5, "title": "=x"} ]
        """#

    @Test func c27NDJSONKeepsRecordsAsTheyCame() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(Self.page)
        let (summary, data) = try fixture.export(ExportStep(format: .ndjson, path: "x.ndjson"), [fixture.input([page])])
        try expectGolden(data, "c27-numbers.ndjson")
        #expect(summary.recordsWritten == 2)
        #expect(summary.failedSkipped == 1)
        #expect(
            String(decoding: data, as: UTF8.self)
                == #"""
                {"price":0.30000000000000004,"big":1e21,"title":"q\"\n😀","nested":{"z":1,"a":[100.0,null]}}
                {"price":-5,"title":"=x"}

                """#)
    }

    /// A `columns:` source names the same field in every format: `a#2`, the name CSV gives the second of a repeated
    /// key (and `price.amount#2` the literal dotted key beside a nested one), reaches that field in JSON and NDJSON
    /// too, instead of matching nothing there.
    /// A column whose source names an object holds the object in every format: its JSON text in CSV (as an
    /// array's), the object itself in JSON and NDJSON. Before, CSV wrote an empty cell and said nothing when
    /// another record had a plain value there.
    @Test func aColumnNamingAnObjectHoldsItInEveryFormat() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"asin": "a", "price": {"amount": 1, "currency": "AUD"}}, {"asin": "b", "price": 3}, {"asin": "c"}, "#
                + #"{"asin": "d", "price": {"amount": 2}, "price": 4}]"#)
        let columns = [ColumnSpec("asin"), ColumnSpec("price"), ColumnSpec(name: "amount", source: "price.amount")]
        let (summary, csv) = try fixture.export(
            ExportStep(format: .csv, path: "x", columns: columns), [fixture.input([page])])
        #expect(
            String(decoding: csv, as: UTF8.self)
                == "asin,price,amount\r\na,\"{\"\"amount\"\":1,\"\"currency\"\":\"\"AUD\"\"}\",1\r\nb,3,\r\nc,,\r\n"
                + "d,4,2\r\n")
        #expect(!summary.warnings.contains { $0.contains("matched no field") })
        let (_, ndjson) = try fixture.export(
            ExportStep(format: .ndjson, path: "x", columns: columns), [fixture.input([page])])
        #expect(
            String(decoding: ndjson, as: UTF8.self).hasPrefix(
                #"{"asin":"a","price":{"amount":1,"currency":"AUD"},"amount":1}"# + "\n"))
    }

    @Test func columnSourcesNamingRenamedFieldsAgreeAcrossFormats() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"a": 1, "a": 2, "price.amount": 5, "price": {"amount": 6}}, {"a": 3}]"#)
        let columns = [ColumnSpec("a"), ColumnSpec("a#2"), ColumnSpec("price.amount"), ColumnSpec("price.amount#2")]
        let (_, csv) = try fixture.export(
            ExportStep(format: .csv, path: "x", columns: columns), [fixture.input([page])])
        #expect(
            String(decoding: csv, as: UTF8.self)
                == "a,a#2,price.amount,price.amount#2\r\n1,2,6,5\r\n3,,,\r\n")
        for format in [ExportStep.Format.ndjson, .json] {
            let (summary, data) = try fixture.export(
                ExportStep(format: format, path: "x", columns: columns), [fixture.input([page])])
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains(#"{"a":1,"a#2":2,"price.amount":6,"price.amount#2":5}"#), "\(format): \(text)")
            #expect(text.contains(#"{"a":3}"#))
            // The reduced record has one key per column: nothing to rename, nothing to warn about.
            #expect(summary.warnings == [])
        }
    }

    /// A key repeated in one object is written once per name: loaders keep the first or the last of a repeated
    /// key (or refuse it), so the other value would be lost silently. The repeat is renamed `name#2` as in CSV.
    @Test(arguments: [ExportStep.Format.ndjson, .json])
    func duplicateKeysAreRenamedNeverRepeated(format: ExportStep.Format) throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"a": 1, "a": 2, "a#2": "own", "b": {"c": 1, "c": [{"d": 1, "d": 2}]}}, {"a": 3}]"#)
        let (summary, data) = try fixture.export(
            ExportStep(format: format, path: "x.\(format.rawValue)"), [fixture.input([page])])
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#"{"a":1,"a#3":2,"a#2":"own","b":{"c":1,"c#2":[{"d":1,"d#2":2}]}}"#))
        #expect(text.contains(#"{"a":3}"#))
        #expect(
            summary.warnings == [
                "\(page.path): record 1: key 'a' occurs more than once in one object; the other value is written as 'a#3'",
                "\(page.path): record 1: key 'c' occurs more than once in one object; the other value is written as 'c#2'",
                "\(page.path): record 1: key 'd' occurs more than once in one object; the other value is written as 'd#2'",
            ])
    }

    @Test func c27JSONIsOneArrayWithARecordPerLine() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(Self.page)
        let (_, data) = try fixture.export(ExportStep(format: .json, path: "x.json"), [fixture.input([page])])
        try expectGolden(data, "c27-numbers.json")
        // It is one valid JSON document holding the records.
        let parsed = try JSONParser.parse(Array(data)).value
        #expect(parsed.arrayValue?.count == 2)
        let (_, empty) = try fixture.export(
            ExportStep(format: .json, path: "x.json"), [fixture.input([try fixture.page("[]")])])
        #expect(String(decoding: empty, as: UTF8.self) == "[]\n")
    }

    @Test func columnsReduceJSONRecordsAndProvenanceGoesFirst() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"asin": "A", "price": {"amount": 1.50, "currency": "USD"}, "extra": true}, {"asin": "B", "price.amount": 2}]"#
        )
        let step = ExportStep(
            format: .ndjson, path: "x.ndjson",
            columns: [ColumnSpec(name: "cost", source: "price.amount"), ColumnSpec("asin"), ColumnSpec("price")],
            provenance: [.runner])
        let (summary, data) = try fixture.export(step, [fixture.input([page])])
        #expect(
            String(decoding: data, as: UTF8.self)
                == #"""
                {"runner":88,"cost":1.50,"asin":"A","price":{"amount":1.50,"currency":"USD"}}
                {"runner":88,"cost":2,"asin":"B"}

                """#)
        #expect(summary.columns == ["runner", "cost", "asin", "price"])
    }
}

@Suite struct ExportPagesTests {
    @Test func findsTheRecordsArrayInsideAnObject() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"{"meta": {"page": 1, "tags": ["a"]}, "count": 2, "results": [{"a": 1}, {"a": 2}]}"#)
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(summary.recordsWritten == 2)
        #expect(String(decoding: data, as: UTF8.self) == "a\r\n1\r\n2\r\n")
    }

    @Test func recordsKeyNamesTheArrayWhenSeveralHoldObjects() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"{"items": [{"a": 1}], "errors": [{"code": 5}]}"#)
        let error = #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        }
        #expect(
            error?.description
                == "page file '\(page.path)' does not hold records: several fields hold arrays of objects ('items', 'errors'); name one with records_key"
        )
        let (summary, _) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", recordsKey: "errors"), [fixture.input([page])])
        #expect(summary.columns == ["code"])
    }

    @Test func anEmptyWrappedPageHasNoRecords() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"{"results": [], "page": 3}"#)
        let (summary, _) = try fixture.export(ExportStep(format: .ndjson, path: "x.ndjson"), [fixture.input([page])])
        #expect(summary.recordsWritten == 0)
    }

    @Test(
        arguments: [
            (#""just text""#, nil, "the page is a string, expected an array of records or an object holding one"),
            (#"{"a": 1, "b": {"c": 2}}"#, nil, "an object with no array field (fields: 'a', 'b')"),
            (
                #"{"ids": [1, 2], "names": ["x"]}"#, nil,
                "no array field holds objects (array fields: 'ids', 'names'); name one with records_key"
            ),
            (#"[{"a": 1}, 7]"#, nil, "record 2 of the top-level array is a number, expected an object"),
            (#"{"results": [{"a": 1}, [2]]}"#, "results", "record 2 of 'results' is an array, expected an object"),
            (#"{"data": []}"#, "results", "no field 'results' (records_key); the page's fields are 'data'"),
            (#"{"results": {"a": 1}}"#, "results", "field 'results' (records_key) is an object, expected an array"),
            // An array holding objects and something else is the records array with a bad record, not metadata.
            (#"{"results": [{"a": 1}, 5]}"#, nil, "record 2 of 'results' is a number, expected an object"),
            (
                #"{"results": [{"a": 1}, null], "meta": [{"x": 1}]}"#, nil,
                "several fields hold arrays of objects ('results', 'meta'); name one with records_key"
            ),
            (
                #"{"results": [{"a": 1}], "results": [{"a": 2}]}"#, "results",
                "the field 'results' (records_key) occurs 2 times; JSON readers keep only one of them"
            ),
            (
                #"{"results": [], "results": [{"a": 2}]}"#, nil,
                "the field 'results' occurs 2 times; JSON readers keep only one of them"
            ),
            (#"[{"a": 1}]"#, "results", "records_key is 'results' but the page is a top-level array"),
        ] as [(String, String?, String)])
    func badPageShapesAreClearErrors(text: String, recordsKey: String?, problem: String) throws {
        var fixture = try PageFixture()
        let page = try fixture.page(text)
        let error = #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .csv, path: "x.csv", recordsKey: recordsKey), [fixture.input([page])])
        }
        #expect(error == .unexpectedPageShape(path: page.path, problem: problem))
    }

    /// The page where the records were found fixes the field for the rest of the step: a later page with records
    /// there has no others, even when another of its arrays (here `errors`) holds objects too.
    @Test(arguments: [ExportStep.Format.csv, .json, .ndjson])
    func theRecordsFieldFoundOnOnePageIsKeptForTheNext(format: ExportStep.Format) throws {
        var fixture = try PageFixture()
        let page1 = try fixture.page(#"{"results": [{"asin": "A1"}], "errors": []}"#)
        let page2 = try fixture.page(#"{"results": [], "errors": []}"#)
        let page3 = try fixture.page(#"{"results": [{"asin": "A2"}], "errors": [{"asin": "A8"}]}"#)
        let (summary, data) = try fixture.export(
            ExportStep(format: format, path: "x"), [fixture.input([page1, page2, page3])])
        try expectGolden(data, "records-field-kept.\(format.rawValue)")
        #expect(summary.recordsWritten == 2)
        #expect(
            summary.warnings == [
                "\(page3.path): field 'errors' holds objects too; they are not exported, since the records are in 'results' as found in '\(page1.path)' (set records_key to say which field holds the records)"
            ])
        // Named by records_key, the field is not a guess: no warning.
        let (named, _) = try fixture.export(
            ExportStep(format: format, path: "x", recordsKey: "results"), [fixture.input([page1, page2, page3])])
        #expect(named.recordsWritten == 2)
        #expect(named.warnings == [])
    }

    /// A found field is a guess: a later page that has it empty and holds objects elsewhere contradicts it. An
    /// error page first (`results` empty, the error entry in `errors`) must not make the real records vanish, nor
    /// an error page later pass for one without records: in either order the export stops and asks for
    /// records_key, naming both pages and fields; with records_key the error page has no records.
    @Test(arguments: [ExportStep.Format.csv, .json, .ndjson], [false, true])
    func pagesThatDisagreeOnTheRecordsFieldAreAnError(format: ExportStep.Format, errorPageFirst: Bool) throws {
        var fixture = try PageFixture()
        let errorPage = try fixture.page(#"{"results": [], "errors": [{"code": 1, "message": "rate limited"}]}"#)
        let records = try fixture.page(#"{"results": [{"asin": "A1"}], "errors": []}"#)
        let more = try fixture.page(#"{"results": [{"asin": "A2"}], "errors": []}"#)
        let pages = errorPageFirst ? [errorPage, records, more] : [records, more, errorPage]
        let step = ExportStep(format: format, path: "x")
        let path = fixture.directory.file("out/result.\(format.rawValue)")
        let error = #expect(throws: ExportError.self) { try fixture.export(step, [fixture.input(pages)]) }
        let (first, firstField, firstEmpty, other, otherField) =
            errorPageFirst
            ? (errorPage, "errors", "results", records, "results") : (records, "results", "errors", errorPage, "errors")
        #expect(
            error?.description
                == "cannot tell which field holds the records: '\(first.path)' has objects in '\(firstField)' and an empty '\(firstEmpty)', '\(other.path)' has objects in '\(otherField)' and an empty '\(firstField)'; name the field that holds the records with records_key"
        )
        #expect(!FileManager.default.fileExists(atPath: path))
        let (named, data) = try fixture.export(
            ExportStep(format: format, path: "x", recordsKey: "results"), [fixture.input(pages)])
        #expect(named.recordsWritten == 2)
        #expect(named.warnings == [])
        #expect(String(decoding: data, as: UTF8.self).contains("A2"))
        #expect(!String(decoding: data, as: UTF8.self).contains("rate limited"))
    }

    /// The same holds when the first page has no other array at all: an error page shaped `{"errors": [...]}`
    /// fixes nothing for sure.
    @Test func aFirstPageWithOneArrayFieldIsAGuessToo() throws {
        var fixture = try PageFixture()
        let errorPage = try fixture.page(#"{"errors": [{"code": 1}]}"#)
        let records = try fixture.page(#"{"results": [{"asin": "A1"}], "errors": []}"#)
        let error = #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .ndjson, path: "x"), [fixture.input([errorPage, records])])
        }
        #expect(
            error
                == .ambiguousRecordsField(
                    path: records.path, holding: ["results"], firstPath: errorPage.path, firstField: "errors",
                    emptyOnFirst: []))
        #expect(
            error?.description
                == "cannot tell which field holds the records: '\(errorPage.path)' has objects in 'errors', '\(records.path)' has objects in 'results' and an empty 'errors'; name the field that holds the records with records_key"
        )
    }

    /// A page whose arrays are all empty has no records whichever array holds them, and fixes nothing.
    @Test func aPageWhoseArraysAreAllEmptyHasNoRecords() throws {
        var fixture = try PageFixture()
        let empty = try fixture.page(#"{"results": [], "errors": []}"#)
        let (none, _) = try fixture.export(ExportStep(format: .ndjson, path: "x"), [fixture.input([empty])])
        #expect(none.recordsWritten == 0)
        // It does not decide the field: the next page does.
        let errorsOnly = try fixture.page(#"{"results": [], "errors": [{"code": 5}]}"#)
        let (summary, data) = try fixture.export(
            ExportStep(format: .ndjson, path: "x"), [fixture.input([empty, errorsOnly])])
        #expect(summary.recordsWritten == 1)
        #expect(String(decoding: data, as: UTF8.self) == "{\"code\":5}\n")
    }

    /// A later page that holds its records elsewhere stops the export and names both pages.
    @Test(
        arguments: [
            (
                #"{"results": [{"a": 1}]}"#, #"{"items": [{"a": 2}], "meta": []}"#,
                "the records are in 'items' here but in 'results' in '{1}'; the pages of one step must hold their records in the same field (name it with records_key)"
            ),
            (
                #"{"results": [{"a": 1}]}"#, #"{"items": []}"#,
                "no field 'results' (where '{1}' holds its records); the page's fields are 'items'"
            ),
            (
                #"{"results": [{"a": 1}]}"#, #"{"results": {"a": 2}}"#,
                "field 'results' (where '{1}' holds its records) is an object, expected an array"
            ),
            (
                #"{"results": [{"a": 1}]}"#, #"{"results": [{"a": 2}, [3]]}"#,
                "record 2 of 'results' is an array, expected an object"
            ),
        ] as [(String, String, String)])
    func aLaterPageThatHoldsItsRecordsElsewhereIsAnError(first: String, second: String, problem: String) throws {
        var fixture = try PageFixture()
        let page1 = try fixture.page(first)
        let page2 = try fixture.page(second)
        for format in [ExportStep.Format.csv, .ndjson] {
            let error = #expect(throws: ExportError.self) {
                try fixture.export(ExportStep(format: format, path: "x"), [fixture.input([page1, page2])])
            }
            let expected = problem.replacingOccurrences(of: "{1}", with: page1.path)
            #expect(error == .unexpectedPageShape(path: page2.path, problem: expected))
        }
    }

    /// The field is kept across the collections of a step too: they are pages of the same API.
    @Test func theRecordsFieldIsKeptAcrossCollections() throws {
        var fixture = try PageFixture()
        let laptops = try fixture.page(#"{"results": [{"a": 1}], "errors": []}"#)
        let phones = try fixture.page(#"{"results": [{"a": 2}], "errors": [{"b": 3}]}"#)
        let (summary, data) = try fixture.export(
            ExportStep(format: .csv, path: "x"),
            [fixture.input([laptops], collection: "laptops"), fixture.input([phones], collection: "phones")])
        #expect(summary.recordsWritten == 2)
        #expect(String(decoding: data, as: UTF8.self) == "a\r\n1\r\n2\r\n")
    }

    @Test func invalidJSONNamesTheFileAndThePlace() throws {
        var fixture = try PageFixture()
        let page = try fixture.page("[{\"a\": 1},\n {\"a\": 2,}]")
        let error = #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .ndjson, path: "x.ndjson"), [fixture.input([page])])
        }
        #expect(
            error?.description
                == "page file '\(page.path)' is not valid JSON: line 2, column 10: unexpected '}', expected a string key"
        )
        let missing = URL(fileURLWithPath: fixture.directory.file("nope.json"))
        let unreadable = #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .ndjson, path: "x.ndjson"), [fixture.input([missing])])
        }
        #expect(unreadable?.description.hasPrefix("cannot read page file '\(missing.path)'") == true)
    }

    @Test func deeplyNestedPagesAreAnErrorNotACrash() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000))
        #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        }
    }

    @Test func failedRecordsAreSkippedUnlessIncluded() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"""
            [{"id": 1, "status": "ok"},
             {"id": 2, "status": "FAILED"},
             {"id": 3, "status": " error "},
             {"id": 4, "error": "timeout"},
             {"id": 5, "error": null},
             {"id": 6, "error": false},
             {"id": 7, "error": ""},
             {"id": 8, "status": "ok", "error": "ignored because status says ok"},
             {"id": 9, "status": null, "error": {"code": 1}},
             {"id": 10, "status": 0}]
            """#)
        let (summary, data) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", columns: [ColumnSpec("id")]), [fixture.input([page])])
        #expect(String(decoding: data, as: UTF8.self) == "id\r\n1\r\n5\r\n6\r\n7\r\n8\r\n10\r\n")
        #expect(summary.failedSkipped == 4)
        let (all, _) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", includeFailed: true), [fixture.input([page])])
        #expect(all.recordsWritten == 10)
        #expect(all.failedSkipped == 0)
        // Columns of skipped records do not reach the header.
        let (union, _) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(union.columns == ["id", "status", "error"])
    }

    @Test func invalidUnicodeIsReplacedReportedAndTheRecordKept() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"{"note": "\udead", "results": [{"title": "ok"}, {"title": "bad \ud800", "x": {"y": ["\udc00"]}}]}"#)
        let (summary, data) = try fixture.export(ExportStep(format: .csv, path: "x.csv"), [fixture.input([page])])
        #expect(String(decoding: data, as: UTF8.self) == "title,x.y\r\nok,\r\nbad \u{FFFD},\"[\"\"\u{FFFD}\"\"]\"\r\n")
        #expect(summary.repairedStrings == 2)
        #expect(
            summary.warnings == [
                "\(page.path): outside the records, at note: replaced invalid Unicode (a lone surrogate escape) with U+FFFD",
                "\(page.path): record 2, field title: replaced invalid Unicode (a lone surrogate escape) with U+FFFD",
                "\(page.path): record 2, field x.y[0]: replaced invalid Unicode (a lone surrogate escape) with U+FFFD",
            ])
    }

    @Test func fromChoosesCollections() throws {
        var fixture = try PageFixture()
        let laptops = try fixture.page(#"[{"a": "laptop"}]"#)
        let phones = try fixture.page(#"[{"a": "phone"}]"#)
        let step = ExportStep(format: .csv, from: ["phones", "tablets"], path: "x.csv")
        let (summary, data) = try fixture.export(
            step, [fixture.input([laptops], collection: "laptops"), fixture.input([phones], collection: "phones")])
        #expect(String(decoding: data, as: UTF8.self) == "a\r\nphone\r\n")
        #expect(summary.warnings == ["collection 'tablets' (from:) has no downloaded pages; nothing exported from it"])
    }

    @Test(arguments: [ExportStep.Format.csv, .json, .ndjson])
    func aFailedExportLeavesThePreviousFileUntouched(format: ExportStep.Format) throws {
        var fixture = try PageFixture()
        let good = try fixture.page(#"[{"a": 1}]"#)
        let bad = try fixture.page(#"[{"a": 2}, {"a": "#)
        let step = ExportStep(format: format, path: "x")
        let (_, before) = try fixture.export(step, [fixture.input([good])])
        // The bad page comes after a good one, so part of the new file was already written.
        #expect(throws: ExportError.self) { try fixture.export(step, [fixture.input([good, bad])]) }
        let path = fixture.directory.file("out/result.\(format.rawValue)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: fixture.directory.file("out")) == [
                "result.\(format.rawValue)"
            ])
    }
}

@Suite struct ExportRoundTripTests {
    /// Strings a CSV writer is likely to get wrong.
    private static let awkward: [String] = [
        "", " ", "plain", "comma,inside", "quote\"inside", "\"", "\"\"", "line\nbreak", "cr\rlf\r\n", "\r\n",
        " lead", "trail ", "\ttab", "=1+2", "+33 6 12", "-5", "-", "@user", "'quoted'", "é ü ñ", "日本語", "😀👍🏽",
        "semi;colon", "back\\slash", "null", "true", "0001", "a,\"b\"\nc", "\u{7}bell", "\u{FEFF}bom",
    ]

    private static func randomValue(_ rng: inout SeededGenerator, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2:
            let numbers = [
                "0", "-5", "1e21", "0.30000000000000004", "100.0", "-0.0", "123456789012345678901234567890", "1E-7",
            ]
            return .number(numbers.randomElement(using: &rng)!)
        case 3 where depth < 2:
            return .array((0..<Int.random(in: 0..<3, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        case 4 where depth < 2:
            var object = JSONObject()
            for key in ["x", "y", "z"].shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng)) {
                object.members.append(JSONMember(key: key, value: randomValue(&rng, depth: depth + 1)))
            }
            return .object(object)
        default:
            let parts = (0..<Int.random(in: 1...3, using: &rng)).map { _ in awkward.randomElement(using: &rng)! }
            return .string(parts.joined())
        }
    }

    /// The text a CSV cell must hold for `value`, per docs/exports.md.
    private static func expectedCell(_ value: JSONValue?, guardFormulas: Bool) -> String {
        switch value {
        case nil, .null?: return ""
        case .bool(let flag)?: return flag ? "true" : "false"
        case .number(let text)?: return text
        case .string(let text)?:
            guard guardFormulas, let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first),
                text.range(of: #"\A[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\z"#, options: .regularExpression) == nil
            else { return text }
            return "'" + text
        case let other?: return JSONSerializer.serialize(other)
        }
    }

    /// Flattens like the exporter for data without collisions: dotted names for non-empty objects.
    private static func flatten(
        _ object: JSONObject, prefix: String = "", into cells: inout [String: JSONValue], order: inout [String]
    ) {
        for member in object.members {
            let name = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
            if case .object(let nested) = member.value, !nested.isEmpty {
                flatten(nested, prefix: name, into: &cells, order: &order)
            } else {
                if cells[name] == nil && !order.contains(name) { order.append(name) }
                cells[name] = member.value
            }
        }
    }

    @Test(arguments: [false, true])
    func csvParsedBackGivesTheSourceValues(guardFormulas: Bool) throws {
        var rng = SeededGenerator(seed: 20261203)
        var fixture = try PageFixture()
        var sourceRecords: [JSONObject] = []
        var pages: [URL] = []
        let keys = ["title", "price", "seller", "note,with comma", "tags", "spec", "=danger"]
        for _ in 0..<5 {
            var records: [JSONValue] = []
            for _ in 0..<60 {
                var record = JSONObject()
                for key in keys.shuffled(using: &rng).prefix(Int.random(in: 1...keys.count, using: &rng)) {
                    record.members.append(JSONMember(key: key, value: Self.randomValue(&rng, depth: 0)))
                }
                records.append(.object(record))
                sourceRecords.append(record)
            }
            // Write pages through the serializer, then re-parse: the exporter must see the same values.
            pages.append(try fixture.page(JSONSerializer.serialize(.array(records))))
        }
        let (summary, data) = try fixture.export(
            ExportStep(format: .csv, path: "x.csv", formulaGuard: guardFormulas), [fixture.input(pages)])
        let rows = try StrictCSVReader.parse(data)
        var expectedOrder: [String] = []
        var expectedRows: [[String: JSONValue]] = []
        for record in sourceRecords {
            var cells: [String: JSONValue] = [:]
            Self.flatten(record, into: &cells, order: &expectedOrder)
            expectedRows.append(cells)
        }
        #expect(summary.columns == expectedOrder)
        #expect(rows.first == expectedOrder.map { Self.expectedCell(.string($0), guardFormulas: guardFormulas) })
        #expect(rows.count == sourceRecords.count + 1)
        for (index, cells) in expectedRows.enumerated() where index + 1 < rows.count {
            let expected = expectedOrder.map { Self.expectedCell(cells[$0], guardFormulas: guardFormulas) }
            #expect(rows[index + 1] == expected, "record \(index)")
        }
    }
}

@Suite struct ExportOutputTests {
    /// docs/exports.md promises the summary counts repaired strings: the run summary shows them, not only warnings.
    @Test func theRunSummaryLineCountsRepairedStrings() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"title": "bad \ud800"}, {"title": "\udc00", "x": "\ud800"}, {"title": "ok"}]"#)
        let (summary, _) = try fixture.export(ExportStep(format: .ndjson, path: "x"), [fixture.input([page])])
        #expect(summary.repairedStrings == 3)
        let result = RunReport.ExportResult(
            path: "out/x.ndjson", format: "ndjson", records: summary.recordsWritten,
            repairedStrings: summary.repairedStrings)
        #expect(result.summaryLine == "out/x.ndjson  (3 records, ndjson, 3 strings with invalid Unicode repaired)")
        #expect(
            RunReport.ExportResult(path: "a.csv", format: "csv", records: 2, repairedStrings: 1).summaryLine
                == "a.csv  (2 records, csv, 1 string with invalid Unicode repaired)")
        #expect(
            RunReport.ExportResult(path: "a.csv", format: "csv", records: 2).summaryLine == "a.csv  (2 records, csv)")
    }

    /// The repaired-string count (and its warnings) covers what is written: a field that `columns:` leaves out
    /// changes nothing in the file, so it is not counted. CSV writes an array whole; JSON also copies an object.
    @Test(
        arguments: [
            (ExportStep.Format.csv, nil, 4), (.csv, ["title", "tags"], 2), (.csv, ["x"], 0), (.csv, ["x.y"], 1),
            (.ndjson, ["title", "x"], 2), (.json, ["note"], 1), (.ndjson, ["tags[0]"], 0),
        ] as [(ExportStep.Format, [String]?, Int)])
    func repairedStringsAreCountedOnlyWhereWritten(format: ExportStep.Format, columns: [String]?, count: Int) throws {
        var fixture = try PageFixture()
        let page = try fixture.page(
            #"[{"title": "bad \ud800", "note": "\udc00", "x": {"y": "\ud800"}, "tags": ["ok", "\ud800"]}]"#)
        let (summary, _) = try fixture.export(
            ExportStep(format: format, path: "x", columns: columns?.map { ColumnSpec($0) }), [fixture.input([page])])
        #expect(summary.repairedStrings == count)
        #expect(summary.warnings.filter { $0.contains("U+FFFD") }.count == count)
    }

    @Test func createsTheOutputDirectoryOrSaysWhyNot() throws {
        var fixture = try PageFixture()
        let page = try fixture.page(#"[{"a": 1}]"#)
        let nested = fixture.directory.file("a/b/c/out.csv")
        _ = try Exporter.export(ExportStep(format: .csv, path: "x"), inputs: [fixture.input([page])], to: nested)
        #expect(FileManager.default.fileExists(atPath: nested))
        // A regular file where a directory should be.
        let blocked = fixture.directory.file("page_1.json/out.csv")
        let error = #expect(throws: ExportError.self) {
            try Exporter.export(ExportStep(format: .csv, path: "x"), inputs: [fixture.input([page])], to: blocked)
        }
        #expect(
            error?.description
                == "cannot create the directory '\(fixture.directory.file("page_1.json"))' for the export: '\(fixture.directory.file("page_1.json"))' is a file, not a directory"
        )
        // Deeper below the file: the same plain reason, never a Foundation error dump.
        let deeper = fixture.directory.file("page_1.json/sub/out.csv")
        let nested2 = #expect(throws: ExportError.self) {
            try Exporter.export(ExportStep(format: .csv, path: "x"), inputs: [fixture.input([page])], to: deeper)
        }
        #expect(
            nested2?.description
                == "cannot create the directory '\(fixture.directory.file("page_1.json/sub"))' for the export: '\(fixture.directory.file("page_1.json"))' is a file, not a directory"
        )
    }

    /// A page that cannot be read says why in the system's words, not with a Foundation error dump.
    @Test func anUnreadablePageSaysWhyInPlainWords() throws {
        let fixture = try PageFixture()
        let folder = URL(fileURLWithPath: fixture.directory.file("sub.json"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let error = #expect(throws: ExportError.self) {
            try fixture.export(ExportStep(format: .csv, path: "x"), [fixture.input([folder])])
        }
        #expect(error?.description == "cannot read page file '\(folder.path)': \(String(cString: strerror(EISDIR)))")
        #expect(error?.description.contains("Domain") == false)
    }
}
