import CartflowCore
import Foundation
import Testing

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text).value }

    @Test func numbersKeepTheirSourceText() throws {
        let value = try parse(#"[0.30000000000000004, 1e21, 100.0, -5, 0, -0.0, 1E+2, 123456789012345678901234567890]"#)
        #expect(
            value
                == .array([
                    .number("0.30000000000000004"), .number("1e21"), .number("100.0"), .number("-5"), .number("0"),
                    .number("-0.0"), .number("1E+2"), .number("123456789012345678901234567890"),
                ]))
    }

    @Test func objectsKeepKeyOrderAndDuplicates() throws {
        let value = try parse(#"{"b": 1, "a": {"z": true, "y": null}, "b": "again"}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "b"])
        #expect(object["b"] == .number("1"))
        #expect(object.duplicateKeys == ["b"])
        #expect(object["a"]?.objectValue?.keys == ["z", "y"])
    }

    /// RFC 8259 text is UTF-8; a UTF-16 or UTF-32 page is named as such instead of "unexpected byte 0xFF".
    @Test func utf16AndUTF32InputsAreNamed() {
        let text = #"[{"a":1}]"#
        let inputs: [[UInt8]] = [
            [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] },
            text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] },
            text.unicodeScalars.flatMap { [UInt8($0.value), 0, 0, 0] },
        ]
        for bytes in inputs {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
            do {
                _ = try JSONParser.parse(bytes)
            } catch {
                #expect(error.message.contains("UTF-16") || error.message.contains("UTF-32"), "\(error)")
                #expect(error.line == 1 && error.column == 1)
            }
        }
    }

    @Test func decodesEscapesAndUnicode() throws {
        let value = try parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC\ud83d\ude00", "héllo 😀"]"#)
        #expect(value == .array([.string("a\"b\\c/d\u{8}\u{C}\n\r\t"), .string("é€😀"), .string("héllo 😀")]))
    }

    @Test func loneSurrogatesAreReplacedAndReported() throws {
        let document = try JSONParser.parse(#"{"items": [{"title": "bad \ud800 here"}, {"ok": "\udc00x\ud83dy"}]}"#)
        let expected: JSONValue = .object(
            JSONObject([
                "items": .array([
                    .object(JSONObject(["title": .string("bad \u{FFFD} here")])),
                    .object(JSONObject(["ok": .string("\u{FFFD}x\u{FFFD}y")])),
                ])
            ]))
        #expect(document.value == expected)
        #expect(
            document.repairs == [
                JSONRepair(kind: .loneSurrogate, path: [.key("items"), .index(0), .key("title")]),
                JSONRepair(kind: .loneSurrogate, path: [.key("items"), .index(1), .key("ok")]),
            ])
    }

    @Test func aHighSurrogateFollowedByANonLowEscapeKeepsTheSecondEscape() throws {
        let document = try JSONParser.parse(#"["\ud800\u0041"]"#)
        #expect(document.value == .array([.string("\u{FFFD}A")]))
        #expect(document.repairs.count == 1)
    }

    @Test func invalidUTF8BytesAreReplacedAndReported() throws {
        // A lone continuation byte inside a key and a truncated sequence inside a string.
        let bytes = Array(#"[{"k"#.utf8) + [0x80] + Array(#"": 1}, "a"#.utf8) + [0xE2, 0x82] + Array(#"b"]"#.utf8)
        let document = try JSONParser.parse(bytes)
        #expect(document.value == .array([.object(JSONObject(["k\u{FFFD}": .number("1")])), .string("a\u{FFFD}b")]))
        #expect(
            document.repairs == [
                JSONRepair(kind: .invalidUTF8, path: [.index(0), .key("k\u{FFFD}")]),
                JSONRepair(kind: .invalidUTF8, path: [.index(1)]),
            ])
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        #expect(error?.message == "nesting is deeper than 256 levels")
        // Exactly at the limit is fine.
        let ok = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        _ = try JSONParser.parse(ok)
        let objects = String(repeating: #"{"a":"#, count: 300) + "1" + String(repeating: "}", count: 300)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(objects) }
    }

    @Test func skipsAByteOrderMark() throws {
        let document = try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array(" [1]".utf8))
        #expect(document.value == .array([.number("1")]))
    }

    @Test(arguments: [
        ("", "line 1, column 1: the input is empty"),
        ("[1,]", "line 1, column 4: unexpected ']', expected a value"),
        ("{\"a\" 1}", "line 1, column 6: unexpected '1', expected ':' after the key"),
        ("[1 2]", "line 1, column 4: unexpected '2', expected ',' or ']'"),
        ("[01]", "line 1, column 2: a number cannot have a leading zero"),
        ("[1.]", "line 1, column 4: a number needs digits after '.'"),
        ("[1e]", "line 1, column 4: a number needs digits in its exponent"),
        ("[-]", "line 1, column 3: a number needs digits"),
        ("\n\n  [\"abc", "line 3, column 4: unterminated string"),
        ("[\"a\nb\"]", "line 1, column 4: control character U+000A must be escaped in a string"),
        ("[\"\\x\"]", "line 1, column 3: invalid escape '\\x' in a string"),
        ("[\"\\u12\"]", "line 1, column 3: a \\u escape needs four hex digits"),
        ("[tru]", "line 1, column 2: unexpected 't', expected a value"),
        ("[1] x", "line 1, column 5: unexpected 'x' after the JSON value"),
        ("{\"a\":1", "line 1, column 7: unexpected end of input in an object"),
        ("{1:2}", "line 1, column 2: unexpected '1', expected a string key"),
        ("NaN", "line 1, column 1: unexpected 'N', expected a value"),
    ])
    func rejectsInvalidJSONWithAPlace(input: String, message: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
        #expect(error?.description == message)
        // Validation refuses it the same way, at the same place.
        let refusal = #expect(throws: JSONParseError.self) { try validate(Array(input.utf8)) }
        #expect(refusal?.description == message)
    }

    private func validate(_ bytes: [UInt8]) throws(JSONParseError) {
        do {
            try bytes.withUnsafeBytes { try JSONParser.validate($0) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Validation accepts exactly what parsing accepts, repaired strings, a byte order mark and the depth limit
    /// included, so a page validated at download can always be exported.
    @Test(arguments: [
        #"[0.30000000000000004, 1e21, -0.0, 1E+2, {"b": 1, "a": {"z": true, "y": null}, "b": "again"}]"#,
        #"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC\ud83d\ude00", "héllo 😀", "bad \ud800 here", "\udc00x"]"#,
        #"{"a\ud800": 1, "k": [[], {}, "", 0]}"#, "  \n\t[1] \r\n", "true", "null", "\"s\"", "-12.5e-3",
        String(repeating: "[", count: 256) + String(repeating: "]", count: 256),
    ])
    func validationAcceptsWhatParsingAccepts(input: String) throws {
        _ = try JSONParser.parse(input)
        try validate(Array(input.utf8))
        try validate([0xEF, 0xBB, 0xBF] + Array(input.utf8))
        // Bytes that are not UTF-8 are repaired by the parser, so they pass validation too.
        try validate(Array(#"[""#.utf8) + [0xFF, 0xC3] + Array(#""]"#.utf8))
    }

    @Test func validationKeepsTheLimitsOfParsing() {
        let deep = String(repeating: "[", count: 257) + String(repeating: "]", count: 257)
        let error = #expect(throws: JSONParseError.self) { try validate(Array(deep.utf8)) }
        #expect(error?.message == "nesting is deeper than 256 levels")
        let wide: [UInt8] = [0xFF, 0xFE] + #"[1]"#.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(throws: JSONParseError.self) { try validate(wide) }
    }

    /// Validation builds no values: a 60 MiB array of numbers (30 million elements, which parsing turns into
    /// hundreds of megabytes) adds almost nothing to the process's peak memory. The peak is reset (Linux's
    /// `/proc/self/clear_refs`) after the input is made, so only what validation allocates counts.
    @Test func validatingAHugeArrayTakesNoMemory() throws {
        // `[1,1,…,1]`, 60 MiB.
        let chunk = Array(String(repeating: "1,", count: 1 << 20).utf8)
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(60 << 20 + 1)
        for _ in 0..<30 { bytes += chunk }
        bytes[bytes.count - 1] = UInt8(ascii: "]")
        guard let before = PeakMemory.resetAndRead() else { return }  // no /proc: nothing to measure
        try validate(bytes)
        let grown = (PeakMemory.read() ?? before) - before
        // Parsing it raises the peak by well over 500 MiB; the margin is for tests running at the same time.
        #expect(grown < 256 << 20, "validation raised the peak by \(grown >> 20) MiB")
    }
}

/// The process's peak resident memory, from /proc/self/status (`VmHWM`), and its reset.
enum PeakMemory {
    static func read() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes << 10
    }

    /// Resets the peak to the current resident memory (writing 5 to /proc/self/clear_refs) and returns it.
    static func resetAndRead() -> Int? {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return nil }
        handle.write(Data("5".utf8))
        try? handle.close()
        return read()
    }
}

@Suite struct JSONSerializerTests {
    @Test func roundTripsExactlyWithoutWhitespace() throws {
        let source =
            #"{"b":1e21,"a":[0.30000000000000004,100.0,-5,true,false,null,{}],"s":"q\"\\\n\t\u0001 é/😀","b":[]}"#
        let value = try JSONParser.parse(source).value
        #expect(JSONSerializer.serialize(value) == source)
    }

    @Test func dropsInsignificantWhitespace() throws {
        let value = try JSONParser.parse("{ \"a\" : [ 1 , 2 ] ,\n \"b\" : { } }").value
        #expect(JSONSerializer.serialize(value) == #"{"a":[1,2],"b":{}}"#)
    }

    @Test func escapesEveryControlCharacter() throws {
        let text = String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) })
        let serialized = JSONSerializer.serialize(.string(text))
        #expect(serialized.utf8.allSatisfy { $0 >= 0x20 })
        #expect(try JSONParser.parse(serialized).value == .string(text))
    }
}

@Suite struct JSONFastPathTests {
    /// The word-at-a-time scans must find a special byte at every offset of a word.
    @Test func escapesAtEveryOffsetAreFound() throws {
        for length in 0..<20 {
            for special in ["\"", "\\", "\n", "\u{1}"] {
                for offset in 0...length {
                    var chars = Array(repeating: Character("a"), count: length)
                    chars.insert(Character(special), at: offset)
                    let text = String(chars)
                    let serialized = JSONSerializer.serialize(.string(text))
                    #expect(try JSONParser.parse(serialized).value == .string(text), "\(length) \(offset)")
                }
            }
        }
    }

    /// Interned keys must never hand back a different key with the same cache slot.
    @Test func internedKeysStayExact() throws {
        var keys: [String] = [""]
        for length in 1...20 {
            keys.append(String(repeating: "k", count: length))
            keys.append(String(repeating: "k", count: length - 1) + "j")
            keys.append("é" + String(repeating: "x", count: length))
        }
        for index in 0..<2_000 { keys.append("key\(index)") }
        let object = JSONObject(keys.enumerated().map { JSONMember(key: $1, value: .number(String($0))) })
        let text = JSONSerializer.serialize(.array(Array(repeating: .object(object), count: 3)))
        let parsed = try JSONParser.parse(text).value
        #expect(parsed == .array(Array(repeating: .object(object), count: 3)))
    }

    /// A repaired key is reported every time it occurs, even though keys are cached.
    @Test func repairedKeysAreReportedEveryTime() throws {
        let document = try JSONParser.parse(#"[{"a\ud800": 1}, {"a\ud800": 2}]"#)
        #expect(document.repairs.count == 2)
        // Raw invalid bytes take the interning path.
        let key = Array(#"{"k"#.utf8) + [0xFF] + Array(#"": 1}"#.utf8)
        let raw = try JSONParser.parse(Array("[".utf8) + key + Array(",".utf8) + key + Array("]".utf8))
        #expect(raw.repairs.count == 2)
        #expect(raw.value.arrayValue?.first?.objectValue?.keys == ["k\u{FFFD}"])
    }
}
