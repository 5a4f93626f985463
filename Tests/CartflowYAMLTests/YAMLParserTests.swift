import CartflowTestSupport
import CartflowYAML
import Testing

private func mark(_ marked: MarkedText, _ name: String) -> SourceMark {
    SourceMark(line: marked[name].line, column: marked[name].column)
}

private func error(_ text: String, limits: YAMLLimits = .default) -> YAMLError? {
    do {
        _ = try YAMLParser.parse(text, limits: limits)
        return nil
    } catch {
        return error
    }
}

@Suite("YAML parser")
struct YAMLParserTests {
    @Test func scalarsKeepTheirTextAndStyle() throws {
        let node = try YAMLParser.parse("a: no\nb: 010\nc: 10:30\nd: 'x'\ne: \"y\"\nf: |\n  lit\ng: >\n  fold\n")
        let values = try #require(node.mapping).map { $0.value.scalar! }
        #expect(
            values == [
                Scalar("no"), Scalar("010"), Scalar("10:30"), Scalar("x", style: .singleQuoted),
                Scalar("y", style: .doubleQuoted), Scalar("lit\n", style: .literal), Scalar("fold\n", style: .folded),
            ])
    }

    @Test func equalityIgnoresRanges() throws {
        let a = try YAMLParser.parse("k: [1, 2]\n")
        let b = try YAMLParser.parse("\n\nk:\n  - 1\n  - 2\n")
        #expect(a == b)
        #expect(a.range != b.range)
        #expect(a.description == "{k: [1, 2]}")
        #expect(a != (try YAMLParser.parse("k: [1, '2']\n")))
        #expect(a != (try YAMLParser.parse("k: [1, 2, 3]\n")))
        #expect(a != (try YAMLParser.parse("k: {1: 2}\n")))
    }

    /// Lists and mappings are views into one table: each collection's children in file order, nested ones
    /// included, whatever order libyaml finished them in.
    @Test func nestedCollectionsKeepTheirChildren() throws {
        let root = try YAMLParser.parse("a: [1, [2, {b: 3, c: [4]}], 5]\nd: {e: f}\ng: h\n")
        #expect(root.description == "{a: [1, [2, {b: 3, c: [4]}], 5], d: {e: f}, g: h}")
        let pairs = try #require(root.mapping)
        #expect(pairs.map { $0.key.scalar?.text } == ["a", "d", "g"])
        #expect(pairs.key(at: 2).scalar == Scalar("g"))
        let list = try #require(pairs[0].value.sequence)
        #expect(list.count == 3)
        #expect(list[1].sequence?[1].mapping?[1].value.sequence?.first?.scalar == Scalar("4"))
        #expect(list[2].scalar == Scalar("5"))
    }

    /// Keys and scalars are read as bytes in the document without building text: an alias reads its anchored
    /// text, a key that is a list or a mapping has no bytes.
    @Test func keysAndScalarsAreReadAsBytes() throws {
        let root = try YAMLParser.parse("&k straße: 1\n*k : 2\n[a]: 3\n'q''s': &v x\ny: *v\n")
        let pairs = try #require(root.mapping)
        let keys = pairs.indices.map { pairs.withKeyBytes(at: $0) { String(decoding: $0, as: UTF8.self) } }
        #expect(keys == ["straße", "straße", nil, "q's", "y"])
        #expect(keys == pairs.map { $0.key.scalar?.text })
        #expect(
            pairs.map { $0.value.withScalarBytes { Array($0) } }
                == pairs.map { $0.value.scalar.map { Array($0.text.utf8) } })
        #expect(pairs.value(at: 4).withScalarBytes { String(decoding: $0, as: UTF8.self) } == "x")
        #expect(root.withScalarBytes { _ in true } == nil)
    }

    @Test func nullIsKnownWithoutItsText() throws {
        let pairs = try #require(try YAMLParser.parse("a:\nb: ~\nc: null\nd: 'null'\ne: nul\nf: [x]\n").mapping)
        #expect(pairs.map(\.value.isNull) == [true, true, true, false, false, false])
        #expect(pairs.map { $0.value.scalar?.isNull ?? false } == [true, true, true, false, false, false])
        #expect(pairs.map(\.value.kindName).prefix(2) == ["nothing (null)", "nothing (null)"])
    }

    @Test func rangesAreOneBasedAndCountCharacters() throws {
        let marked = MarkedText("1️⃣été: 2️⃣[3️⃣x, 4️⃣ñ]\n5️⃣k: 6️⃣\"v\"\n")
        let root = try YAMLParser.parse(marked.text)
        let pairs = try #require(root.mapping)
        #expect(root.start == mark(marked, "1️⃣"))
        #expect(pairs[0].key.start == mark(marked, "1️⃣"))
        #expect(pairs[0].value.start == mark(marked, "2️⃣"))
        #expect(pairs[0].value.sequence?.map(\.start) == [mark(marked, "3️⃣"), mark(marked, "4️⃣")])
        #expect(pairs[1].key.start == mark(marked, "5️⃣"))
        #expect(pairs[1].value.start == mark(marked, "6️⃣"))
    }

    @Test func bomAndCRLFDoNotShiftPositions() throws {
        let root = try YAMLParser.parse("\u{FEFF}a: 1\r\nb: 2\r\n")
        let pairs = try #require(root.mapping)
        #expect(pairs[1].key.start == SourceMark(line: 2, column: 1))
        #expect(pairs[1].value.scalar == Scalar("2"))
    }

    @Test func duplicateKeysAreKeptForTheDecoderToReport() throws {
        let root = try YAMLParser.parse("a: 1\na: 2\n")
        #expect(root.mapping?.count == 2)
    }

    @Test func aliasesCopyTheAnchoredNodeAtTheAliasPlace() throws {
        let marked = MarkedText("base: &b {x: 1}\nuse: 1️⃣*b\n")
        let root = try YAMLParser.parse(marked.text)
        let pairs = try #require(root.mapping)
        #expect(pairs[1].value == pairs[0].value)
        #expect(pairs[1].value.start == mark(marked, "1️⃣"))
    }

    /// Inside an aliased subtree every node keeps the anchor's range (where its text is) and knows where the
    /// alias used it; the outermost alias wins.
    @Test func nodesInsideAnAliasKnowWhereTheyAreUsed() throws {
        let marked = MarkedText("base: &b {x: 2️⃣&i 1, y: 3️⃣*i}\nuse: 1️⃣*b\n")
        let pairs = try #require(try YAMLParser.parse(marked.text).mapping)
        let original = try #require(pairs[0].value.mapping)
        let used = try #require(pairs[1].value.mapping)
        #expect(original.map(\.value.usedAt) == [nil, mark(marked, "3️⃣")])
        #expect(used.flatMap { [$0.key.usedAt, $0.value.usedAt] } == Array(repeating: mark(marked, "1️⃣"), count: 4))
        #expect(used[0].value.start == mark(marked, "2️⃣"))
    }

    /// An alias node stands at the alias; it knows where the text it stands for is written.
    @Test func anAliasKnowsWhereItsTextIs() throws {
        let marked = MarkedText("base: 1️⃣&b {x: 2️⃣&i 1, y: 3️⃣*i}\nuse: 4️⃣*b\n")
        let pairs = try #require(try YAMLParser.parse(marked.text).mapping)
        #expect(pairs[1].value.start == mark(marked, "4️⃣"))
        #expect(pairs[1].value.textRange.start == mark(marked, "1️⃣"))
        let inner = try #require(pairs[0].value.mapping)
        #expect(inner[1].value.start == mark(marked, "3️⃣"))
        #expect(inner[1].value.textRange.start == mark(marked, "2️⃣"))
        // Not an alias: its text is where it is.
        #expect(inner[0].value.textRange == inner[0].value.range)
        #expect(pairs[0].value.textRange == pairs[0].value.range)
    }

    @Test func nineLevelAliasBombIsRefused() {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            text +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        #expect(error(text)?.kind == .aliasExpansion)
    }

    @Test func tenThousandBracketsAreAnErrorNotACrash() {
        let marked = MarkedText("k: " + String(repeating: "[", count: 63) + "1️⃣" + String(repeating: "[", count: 9_937))
        let failure = error(marked.text)
        #expect(failure?.kind == .tooDeep)
        #expect(failure?.mark == mark(marked, "1️⃣"))
    }

    @Test func syntaxErrorsCarryProblemAndContextMarks() throws {
        let failure = try #require(error("a:\n  b: 1\n c: 2\n"))
        #expect(failure.kind == .syntax)
        #expect(failure.mark == SourceMark(line: 3, column: 2))
        #expect(
            failure.context
                == YAMLError.Context(message: "while parsing a block mapping", mark: SourceMark(line: 1, column: 1)))
    }

    @Test func oneDocumentOnly() {
        #expect(error("a: 1\n---\nb: 2\n")?.kind == .multipleDocuments)
        #expect(error("a: 1\n...\n---\nb: 2\n")?.kind == .multipleDocuments)
        #expect(error("---\na: 1\n...\n") == nil)
    }

    @Test func emptyInputs() {
        for text in ["", "\n\n", "# c\n", "---\n", "--- ~\n"] {
            #expect(error(text)?.kind == .empty, "\(text.debugDescription)")
        }
    }

    @Test func tabsInIndentation() {
        let marked = MarkedText("a:\n  b: 1\n1️⃣\tc: 2\n")
        let failure = error(marked.text)
        #expect(failure?.kind == .tabIndentation)
        #expect(failure?.mark == mark(marked, "1️⃣"))
        // A tab inside a flow collection or a literal block is content, not indentation.
        #expect(error("a: [1,\n\t2]\n") == nil)
    }

    @Test func invalidUTF8ReportsItsPlace() {
        let failure: YAMLError?
        do {
            _ = try YAMLParser.parse(Array("a: 1\nb: x".utf8) + [0xFF] + Array("\n".utf8))
            failure = nil
        } catch {
            failure = error
        }
        #expect(failure?.kind == .invalidUTF8)
        #expect(failure?.mark == SourceMark(line: 2, column: 5))
        // Overlong encodings and surrogates are not UTF-8 either.
        for bytes: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(throws: YAMLError.self) { try YAMLParser.parse(Array("a: ".utf8) + bytes) }
        }
    }

    /// libyaml breaks lines at LF, CRLF, CR, NEL, LS and PS; marks the parser computes itself must agree.
    @Test func invalidUTF8LineCountsEveryLineBreakLibyamlCounts() {
        for (breakText, name) in [("\r", "CR"), ("\r\n", "CRLF"), ("\u{85}", "NEL"), ("\u{2028}", "LS")] {
            let text = ["a: 1", "b: 2", "c: x"].joined(separator: breakText)
            let failure: YAMLError?
            do {
                _ = try YAMLParser.parse(Array(text.utf8) + [0xFF])
                failure = nil
            } catch {
                failure = error
            }
            #expect(failure?.kind == .invalidUTF8, "\(name)")
            #expect(failure?.mark == SourceMark(line: 3, column: 5), "\(name)")
            #expect(failure?.message.contains("at line 3") == true, "\(name)")
        }
    }

    @Test func tabsAreExplainedInCROnlyFilesToo() {
        let failure = error("a:\r  b: 1\r\tc: 2\r")
        #expect(failure?.kind == .tabIndentation)
        #expect(failure?.mark == SourceMark(line: 3, column: 1))
    }

    @Test func aTabAfterADashOrQuestionMarkIsExplained() {
        for (text, mark) in [
            ("a:\n-\tb\n", SourceMark(line: 2, column: 2)), ("a:\n  -\tb\n", SourceMark(line: 2, column: 4)),
            ("?\ta\n: 1\n", SourceMark(line: 1, column: 2)),
        ] {
            let failure = error(text)
            #expect(failure?.kind == .tabIndentation, "\(text.debugDescription)")
            #expect(failure?.mark == mark, "\(text.debugDescription)")
            #expect(failure?.message.contains("tab") == true)
        }
    }

    @Test func whitespaceOnlyInputsAreEmptyWhateverTheWhitespace() {
        for text in ["\t", "\t\n", " \t \n\n", "\r\n\t\r\n", "\u{FEFF}\t\n"] {
            let failure = error(text)
            #expect(failure?.kind == .empty, "\(text.debugDescription)")
            #expect(failure?.message == "the file is empty", "\(text.debugDescription)")
        }
    }

    @Test func utf16AndUTF32FilesAreNamedAsSuch() {
        let text = "a: 1\n"
        let utf16LE: [UInt8] = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let utf16BE: [UInt8] = text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let utf32LE: [UInt8] = [0xFF, 0xFE, 0, 0] + text.unicodeScalars.flatMap { [UInt8($0.value), 0, 0, 0] }
        for bytes in [utf16LE, utf16BE, utf32LE] {
            let failure: YAMLError?
            do {
                _ = try YAMLParser.parse(bytes)
                failure = nil
            } catch {
                failure = error
            }
            #expect(failure?.kind == .invalidUTF8)
            #expect(failure?.message.contains("UTF-16") == true || failure?.message.contains("UTF-32") == true)
            #expect(failure?.mark == SourceMark(line: 1, column: 1))
        }
    }

    @Test func invalidUTF8IsFoundAtEveryOffset() {
        // The scan skips ASCII eight bytes at a time; the bad byte must be placed exactly wherever it falls,
        // with and without a byte order mark (which shifts the scanned slice by three bytes).
        for bom in [false, true] {
            for length in 0..<20 {
                let ascii = Array(repeating: UInt8(ascii: "a"), count: length)
                var bytes = (bom ? [0xEF, 0xBB, 0xBF] : []) + ascii + [0xFF] + ascii
                var failure: YAMLError?
                do { _ = try YAMLParser.parse(bytes) } catch { failure = error }
                #expect(failure?.kind == .invalidUTF8)
                #expect(failure?.mark == SourceMark(line: 1, column: length + 1))
                bytes = (bom ? [0xEF, 0xBB, 0xBF] : []) + ascii + Array("é: 1".utf8)
                #expect(throws: Never.self) { try YAMLParser.parse(bytes) }
            }
        }
    }

    @Test func undefinedAndSelfReferencingAliases() {
        #expect(error("a: *x\n")?.kind == .undefinedAlias)
        #expect(error("a: &x [*x]\n")?.kind == .undefinedAlias)
    }

    @Test func tagsAreRefused() {
        #expect(error("a: !!int 10\n")?.message.contains("'!!int'") == true)
        #expect(error("a: !custom [1]\n")?.kind == .tag)
    }

    @Test func sizeLimit() {
        #expect(error("a: 123456789\n", limits: YAMLLimits(maxBytes: 8))?.kind == .tooLarge)
    }
}
