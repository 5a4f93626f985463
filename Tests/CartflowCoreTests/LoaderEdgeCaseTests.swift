import CartflowCore
import CartflowTestSupport
import Foundation
import Testing

/// The API key used by the secret tests: long enough to be searched for anywhere in a value.
private let liveKey = "sk_live_SECRETKEY123456"

/// Everything a user could see of a result: rendered diagnostics with their lines, key paths and notes.
private func everythingShown(_ result: LoadResult) -> String {
    result.diagnostics.map {
        $0.render(sourceText: result.sourceText) + $0.keyPath + $0.notes.map(\.message).joined()
    }.joined(separator: "\n")
}

@Suite("The API key in keys")
struct SecretKeyTests {
    /// A key chosen by the user (a collection name, a column output name) never went through the secret check of
    /// values, so a file naming a collection by the key validated and `plan`/`graph` printed it.
    @Test func aKeyHoldingTheAPIKeyIsRefusedWithoutEchoingIt() {
        let environment = ["MULTICART_API_KEY": liveKey]
        let collection = MarkedText("cartflow: 1\ncollections: { 1️⃣\(liveKey): { id: 101 } }\n")
        let result = load(collection, environment: environment)
        #expect(spots(result) == [spot(.literalSecret, collection, "1️⃣")])
        #expect(
            result.diagnostics.first?.message
                == "a key in 'collections' holds the API key; the key may only be given in 'api.key', as ${VARIABLE}")
        #expect(result.workflow == nil)
        #expect(!everythingShown(result).contains(liveKey))

        let column = MarkedText(
            header + "steps:\n  - export: csv\n    path: x.csv\n    columns: [asin, {1️⃣\(liveKey): asin}]\n")
        let columnResult = load(column, environment: environment)
        #expect(spots(columnResult) == [spot(.literalSecret, column, "1️⃣")])
        #expect(columnResult.workflow == nil)
        #expect(!everythingShown(columnResult).contains(liveKey))

        // Part of a key, and a fixed-format key (which would otherwise be echoed as unknown).
        let part = MarkedText(
            "cartflow: 1\ncollections:\n  1️⃣x-\(liveKey)-y: { id: 1 }\n  b: { id: 2 }\npoll: { 2️⃣\(liveKey): 1s }\n")
        #expect(
            spots(load(part, environment: environment)) == [
                spot(.literalSecret, part, "1️⃣"), spot(.literalSecret, part, "2️⃣"),
            ])
    }

    /// The variable `api.key` names is secret for the top-level keys too, which are read before `api`.
    @Test func aTopLevelKeyHoldingTheNamedVariablesValueIsRefused() {
        let marked = MarkedText(header + "1️⃣other-SECRET-606: 1\napi: { key: \"${SHOP_KEY}\" }\n")
        let result = load(marked, environment: ["SHOP_KEY": "other-SECRET-606"])
        #expect(spots(result) == [spot(.literalSecret, marked, "1️⃣")])
        #expect(!everythingShown(result).contains("other-SECRET-606"))
    }

    /// A literal key given through an alias is written at its anchor: no diagnostic shows that line either.
    @Test func aLiteralKeyGivenThroughAnAliasIsNotShownAtItsAnchor() {
        let marked = MarkedText(
            "cartflow: 1\n1️⃣secretz: &k sk-live-LITERAL99\napi: { key: 2️⃣*k }\ncollections:\n  laptops: { id: 101 }\n")
        let result = load(marked)
        #expect(spots(result) == [spot(.unknownKey, marked, "1️⃣"), spot(.literalSecret, marked, "2️⃣")])
        #expect(result.diagnostics.map(\.showsSourceLine) == [false, false])
        #expect(!everythingShown(result).contains("LITERAL99"))

        // A whole `api` section through an alias, and an anchor on a line of its own.
        let section = MarkedText(
            "cartflow: 1\nshared: &a\n  key:\n    &k\n    sk-live-LITERAL99\napi: *a\nname: *k\ncollections:\n  laptops: { id: 101 }\n"
        )
        let sectionResult = load(section)
        #expect(sectionResult.diagnostics.map(\.code).contains("CF114"))
        #expect(!everythingShown(sectionResult).contains("LITERAL99"))
    }

    /// A refused key is reported once; `collections` is not also "empty" because of it.
    @Test func refusedKeysDoNotMakeCollectionsLookEmpty() {
        let complex = MarkedText("cartflow: 1\ncollections:\n  ? 1️⃣[a, b]\n  : { id: 1 }\n")
        #expect(spots(load(complex)) == [spot(.wrongType, complex, "1️⃣")])
        let empty = MarkedText("cartflow: 1\ncollections: 1️⃣{}\n")
        #expect(spots(load(empty)) == [spot(.emptyCollection, empty, "1️⃣")])
    }
}

@Suite("A literal key after a syntax error")
struct SyntaxErrorSecretTests {
    /// On a syntax error there is no node tree to say which line is `api.key`, and the environment (which may be
    /// unset) cannot name a key written in the file: the lines that may hold one are not shown.
    @Test func linesThatMayHoldALiteralKeyAreNotShown() {
        let unclosed = MarkedText("cartflow: 1\napi:\n  key: \"sk_live_REALKEY_999\ncollections:\n  a: {id: 1}\n1️⃣")
        let result = load(unclosed, environment: [:])
        #expect(spots(result) == [spot(.syntax, unclosed, "1️⃣")])
        #expect(result.diagnostics.first?.notes.map(\.location.line) == [3])
        #expect(!everythingShown(result).contains("REALKEY"))

        let secretLines = [
            "cartflow: 1\napi:\n  key: !!str sk_live_REALKEY_999\n",  // CF012 on the key's own line
            "cartflow: 1\napi: {key: sk_live_REALKEY_999, base_url: x: y}\n",
            "cartflow: 1\napi: {\"key\": 'sk_live_REALKEY_999', 'base_url': [}\n",
            "cartflow: 1\napi:\n  KEY:\n    sk_live_REALKEY_999\n    x: y: z\n",
            "cartflow: 1\napi:\n  key: |\n    sk_live_REALKEY_999\n  : bad\n",
            // A quoted value continued on a line no more indented than the key: `\"` and `''` do not close it.
            "cartflow: 1\napi:\n  key: \"sk_\\\"live\\\n  REALKEY_999\" x\n",
            "cartflow: 1\napi:\n  key: 'it''s sk_live_\n  REALKEY_999' x\n",
        ]
        for text in secretLines {
            let result = WorkflowLoader.load(text: text, path: "wf.yaml", environment: [:])
            #expect(result.workflow == nil, "\(text)")
            #expect(result.diagnostics.map(\.showsSourceLine) == [false], "\(text)")
            #expect(!everythingShown(result).contains("REALKEY"), "\(text)")
        }
    }

    /// A `${NAME:-default}` holds a literal default, a key may follow a tab (libyaml refuses the line, CF005), and
    /// the variable `api.key` names holds a secret as `MULTICART_API_KEY` does: none is shown after a syntax error.
    @Test func defaultsTabsAndTheNamedVariableAreNotShown() {
        let literal = [
            "cartflow: 1\napi: { key: \"${CF_TOKEN:-sk-live-DEFAULTKEY}\", base_url: [ }\n",
            "cartflow: 1\napi:\n  key: ${CF_TOKEN:-sk-live-DEFAULTKEY}\n   bad: [\n",
            "cartflow: 1\napi:\n  key: ${CF_TOKEN}sk-live-DEFAULTKEY\n   bad: [\n",
            "cartflow: 1\napi:\n  key: ${CF_TOKEN} sk-live-DEFAULTKEY\n   bad: [\n",
        ]
        for text in literal {
            let result = WorkflowLoader.load(text: text, path: "wf.yaml", environment: [:])
            #expect(result.diagnostics.map(\.showsSourceLine) == [false], "\(text)")
            #expect(!everythingShown(result).contains("DEFAULTKEY"), "\(text)")
        }

        let tab = MarkedText("cartflow: 1\napi:\n  key:\n1️⃣\tsk-live-LITERAL99\ncollections:\n  laptops: { id: 101 }\n")
        let tabResult = load(tab, environment: [:])
        #expect(spots(tabResult) == [spot(.tabIndentation, tab, "1️⃣")])
        #expect(tabResult.diagnostics.map(\.showsSourceLine) == [false])
        #expect(!everythingShown(tabResult).contains("LITERAL99"))

        let named = MarkedText(
            "cartflow: 1\napi: { key: \"${SHOP_KEY}\" }\ncollections:\n  laptops: { id: 101 }\n"
                + "description: \"token sk-shop-12345678\n  - : ]\n1️⃣")
        let namedResult = load(named, environment: ["SHOP_KEY": "sk-shop-12345678"])
        #expect(spots(namedResult) == [spot(.syntax, named, "1️⃣")])
        #expect(namedResult.diagnostics.map(\.showsSourceLine) == [false])
        #expect(!everythingShown(namedResult).contains("sk-shop-12345678"))
    }

    /// A `${...}` key, and lines away from any key, are shown as before.
    @Test func otherLinesAreStillShown() {
        for text in [
            "cartflow: 1\napi:\n  key: ${MULTICART_API_KEY}\nname: a: b\n",
            "cartflow: 1\napi: { key: \"${MY_KEY}\" }\nname: a: b\n",
            "cartflow: 1\napi: [{ key: \"${MY_KEY}\", base_url: \"https://x.example\" }]\nname: a: b\n",
            "cartflow: 1\napi:\n  key: ${MY_KEY}  # from the vault\nname: a: b\n",
            "cartflow: 1\napi:\n  key: sk_live_REALKEY_999\nname: a: b\n",
        ] {
            let result = WorkflowLoader.load(text: text, path: "wf.yaml", environment: [:])
            #expect(result.diagnostics.map(\.code) == ["CF004"], "\(text)")
            #expect(result.diagnostics.map(\.showsSourceLine) == [true], "\(text)")
            #expect(everythingShown(result).contains("name: a: b"), "\(text)")
        }
    }
}

@Suite("Tabs and syntax errors")
struct TabBlameTests {
    /// A tab in a flow collection is legal YAML: an unrelated error later in the file is libyaml's, at its place.
    @Test func aLegalTabIsNotBlamedForAnUnrelatedError() throws {
        let valid = "cartflow: 1\npoll: {\n\tinterval: 15s }\ncollections:\n  laptops: { id: 101 }\n"
        #expect(load(MarkedText(valid)).diagnostics == [])
        let marked = MarkedText(valid + " 1️⃣bad: 1\n")
        let result = load(marked)
        #expect(spots(result) == [spot(.syntax, marked, "1️⃣")])
        #expect(result.diagnostics.first?.message == "invalid YAML: did not find expected key")

        // "cannot start any token" names the character it stopped at: here '@', not the tab a line above.
        let other = MarkedText("cartflow: 1\ncollections: {\n\tlaptops: { id: 101 },\n  x: 1️⃣@bad }\n")
        #expect(spots(load(other)) == [spot(.syntax, other, "1️⃣")])
    }

    /// Tabs that libyaml refuses are still blamed, at the tab: in indentation, after spaces, after '-'.
    @Test func tabsLibyamlRefusesAreBlamedAtTheTab() {
        for text in [
            "cartflow: 1\ncollections:\n1️⃣\tlaptops: { id: 101 }\n",
            "cartflow: 1\ncollections:\n  laptops: { id: 101 }\n  1️⃣\tphones: { id: 102 }\n",
            "cartflow: 1\ncollections:\n  laptops:\n 1️⃣\t id: 101\n",
            "cartflow: 1\ndescription: |\n1️⃣\tx\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps:\n  -1️⃣\t{ export: csv, path: x.csv }\n",
        ] {
            let marked = MarkedText(text)
            let result = load(marked)
            #expect(spots(result) == [spot(.tabIndentation, marked, "1️⃣")], "\(text)")
            #expect(result.diagnostics.first?.notes.first?.message.hasPrefix("libyaml: ") == true)
        }
    }

    /// A tab on a blank line or before a comment is legal YAML that libyaml refuses: the message says so rather
    /// than calling it indentation.
    @Test func aTabOnABlankOrCommentLineIsExplainedAsSuch() {
        let blank = MarkedText("cartflow: 1\n1️⃣\t\ncollections:\n  laptops: { id: 101 }\n")
        let blankResult = load(blank)
        #expect(spots(blankResult) == [spot(.tabIndentation, blank, "1️⃣")])
        #expect(
            blankResult.diagnostics.first?.message
                == "a tab on a line that is otherwise blank: YAML allows it, but libyaml (the parser cartflow uses) refuses it here; delete the tab"
        )
        let comment = MarkedText("cartflow: 1\ncollections:\n  laptops: { id: 101 }\n1️⃣\t# phones later\n")
        let commentResult = load(comment)
        #expect(spots(commentResult) == [spot(.tabIndentation, comment, "1️⃣")])
        #expect(
            commentResult.diagnostics.first?.message
                == "a tab before a comment: YAML allows it, but libyaml (the parser cartflow uses) refuses it at the start of a line here; indent the comment with spaces, or delete the tab"
        )
        // After a space the same tab is fine for libyaml too.
        #expect(load(MarkedText("cartflow: 1\n \t# c\ncollections:\n  laptops: { id: 101 }\n")).diagnostics == [])
    }
}

@Suite("References to collections")
struct CollectionReferenceTests {
    /// A collection with a problem of its own is still a collection of the workflow: `from:` naming it is not
    /// also "not a collection of this workflow".
    @Test func aStepNamingAnInvalidCollectionGetsNoKnockOnError() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              laptops: { id: 1️⃣0 }
              6️⃣phones: { 2️⃣ids: 102 }
              3️⃣"bad name": { id: 103 }
              tablets: { id: 4️⃣"x" }
            steps:
              - export: csv
                from: [laptops, phones, "bad name", tablets, 5️⃣nope]
                path: x.csv
            """)
        #expect(
            spots(load(marked)) == [
                spot(.invalidInteger, marked, "1️⃣"), spot(.missingKey, marked, "6️⃣"), spot(.unknownKey, marked, "2️⃣"),
                spot(.invalidName, marked, "3️⃣"), spot(.invalidInteger, marked, "4️⃣"),
                spot(.unknownCollection, marked, "5️⃣"),
            ])
    }
}

/// Collection names are letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 64 of them;
/// any character that is not ASCII makes a name invalid, wherever it is.
@Suite("Collection names")
struct CollectionNameTests {
    @Test func namesAreCheckedCharacterByCharacter() {
        let long = String(repeating: "a", count: 64)
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              \(long): { id: 1 }
              1️⃣\(long)b: { id: 2 }
              x.y-z_9: { id: 3 }
              2️⃣_x: { id: 4 }
              3️⃣café: { id: 5 }
              4️⃣"e\\u0301": { id: 6 }
              5️⃣日本: { id: 7 }
              6️⃣"a b": { id: 8 }
              7️⃣"-a": { id: 9 }
              9lives: { id: 10 }
            """)
        #expect(spots(load(marked)) == (1...7).map { spot(.invalidName, marked, "\($0)️⃣") })
    }
}

extension CollectionReferenceTests {
    /// When `collections` is missing (or misspelt) or not a mapping, no name can be checked against it: that is
    /// reported once, not again as CF119 at every step.
    @Test func aBrokenCollectionsSectionGetsNoKnockOnError() {
        let list = MarkedText(
            "cartflow: 1\ncollections: 1️⃣[laptops]\nsteps:\n  - export: csv\n    from: laptops\n    path: a.csv\n")
        #expect(spots(load(list)) == [spot(.wrongType, list, "1️⃣")])

        let misspelt = MarkedText(
            "1️⃣cartflow: 1\n2️⃣collectionz:\n  laptops: { id: 101 }\nsteps:\n  - export: csv\n    from: [laptops]\n    path: a.csv\n"
        )
        #expect(spots(load(misspelt)) == [spot(.missingKey, misspelt, "1️⃣"), spot(.unknownKey, misspelt, "2️⃣")])

        // Declared but empty is still checked: the step names a collection the workflow does not have.
        let empty = MarkedText("cartflow: 1\ncollections: 1️⃣{}\nsteps: [{ export: csv, from: 2️⃣laptops, path: a.csv }]\n")
        #expect(spots(load(empty)) == [spot(.emptyCollection, empty, "1️⃣"), spot(.unknownCollection, empty, "2️⃣")])
    }
}

@Suite("Durations")
struct DurationTextTests {
    /// A duration's numbers follow the rule of whole numbers (no leading zero), and a sign gets its own hint.
    @Test func leadingZerosAndSignsAreRefusedWithTheFix() throws {
        let marked = MarkedText(
            header + "poll: { interval: 1️⃣00010s, max_interval: 2️⃣01h05m, timeout: 3️⃣-5s, attribution_grace: 4️⃣+2m }\n")
        let result = load(marked)
        #expect(spots(result) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"].map { spot(.invalidDuration, marked, $0) })
        #expect(
            result.diagnostics.map { $0.message.components(separatedBy: "; ").dropFirst().joined(separator: "; ") } == [
                "numbers are decimal and a leading zero is not allowed; write 10s",
                "numbers are decimal and a leading zero is not allowed; write 1h5m",
                "durations cannot be negative", "write 2m (without '+')",
            ])
        // A single zero is a number, not a leading zero.
        #expect(try ValueParsers.duration("0h30m").get() == Seconds(1800))
        #expect(throws: ValueParsers.Problem.self) { try ValueParsers.duration("0010s").get() }
    }
}

@Suite("Positions through aliases")
struct AliasPositionTests {
    /// The fields of an aliased node keep the anchor's positions (their text is there); a value the alias
    /// repeats is reported at the alias, with the note at the first.
    @Test func aValueRepeatedByAnAliasIsReportedAtTheAlias() {
        let step = MarkedText(
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps: [ &s {export: csv, path: 1️⃣out/a.csv}, 2️⃣*s ]\n")
        let result = load(step)
        #expect(spots(result) == [spot(.duplicateValue, step, "2️⃣")])
        #expect(result.diagnostics.first?.notes.map { "\($0.location.line):\($0.location.column)" } == ["\(step["1️⃣"])"])

        let others = MarkedText(
            """
            cartflow: 1
            collections: { a: { id: 1 }, b: { id: 2 } }
            schedule: { every: weekly, at: "08:00", days: [&d mon, 1️⃣*d] }
            steps:
              - export: csv
                from: [&a a, 2️⃣*a]
                path: x.csv
                columns: [&c asin, 3️⃣*c]
                provenance: [&p runner, 4️⃣*p]
            """)
        #expect(
            spots(load(others))
                == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"].map { spot(.duplicateValue, others, $0) })
    }

    /// A repeat written inside the anchored text is that text's problem: reported once, where it is written, not
    /// again at every alias that uses it.
    @Test func aRepeatInsideTheAnchoredTextIsReportedOnceWhereItIsWritten() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections: { a: { id: 1 } }
            steps:
              - { export: csv, path: a.csv, columns: &c [asin, 1️⃣asin] }
              - { export: csv, path: b.csv, columns: *c }
              - { export: csv, path: c.csv, columns: *c }
            """)
        let result = load(marked)
        #expect(spots(result) == [spot(.duplicateValue, marked, "1️⃣")])
    }
}

@Suite("Positions inside scalars over several lines")
struct MultiLinePositionTests {
    /// Folding and indentation change only white space, so a `${...}` in a scalar over several lines is placed
    /// exactly: in literal and folded blocks, plain scalars and quoted ones (escapes counted as written).
    @Test func referencesInMultiLineScalarsAreReportedWhereTheyAreWritten() {
        let marked = MarkedText(
            header + """
                description: |
                  line1
                  line2 1️⃣${NOPE}
                name: >-  # folded
                  a  b

                    more-indented 2️⃣${NOPE}
                  $$ 3️⃣${NOPE}
                steps:
                  - export: csv
                    path: out/first
                      second/4️⃣${NOPE}.csv
                  - export: csv
                    path: "out/\\t
                      \\x41 5️⃣${NOPE}.csv"
                  - export: csv
                    path: 'it''s
                      ''q'' 6️⃣${NOPE}.csv'
                  - export: csv
                    path: |-
                      out/7️⃣{bad}.csv
                """)
        let result = load(marked)
        #expect(
            spots(result)
                == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣"].map { spot(.unsetVariable, marked, $0) }
                + [spot(.badPathTemplate, marked, "7️⃣")])
    }
}

/// Booleans, whole numbers and choices are read from the scalar's bytes when nothing can change them: the rules
/// for the text (the API key, `${...}`, null) must hold the same on that path.
@Suite("Typed values read from their bytes")
struct TypedValueBytesTests {
    private let values = """
        cartflow: 1
        collections:
          laptops: { id: 101, items: 1️⃣250 }
        steps:
          - export: 2️⃣csv
            path: out/x.csv
            include_failed: 3️⃣true

        """

    @Test func aKeyAsShortAsTheValueIsStillRefusedThere() {
        for (key, marker) in [("250", "1️⃣"), ("csv", "2️⃣"), ("true", "3️⃣")] {
            let marked = MarkedText(values)
            let result = load(marked, environment: ["MULTICART_API_KEY": key])
            #expect(spots(result) == [spot(.literalSecret, marked, marker)], "key \(key)")
            #expect(result.workflow == nil)
        }
    }

    @Test func plainQuotedAndInterpolatedValuesReadAlike() throws {
        let plain = try #require(load(MarkedText(values)).workflow)
        #expect(plain.collections.first?.items == 250)
        #expect(plain.steps.first?.format == .csv)
        #expect(plain.steps.first?.includeFailed == true)
        let quoted = values.replacingOccurrences(of: "1️⃣250", with: "1️⃣\"250\"")
            .replacingOccurrences(of: "2️⃣csv", with: "2️⃣\"csv\"").replacingOccurrences(of: "3️⃣true", with: "3️⃣'true'")
        let quotedWorkflow = try #require(load(MarkedText(quoted)).workflow)
        #expect(quotedWorkflow.collections == plain.collections)
        #expect(quotedWorkflow.steps == plain.steps)
        let interpolated = values.replacingOccurrences(of: "250", with: "'${ITEMS}'").replacingOccurrences(
            of: "true", with: "${FAILED}")
        let environment = keyedEnvironment.merging(["ITEMS": "250", "FAILED": "true"]) { $1 }
        let expanded = try #require(load(MarkedText(interpolated), environment: environment).workflow)
        #expect(expanded.collections == plain.collections)
        #expect(expanded.steps == plain.steps)
    }

    @Test func valuesTheBytesDoNotFitAreExplainedAsBefore() {
        let marked = MarkedText(
            """
            cartflow: 1
            collections:
              laptops: { id: 101, items: 1️⃣0250 }
              phones: { id: 102, items: 2️⃣99999999 }
            steps:
              - export: 3️⃣CSV
                path: out/x.csv
                include_failed:4️⃣
                bom: 5️⃣yes

            """)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.invalidInteger, marked, "1️⃣"), spot(.invalidInteger, marked, "2️⃣"),
                spot(.invalidChoice, marked, "3️⃣"), spot(.wrongType, marked, "4️⃣"),
                spot(.invalidBoolean, marked, "5️⃣"),
            ])
    }
}

/// Collections are many: their names and ids are hashed, each once. A name or an id written three times is two
/// repeats of the first, and each note points at the first, not at the repeat before it.
@Suite("Repeats in large mappings")
struct LargeMappingRepeatTests {
    @Test func everyRepeatPointsAtTheFirst() throws {
        var yaml = "cartflow: 1\ncollections:\n  1️⃣twice: { id: 1 }\n"
        for index in 2...20 { yaml += "  c\(index): { id: \(index) }\n" }
        yaml += "  2️⃣twice: { id: 21 }\n  3️⃣twice: { id: 22 }\n"
        yaml += "  a: { id: 4️⃣500 }\n  b: { id: 5️⃣500 }\n  c: { id: 6️⃣500 }\n"
        let marked = MarkedText(yaml)
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.duplicateKey, marked, "2️⃣"), spot(.duplicateKey, marked, "3️⃣"),
                spot(.duplicateValue, marked, "5️⃣"), spot(.duplicateValue, marked, "6️⃣"),
            ])
        let notes = result.diagnostics.map { $0.notes.map { "\($0.location.line):\($0.location.column)" } }
        let first = "\(marked["1️⃣"].line):\(marked["1️⃣"].column)"
        let firstID = "\(marked["4️⃣"].line):\(marked["4️⃣"].column)"
        #expect(notes == [[first], [first], [firstID], [firstID]])
        #expect(result.diagnostics.suffix(2).allSatisfy { $0.message.contains("already used by 'a'") })
    }
}

/// `é` written as one scalar and as `e` with a combining accent is one text to Swift's `==` and hashing: short and
/// long lists and mappings must agree on it. Comparing byte counts first made a short list call the two different
/// (a step with both as column names validated, the same step with 16 more columns did not).
@Suite("One text in two Unicode spellings")
struct UnicodeSpellingTests {
    @Test func aColumnNameInTwoSpellingsIsARepeatInAShortList() {
        let marked = MarkedText(
            header + "steps:\n  - export: json\n    path: out/a.json\n"
                + "    columns: [{\"\\u00e9\": price}, {1️⃣\"e\\u0301\": title}]\n")
        let result = load(marked)
        #expect(spots(result) == [spot(.duplicateValue, marked, "1️⃣")])
    }

    @Test func aKeyInTwoSpellingsIsADuplicateInSmallAndLargeMappings() {
        for others in [0, 20] {
            var yaml = "cartflow: 1\ncollections:\n  \"\\u00e9\": { id: 1 }\n"
            for index in 0..<others { yaml += "  c\(index): { id: \(index + 10) }\n" }
            yaml += "  \"e\\u0301\": { id: 2 }\n  \"\\u212A\": { id: 3 }\n  K: { id: 4 }\n"
            let codes = load(MarkedText(yaml)).diagnostics.map(\.code)
            #expect(codes.filter { $0 == DiagnosticCode.duplicateKey.rawValue }.count == 2, "\(others) others")
        }
    }
}
