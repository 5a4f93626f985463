import CartflowCore
import CartflowTestSupport
import Testing

@Suite("Rendered diagnostics")
struct RenderingTests {
    func rendered(_ text: String, environment: [String: String] = keyedEnvironment, color: Bool = false) -> String {
        let result = WorkflowLoader.load(text: text, path: "workflows/x.yaml", environment: environment)
        return result.diagnostics.map { $0.render(sourceText: result.sourceText, color: color) }.joined(separator: "\n")
    }

    @Test func unknownKeyWithSuggestion() {
        #expect(
            rendered(header + "poll:\n  intervall: 15s\n") == """
                workflows/x.yaml:5:3: error: unknown key 'intervall' in 'poll'; did you mean 'interval'? [CF102]
                 5 |   intervall: 15s
                   |   ^
                """)
    }

    @Test func duplicateKeyShowsBothPlaces() {
        #expect(
            rendered("cartflow: 1\ncollections:\n  laptops: { id: 101 }\n  laptops: { id: 102 }\n") == """
                workflows/x.yaml:4:3: error: duplicate key 'laptops'; each key may appear once in a mapping [CF103]
                 4 |   laptops: { id: 102 }
                   |   ^
                workflows/x.yaml:3:3: note: 'laptops' is first set here
                 3 |   laptops: { id: 101 }
                   |   ^
                """)
    }

    /// Source lines are cut at every break libyaml counts (CRLF, CR, NEL, LS, PS, LF), so the line shown is the
    /// line the position names, whatever mix of breaks the file has.
    @Test func sourceLineMatchesLibyamlLineBreaks() {
        let text =
            "cartflow: 1\r\ndescription: \"é\"\u{2028}collections:\u{85}  laptops: { id: 101 }\u{2029}poll:\r  intervall: 15s\n"
        #expect(
            rendered(text) == """
                workflows/x.yaml:6:3: error: unknown key 'intervall' in 'poll'; did you mean 'interval'? [CF102]
                 6 |   intervall: 15s
                   |   ^
                """)
    }

    @Test func syntaxErrorShowsProblemAndContext() {
        #expect(
            rendered("cartflow: 1\ncollections:\n  laptops: { id: 101\nname: x\n") == """
                workflows/x.yaml:4:5: error: invalid YAML: did not find expected ',' or '}' [CF004]
                 4 | name: x
                   |     ^
                workflows/x.yaml:3:12: note: while parsing a flow mapping
                 3 |   laptops: { id: 101
                   |            ^
                """)
    }

    @Test func literalKeyIsNeverShown() {
        let text = rendered(header + "api:\n  key: sk-live-SECRET-4242\n")
        #expect(
            text == """
                workflows/x.yaml:5:8: error: 'api.key' must name an environment variable, such as ${MULTICART_API_KEY}; a key written in the file is refused (it would end up in version control) [CF114]
                """)
        #expect(!text.contains("SECRET"))
    }

    /// The key's value from the environment never appears in any message, whatever else is wrong with the file.
    @Test func environmentKeyValueIsNeverShown() {
        let secret = "sk-env-VALUE-777"
        let text =
            header + """
                api: { key: "${MULTICART_API_KEY}", base_url: "${MULTICART_API_KEY}" }
                description: ${MULTICART_API_KEY}
                poll: { interval: "${MULTICART_API_KEY}" }
                """
        let result = WorkflowLoader.load(text: text, path: "x.yaml", environment: ["MULTICART_API_KEY": secret])
        #expect(result.diagnostics.map(\.code) == ["CF114", "CF114", "CF114"])
        let all = result.diagnostics.map { $0.render(sourceText: result.sourceText) + $0.keyPath }.joined()
        #expect(!all.contains(secret))
    }

    @Test func tabsKeepTheCaretAligned() {
        #expect(
            rendered("cartflow: 1\ncollections:\n\tlaptops: { id: 101 }\n") == """
                workflows/x.yaml:3:1: error: a tab is used for indentation here; YAML indents with spaces only [CF005]
                 3 | \tlaptops: { id: 101 }
                   | ^
                workflows/x.yaml:3:1: note: libyaml: found character that cannot start any token
                 3 | \tlaptops: { id: 101 }
                   | ^
                """)
    }

    @Test func colourOnlyWhenAsked() {
        let plain = rendered(header + "fetch: { from: page }\n")
        #expect(!plain.contains("\u{1B}["))
        let coloured = rendered(header + "fetch: { from: page }\n", color: true)
        #expect(coloured.hasPrefix("\u{1B}[1mworkflows/x.yaml:4:16:\u{1B}[0m \u{1B}[1;31merror:\u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[1;32m^\u{1B}[0m"))
    }

    @Test func warningRendersAsWarning() {
        let text = rendered(header, environment: [:])
        #expect(
            text == """
                workflows/x.yaml:1:1: warning: environment variable MULTICART_API_KEY (the API key) is not set; 'cartflow run' will need it [CF117]
                 1 | cartflow: 1
                   | ^
                """)
    }

    /// Found by the fuzzer: with `api.key` naming another variable, `${MULTICART_API_KEY}` in another field was
    /// interpolated and its value echoed in a CF104 message. Both variables are now secret everywhere but api.key.
    @Test func fuzzCrashDefaultKeyVariableStaysSecretWhenApiKeyNamesAnother() {
        let secret = "FUZZ-SECRET-9f8e7d"
        let marked = MarkedText(
            header + """
                api: { key: "${OTHER_KEY}" }
                steps:
                  - export: csv
                    path: x.csv
                    formula_guard: true1️⃣${MULTICART_API_KEY}
                """)
        let result = WorkflowLoader.load(
            text: marked.text, path: "x.yaml", environment: ["MULTICART_API_KEY": secret, "OTHER_KEY": "k2"])
        #expect(spots(result) == [spot(.literalSecret, marked, "1️⃣")])
        let all = result.diagnostics.map { $0.render(sourceText: result.sourceText) }.joined()
        #expect(!all.contains(secret))
        #expect(!all.contains("k2"))
    }

    /// A key written in the file is never shown, wherever it sits in `api`: a second `key`, a misspelt key, or a
    /// note that points back at it; nor is a line of any other diagnostic that holds the environment's key.
    @Test func keyMisusedInAnyShapeIsNeverShown() {
        let secret = "sk-live-KNOWN-5150"
        let environment = ["MULTICART_API_KEY": secret, "OTHER_KEY": "other-SECRET-606"]
        let texts = [
            header + "api:\n  key: \(secret)\n  key: ${MULTICART_API_KEY}\n",
            header + "api:\n  key: ${MULTICART_API_KEY}\n  key: \(secret)\n",
            header + "api:\n  kee: \(secret)\n",
            header + "api: \(secret)\n",
            header + "api: [\(secret)]\n",
            header + "api: { key: \"${OTHER_KEY}\" }\ndescription: other-SECRET-606\nname: other-SECRET-606\n",
            header + "name: \(secret)\ndescription: \(secret)\nfetch: { from: \(secret) }\n",
            "cartflow: 1\ncollections:\n  \(secret): { id: 0 }\n",
            "cartflow: 1\napi: { key: \(secret)\n",
            header + "steps:\n  - export: csv\n    path: \"out/\(secret)/{bad}.csv\"\n",
            // Written with YAML escapes or folded over lines: the decoded value holds the key, the text does not.
            header + "description: \"sk-live-KNOWN\\x2D5150\"\n",
            header + "description: \"sk-live-KN\\\n  OWN-5150 and more\"\n",
            header + "description: \"sk-live-\\u004BNOWN-5150\"\nname: bad name\n",
        ]
        for text in texts {
            let result = WorkflowLoader.load(text: text, path: "x.yaml", environment: environment)
            #expect(result.workflow == nil, "\(text)")
            let all = result.diagnostics.map {
                $0.render(sourceText: result.sourceText) + $0.keyPath + $0.notes.map(\.message).joined()
            }.joined()
            #expect(!all.contains(secret), "\(all)")
            // Nor any part of it, however the file spelt it.
            #expect(!all.contains("KNOWN") && !all.contains("OWN-5150"), "\(all)")
            #expect(!all.contains("other-SECRET-606"), "\(all)")
        }
    }

    /// The byte order mark is not part of the first line: the excerpt must not carry an invisible U+FEFF.
    @Test func bomIsNotShownInTheFirstLine() {
        #expect(
            rendered("\u{FEFF}cartflow: 01\ncollections:\n  laptops: { id: 101 }\n").hasPrefix(
                """
                workflows/x.yaml:1:11: error: 'cartflow' must be a whole number of at least 0, got '01'; numbers are decimal and a leading zero is not allowed (it would mean octal in YAML 1.1); write 1 [CF105]
                 1 | cartflow: 01
                   |           ^
                """))
    }

    /// A value echoed in a message is shown with its control characters escaped: a newline must not break the
    /// one-line `file:line:col:` form, and an escape sequence from the file must not reach the terminal.
    @Test func echoedValuesCannotBreakLinesOrDriveTheTerminal() {
        let result = WorkflowLoader.load(
            text: header + "fetch: { from: \"a\\e[2Jb\\r\" }\nname: \"${N}\"\n", path: "x.yaml",
            environment: keyedEnvironment.merging(["N": "x\ny\u{202E}z"]) { $1 })
        let messages = result.diagnostics.map(\.message)
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { !$0.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{202E}" } })
        #expect(messages.contains { $0.contains(#"got 'a\u{1B}[2Jb\r'"#) })
        #expect(messages.contains { $0.contains(#"got 'x\ny\u{202E}z'"#) })
        // A raw escape byte in the file (refused by libyaml) is not replayed by the excerpt either.
        let raw = rendered("cartflow: 1 # \u{1B}[2J\u{202E}\n")
        #expect(raw.contains(" 1 | cartflow: 1 # \u{FFFD}[2J\u{FFFD}"))
        #expect(!raw.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
    }

    /// A minified one-line file renders a window around the column, not the whole line for every diagnostic.
    @Test func longLinesAreShownAsAWindowAroundTheColumn() {
        let title = String(repeating: "long title ", count: 40)
        let text = rendered("{cartflow: 1, collections: {laptops: {id: 101, title: \(title)}}, intervall: 1}\n")
        let lines = text.components(separatedBy: "\n")
        #expect(lines.count == 3)
        // The key is near the end of the line: the window is the line's last 120 characters.
        #expect(lines[1].hasPrefix(" 1 | …") && lines[1].hasSuffix("intervall: 1}"))
        #expect(lines[1].count <= 6 + 122)
        let caret = lines[2].firstIndex(of: "^").map { lines[2].distance(from: lines[2].startIndex, to: $0) }
        let word = lines[1].range(of: "intervall").map {
            lines[1].distance(from: lines[1].startIndex, to: $0.lowerBound)
        }
        #expect(caret != nil && caret == word)
    }
}
