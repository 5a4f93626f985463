import CartflowCore
import CartflowTestSupport
import Foundation
import Testing

/// The failure cases C01–C09 of cases.md, each asserted at its exact line and column.
@Suite("Cases C01–C09")
struct FieldCaseTests {
    @Test func c01StringsKeepYAML11BooleansAndBooleansAreStrict() throws {
        let marked = MarkedText(
            """
            cartflow: 1
            name: on
            description: no
            collections:
              laptops: { id: 101, title: off }
            steps:
              - export: csv
                path: out/x.csv
                records_key: 0755
                include_failed: 1️⃣off
                bom: 2️⃣yes
                formula_guard: 3️⃣True
              - export: csv
                path: out/y.csv
                include_failed: true
                bom: false
            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.invalidBoolean, marked, "1️⃣"), spot(.invalidBoolean, marked, "2️⃣"),
                spot(.invalidBoolean, marked, "3️⃣"),
            ])
        #expect(
            result.diagnostics[0].message
                == "'steps[0].include_failed' must be true or false, got 'off'; write true or false")
        #expect(result.diagnostics[0].keyPath == "steps[0].include_failed")

        let valid = load(
            MarkedText(
                """
                cartflow: 1
                name: on
                description: no
                collections:
                  laptops: { id: 101, title: off }
                steps:
                  - export: csv
                    path: out/x.csv
                    records_key: 1:20
                """))
        let workflow = try #require(valid.workflow)
        #expect(workflow.name == "on")
        #expect(workflow.description == "no")
        #expect(workflow.collections[0].title == "off")
        #expect(workflow.steps[0].recordsKey == "1:20")
    }

    @Test func c02LeadingZerosAreRefusedNeverOctal() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              laptops: { id: 1️⃣010 }
              phones: { id: 2️⃣0x1F }
            schedule:
              every: monthly
              at: "08:00"
              day_of_month: [3️⃣08, 9]
            fetch: { concurrency: 4️⃣1_0 }
            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.invalidInteger, marked, "1️⃣"), spot(.invalidInteger, marked, "2️⃣"),
                spot(.invalidInteger, marked, "3️⃣"), spot(.invalidInteger, marked, "4️⃣"),
            ])
        #expect(
            result.diagnostics[0].message
                == "'collections.laptops.id' must be a whole number from 1 to 2147483647, got '010'; numbers are decimal and a leading zero is not allowed (it would mean octal in YAML 1.1); write 10"
        )
        #expect(result.diagnostics[2].message.hasSuffix("write 8"))
        #expect(result.diagnostics[3].message.hasSuffix("write 10"))
    }

    @Test func c02HoursWithALeadingZeroMeanTheHour() throws {
        let result = load(
            MarkedText(
                header + """
                    schedule: { every: daily, at: [08:05, "09:00", 8:30] }
                    """))
        let schedule = try #require(result.workflow?.schedule)
        #expect(
            schedule.at == [
                ClockTime(hour: 8, minute: 5), ClockTime(hour: 9, minute: 0), ClockTime(hour: 8, minute: 30),
            ])
    }

    @Test func c03TimesAreReadFromTheText() throws {
        let marked = MarkedText(
            header + """
                schedule:
                  every: daily
                  at: [10:30, 1️⃣08.00, 2️⃣8, 3️⃣24:00, 4️⃣10:30:00, 5️⃣7:5]
                """)
        let result = load(marked)
        #expect(spots(result) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"].map { spot(.invalidTime, marked, $0) })
        let hints = [
            "write 08:00 (with a colon)", "write 08:00", "hours go from 00 to 23 (midnight is 00:00)",
            "seconds are not used; write 10:30", "write it like 08:00 or 18:30",
        ]
        #expect(zip(result.diagnostics, hints).allSatisfy { $0.message.hasSuffix("; " + $1) })
        #expect(result.diagnostics.count == hints.count)
        let ok = try #require(load(MarkedText(header + "schedule: { every: daily, at: 10:30 }")).workflow)
        #expect(ok.schedule?.at == [ClockTime(hour: 10, minute: 30)])
    }

    /// `7.5` is YAML 1.1's float 7.5, not 07:05: a dotted time gets the colon hint only with two minute digits.
    @Test func c03DottedTimesAreNotGuessed() {
        let marked = MarkedText(header + "schedule: { every: daily, at: [1️⃣7.5, 2️⃣18.30, 3️⃣8.300, 4️⃣10.5e1] }\n")
        let result = load(marked)
        #expect(spots(result) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"].map { spot(.invalidTime, marked, $0) })
        #expect(
            result.diagnostics.map { $0.message.components(separatedBy: "; ").last } == [
                "write it like 08:00 or 18:30", "write 18:30 (with a colon)", "write it like 08:00 or 18:30",
                "write it like 08:00 or 18:30",
            ])
    }

    @Test func c04DuplicateKeysCiteBothPlaces() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              laptops: { 1️⃣id: 101, 2️⃣id: 102 }
            3️⃣poll: { interval: 15s }
            4️⃣poll: { interval: 30s }
            """)
        let result = load(marked)
        #expect(spots(result) == [spot(.duplicateKey, marked, "2️⃣"), spot(.duplicateKey, marked, "4️⃣")])
        #expect(
            result.diagnostics[0].notes == [
                .init(
                    message: "'id' is first set here",
                    location: SourceLocation(file: "wf.yaml", line: marked["1️⃣"].line, column: marked["1️⃣"].column))
            ])
        #expect(result.diagnostics[1].notes.map(\.location.line) == [marked["3️⃣"].line])
        #expect(result.workflow == nil)
    }

    /// The format's keys are matched on the bytes in the document: quoted or through an alias they are the same
    /// key, a different spelling is not, and an unknown key's repeats are duplicates of it.
    @Test func c04KeysAreTheSameHoweverTheyAreWritten() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              laptops: { "id": 101, 'items': 5, title: ok }
              phones: { id: 102, 1️⃣"id": 103 }
              tablets: { &k id: 104, 2️⃣*k : 105 }
              watches: { id: 106, 3️⃣ID: 107, 4️⃣ID: 108, 5️⃣idx: 1 }
            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.duplicateKey, marked, "1️⃣"), spot(.duplicateKey, marked, "2️⃣"), spot(.unknownKey, marked, "3️⃣"),
                spot(.duplicateKey, marked, "4️⃣"), spot(.unknownKey, marked, "5️⃣"),
            ])
        #expect(result.diagnostics[2].message == "unknown key 'ID' in 'collections.watches'; did you mean 'id'?")
        #expect(result.diagnostics[3].notes.map(\.location.column) == [marked["3️⃣"].column])

        let valid = load(MarkedText("cartflow: 1\n\"collections\":\n  laptops: { 'id': 101, \"title\": ok }\n"))
        #expect(valid.diagnostics.filter { $0.severity == .error } == [])
        #expect(valid.workflow?.collections.map(\.id) == [101])
        #expect(valid.workflow?.collections.first?.title == "ok")
    }

    @Test func c05AliasBombIsRefused() {
        var text = "cartflow: 1\nlol0: &a0 [lol]\n"
        for level in 1...9 {
            let previous = "*a\(level - 1)"
            text += "lol\(level): &a\(level) [" + Array(repeating: previous, count: 9).joined(separator: ", ") + "]\n"
        }
        let result = WorkflowLoader.load(text: text, path: "bomb.yaml", environment: keyedEnvironment)
        #expect(result.workflow == nil)
        #expect(result.diagnostics.map(\.code) == ["CF009"])
    }

    @Test func c05OrdinaryAnchorsAndAliasesWork() throws {
        let result = load(
            MarkedText(
                """
                cartflow: 1
                collections:
                  laptops: { id: 101 }
                  phones: { id: 102 }
                steps:
                  - export: csv
                    from: laptops
                    path: out/laptops.csv
                    columns: &cols [asin, title, price: price.amount]
                  - export: csv
                    from: phones
                    path: out/phones.csv
                    columns: *cols
                """))
        let workflow = try #require(result.workflow)
        #expect(workflow.steps[0].columns == workflow.steps[1].columns)
        #expect(workflow.steps[1].columns?.count == 3)
    }

    /// An aliased node is decoded once per use, but its problems are in one place of the file: each is reported
    /// once, and a duplicate id that comes from an alias is reported at the alias.
    @Test func c05ProblemsInsideAnAliasedNodeAreReportedOnce() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              a: &x { id: 1, 1️⃣id: 2 }
              b: 2️⃣*x
              c: 3️⃣*x
            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.duplicateKey, marked, "1️⃣"), spot(.duplicateValue, marked, "2️⃣"),
                spot(.duplicateValue, marked, "3️⃣"),
            ])
    }

    /// A message that names the key path differs from one use of an aliased node to the next; the problem is
    /// still one, at one place, reported with the path of the first use. A value that is itself an alias is
    /// read by the field at the alias: a problem there is the use's, at the alias.
    @Test func c05AProblemNamingItsKeyPathIsReportedOnceThroughAliases() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              laptops: &c { id: 1️⃣0101, 2️⃣itemz: 3 }
              phones: *c
              tabs: *c
            steps:
              - { export: csv, from: &f [3️⃣laptop], path: a.csv, bom: &b 4️⃣yes }
              - { export: csv, from: *f, path: b.csv, bom: 5️⃣*b }
            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.invalidInteger, marked, "1️⃣"), spot(.unknownKey, marked, "2️⃣"),
                spot(.unknownCollection, marked, "3️⃣"), spot(.invalidBoolean, marked, "4️⃣"),
                spot(.invalidBoolean, marked, "5️⃣"),
            ])
        #expect(
            result.diagnostics.map(\.keyPath) == [
                "collections.laptops.id", "collections.laptops.itemz", "steps[0].from[0]", "steps[0].bom",
                "steps[1].bom",
            ])
    }

    @Test func c06DeepNestingIsAnError() {
        let text = "cartflow: 1\ncollections: " + String(repeating: "[", count: 10_000)
        let result = WorkflowLoader.load(text: text, path: "deep.yaml", environment: keyedEnvironment)
        #expect(result.workflow == nil)
        #expect(spots(result) == [Spot(code: "CF008", line: 2, column: 14 + 63)])
    }

    @Test func c07TabsDocumentsAndEmptyFilesEachGetTheirOwnMessage() {
        let tab = MarkedText("cartflow: 1\ncollections:\n1️⃣\tlaptops: { id: 101 }\n")
        #expect(spots(load(tab)) == [spot(.tabIndentation, tab, "1️⃣")])

        let twoDocs = MarkedText("cartflow: 1\ncollections: { a: { id: 1 } }\n1️⃣---\ncartflow: 1\n")
        let twoResult = load(twoDocs)
        #expect(spots(twoResult) == [spot(.multipleDocuments, twoDocs, "1️⃣")])
        #expect(twoResult.diagnostics[0].notes.map(\.message) == ["the first document starts here"])

        for (text, message) in [
            ("", "the file is empty"), ("  \n\n", "the file is empty"),
            ("# only a comment\n# and another\n", "the file holds no YAML content, only comments or an empty document"),
            ("---\n", "the file holds no YAML content, only comments or an empty document"),
            // libyaml refuses a `...` that ends no document ("did not find expected node content").
            ("...\n", "the file holds no YAML content, only comments or an empty document"),
            ("# c\n...\n---\n... # end\n", "the file holds no YAML content, only comments or an empty document"),
            ("# c\n\t# d\n", "the file holds no YAML content, only comments or an empty document"),
        ] {
            let result = WorkflowLoader.load(text: text, path: "e.yaml", environment: keyedEnvironment)
            #expect(spots(result) == [Spot(code: "CF007", line: 1, column: 1)], "\(text.debugDescription)")
            #expect(result.diagnostics.map(\.message) == [message])
        }
    }

    @Test func c08BOMAndCRLFAreFine() throws {
        let text =
            "\u{FEFF}cartflow: 1\r\ncollections:\r\n  laptops: { id: 101 }\r\ndescription: \"two\r\n  words\"\r\n"
        let result = WorkflowLoader.load(text: text, path: "crlf.yaml", environment: keyedEnvironment)
        #expect(result.diagnostics == [])
        #expect(result.workflow?.description == "two words")
        let bad = WorkflowLoader.load(
            text: "\u{FEFF}cartflow: 1\r\ncollections:\r\n  1️⃣laptops: { id: 1 }\r\n", path: "crlf.yaml",
            environment: keyedEnvironment)
        #expect(bad.diagnostics.first?.column == 3)
    }

    @Test func c08InvalidUTF8ReportsTheLine() {
        var bytes = Array("cartflow: 1\ncollections:\n  laptops: { id: 101, title: caf".utf8)
        bytes += [0xE9]  // Latin-1 é
        bytes += Array(" }\n".utf8)
        let result = WorkflowLoader.load(bytes: bytes, path: "latin1.yaml", environment: keyedEnvironment)
        #expect(spots(result) == [Spot(code: "CF003", line: 3, column: 33)])
        #expect(result.diagnostics[0].message.contains("at line 3"))
    }

    @Test func c09InterpolationHappensInsideScalarsOnly() throws {
        let environment = keyedEnvironment.merging([
            "DESC": "a: b # not a comment\nc: d", "CONC": "8", "EMPTY": "",
        ]) { $1 }
        let marked = MarkedText(
            """
            cartflow: 1
            description: ${DESC}
            collections:
              laptops: { id: 101, title: "cost $$5 ${MISSING:-none} ${EMPTY:-dflt}" }
            fetch:
              concurrency: ${CONC}
            """)
        let result = load(marked, environment: environment)
        #expect(result.diagnostics == [])
        let workflow = try #require(result.workflow)
        #expect(workflow.description == "a: b # not a comment\nc: d")
        #expect(workflow.collections[0].title == "cost $5 none dflt")
        #expect(workflow.fetch.concurrency == 8)
    }

    /// `api.timeout` and `fetch.timeout` are durations of at least 1s. Under `api` the line is hidden and the
    /// value not quoted, as for every key there but the URL and the hosts (a pasted key must not show).
    @Test func timeoutsAreDurations() throws {
        let marked = MarkedText(
            header + """
                api:
                  key: ${MULTICART_API_KEY}
                  timeout: 1️⃣90
                fetch: { timeout: 2️⃣1.5m }
                """)
        let result = load(marked)
        #expect(spots(result) == [spot(.invalidDuration, marked, "1️⃣"), spot(.invalidDuration, marked, "2️⃣")])
        #expect(
            result.diagnostics.map(\.message) == [
                "'api.timeout' must be a duration such as 60s or 2m; add a unit: write 90s, 90m or 90h",
                "'fetch.timeout' must be a duration such as 90s, 15m or 1h30m, got '1.5m'; use whole units, such as 1h30m or 90s",
            ])
        #expect(result.diagnostics.map(\.showsSourceLine) == [false, true])
        let zero = MarkedText(header + "api: { timeout: 1️⃣0s }\nfetch: { timeout: 2️⃣0s }\n")
        let zeroResult = load(zero)
        #expect(spots(zeroResult) == [spot(.invalidDuration, zero, "1️⃣"), spot(.invalidDuration, zero, "2️⃣")])
        #expect(zeroResult.diagnostics.first?.message == "'api.timeout' must be at least 1s")
        let valid = try #require(load(MarkedText(header + "api: { timeout: 2m }\nfetch: { timeout: 20m }\n")).workflow)
        #expect(valid.api.timeout == Seconds(120))
        #expect(valid.fetch.timeout == Seconds(1200))
    }

    /// `${A:-${B}}` would read as the default `${B` and a stray `}`: nesting is refused, not half-expanded.
    @Test func c09NestedReferencesInADefaultAreRefused() throws {
        let marked = MarkedText(header + "description: \"x 1️⃣${UNSET:-${OTHER}}\"\n")
        let result = load(marked, environment: keyedEnvironment.merging(["OTHER": "o"]) { $1 })
        #expect(spots(result) == [spot(.badInterpolation, marked, "1️⃣")])
        #expect(result.diagnostics.first?.message.contains("nest") == true)
        // A `}` after a complete reference is text.
        let ok = try #require(load(MarkedText(header + "description: \"${UNSET:-a}}\"\n")).workflow)
        #expect(ok.description == "a}")
    }

    /// The place of a `${...}` inside a quoted scalar counts the characters as written, escapes included.
    @Test func c09PlacesInsideQuotedScalarsCountEscapesAsWritten() {
        let marked = MarkedText(
            header + """
                description: "a\\tb 1️⃣${NOPE}"
                name: 'it''s 2️⃣${NOPE}'
                steps:
                  - { export: csv, path: "\\u00e9/3️⃣${NOPE}.csv" }
                  - { export: csv, path: "é/4️⃣${NOPE}.csv" }
                  - { export: csv, path: 5️⃣"${DIR:-a/long/folder}/{bad}.csv" }
                """)
        let result = load(marked)
        #expect(
            spots(result)
                == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"].map { spot(.unsetVariable, marked, $0) }
                + [spot(.badPathTemplate, marked, "5️⃣")])
    }

    /// An interpolated value with a newline keeps the structure, but it must not become a file name: a control
    /// character (or a path that names a folder) in a step's path is an error at the path.
    @Test func c09PathsRefuseControlCharactersAndFolders() {
        let environment = keyedEnvironment.merging(["SUFFIX": "a\nb: c"]) { $1 }
        let marked = MarkedText(
            header + """
                steps:
                  - { export: csv, path: 1️⃣"out/${SUFFIX}.csv" }
                  - { export: csv, path: 2️⃣"out/a\\x00b.csv" }
                  - { export: csv, path: 3️⃣"out/\\tx.csv" }
                  - { export: csv, path: 4️⃣out/ }
                  - { export: csv, path: 5️⃣out/.. }
                  - { export: csv, path: out/ok.csv }
                """)
        let result = load(marked, environment: environment)
        #expect(spots(result) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"].map { spot(.badPathTemplate, marked, $0) })
        #expect(result.diagnostics.first?.message.contains("control character") == true)
        #expect(result.diagnostics.last?.message.contains("file name") == true)
    }

    /// The checks find bytes; the messages name characters, after text that is not ASCII too.
    @Test func pathChecksReadCharactersAfterNonASCIIText() {
        let marked = MarkedText(
            header + """
                steps:
                  - { export: csv, path: 1️⃣"répertoire/é\\x7Fx.csv" }
                  - { export: csv, path: 2️⃣dossier/ü/.. }
                  - { export: csv, path: dossier/ü/straße.csv }
                """)
        let result = load(marked)
        #expect(spots(result) == ["1️⃣", "2️⃣"].map { spot(.badPathTemplate, marked, $0) })
        #expect(
            result.diagnostics.map(\.message) == [
                "'steps[0].path' holds the control character U+007F; a file name cannot hold it",
                "'steps[1].path' names a folder; end it with a file name, such as dossier/ü/../{workflow}.csv",
            ])
    }

    /// Placeholders are matched on bytes; each unknown one is placed at its `{`, counted in characters after names
    /// that are not ASCII.
    @Test func unknownPlaceholdersArePlacedAfterNonASCIINames() {
        let marked = MarkedText(header + "steps:\n  - export: csv\n    path: out/1️⃣{dåte}-2️⃣{rün}-{date}.csv\n")
        let result = load(marked)
        #expect(spots(result) == ["1️⃣", "2️⃣"].map { spot(.badPathTemplate, marked, $0) })
        #expect(result.diagnostics.first?.message.hasPrefix("unknown placeholder '{dåte}'") == true)
    }

    /// A reference (or placeholder) that is the first character of a value is at that character — after the
    /// quote, on the line after a `|` or `>`, after an anchor — not at the start of the node; through an alias it
    /// is where the anchored text is written.
    @Test func c09AReferenceAtTheStartOfAValueIsPlacedAtItsFirstCharacter() {
        let marked = MarkedText(
            header + """
                description: "0️⃣${R1}"
                name: |
                  1️⃣${X} rest
                steps:
                  - export: csv
                    path: "2️⃣{name}.csv"
                  - export: csv
                    path: |-
                      3️⃣{nam}.csv
                  - export: csv
                    path: '4️⃣${5}'
                  - export: csv
                    path: "5️⃣${A:-${B}}"
                  - export: csv
                    path: "6️⃣${MULTICART_API_KEY}.csv"
                  - export: csv
                    path: &p
                      # the value is on the next line
                      "7️⃣${R2}"
                  - export: csv
                    path: &q 8️⃣${R3}
                    records_key: *p
                  - { export: csv, path: *q }
                """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.unsetVariable, marked, "0️⃣"), spot(.unsetVariable, marked, "1️⃣"),
                spot(.badPathTemplate, marked, "2️⃣"), spot(.badPathTemplate, marked, "3️⃣"),
                spot(.badInterpolation, marked, "4️⃣"), spot(.badInterpolation, marked, "5️⃣"),
                spot(.literalSecret, marked, "6️⃣"), spot(.unsetVariable, marked, "7️⃣"),
                spot(.unsetVariable, marked, "8️⃣"),
            ])
    }

    @Test func c09UnsetVariablesAreErrorsAtTheirPlace() {
        let marked = MarkedText(
            """
            cartflow: 1
            description: prefix 1️⃣${NOT_SET} suffix
            collections:
              laptops: { id: 101, title: "x 2️⃣${ALSO_NOT_SET}" }
            poll:
              interval: 3️⃣${BROKEN
            steps:
              - export: csv
                path: "4️⃣${MULTICART_API_KEY}.csv"
            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.unsetVariable, marked, "1️⃣"), spot(.unsetVariable, marked, "2️⃣"),
                spot(.badInterpolation, marked, "3️⃣"), spot(.literalSecret, marked, "4️⃣"),
            ])
        #expect(
            result.diagnostics[0].message
                == "environment variable NOT_SET is not set; set it, or give a default with ${NOT_SET:-value}")
    }
}
