/// A JSON text that could not be parsed, with the place of the problem (1-based line and column;
/// the column counts bytes).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// The byte offset of the problem from the start of the input.
    public let offset: Int
    public let line: Int
    public let column: Int

    public init(message: String, offset: Int, line: Int, column: Int) {
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// One step of a path into a JSON document.
public enum JSONPathComponent: Sendable, Hashable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case .key(let key): key
        case .index(let index): "[\(index)]"
        }
    }
}

/// A string the parser had to repair instead of rejecting the whole document: where it is and why.
public struct JSONRepair: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A `\uD800`-style escape without its other half (or a lone low half), replaced by U+FFFD.
        case loneSurrogate
        /// Bytes that are not UTF-8, replaced by U+FFFD.
        case invalidUTF8
    }

    public var kind: Kind
    /// Where the repaired string is, from the document root. When the repaired string is an object key,
    /// the last component is that key (as repaired).
    public var path: [JSONPathComponent]

    public init(kind: Kind, path: [JSONPathComponent]) {
        self.kind = kind
        self.path = path
    }
}

/// A parsed JSON text: the value, and every string that was repaired on the way.
public struct JSONDocument: Sendable, Hashable {
    public var value: JSONValue
    public var repairs: [JSONRepair]
}

/// A strict RFC 8259 parser working on bytes, that keeps numbers as text and keys in order.
///
/// Two deliberate departures from "reject anything odd": a lone surrogate escape or a byte sequence
/// that is not UTF-8 inside a string is replaced by U+FFFD and listed in `JSONDocument.repairs` (one
/// broken product title must not lose a whole page), and a leading UTF-8 byte order mark is skipped.
/// Nesting deeper than `maxDepth` is an error, so hostile input cannot exhaust the stack.
public enum JSONParser {
    /// The default nesting limit; real records are a few levels deep.
    public static let defaultMaxDepth = 256

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSONDocument
    {
        var parser = ByteParser(bytes.bindMemory(to: UInt8.self), maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSONDocument
    {
        do {
            return try bytes.withUnsafeBytes { try parse($0, maxDepth: maxDepth) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONDocument {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// Checks that the bytes are a JSON text `parse` would accept, without building any value: the same grammar,
    /// limits and repairs (a string `parse` would repair passes), in memory that does not grow with the input —
    /// a 60 MiB array of numbers costs no more than a small one. For a page or an archive entry that is only to
    /// be accepted or refused.
    public static func validate(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth)
        throws(JSONParseError)
    {
        var parser = ByteParser(bytes.bindMemory(to: UInt8.self), maxDepth: maxDepth, buildsValues: false)
        _ = try parser.parseDocument()
    }
}

private struct ByteParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let end: Int
    let maxDepth: Int
    /// False for `validate`: the grammar is checked and every value is `.null`, so nothing is allocated per value.
    let buildsValues: Bool
    var position = 0
    var repairs: [JSONRepair] = []
    /// Reused for strings with escapes, so they cost no allocation beyond the String itself.
    var scratch: [UInt8] = []
    /// The interned keys (see `parseKey`): slot → length (-1 = empty), bytes as two words, the String.
    static let keyCacheSize = 1024
    var keyLengths = [Int](repeating: -1, count: keyCacheSize)
    var keyLow = [UInt64](repeating: 0, count: keyCacheSize)
    var keyHigh = [UInt64](repeating: 0, count: keyCacheSize)
    var keyStrings = [String](repeating: "", count: keyCacheSize)
    /// The member count of the last object at each depth, to size the next one's storage.
    var memberHints = [Int](repeating: 0, count: 64)

    init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, buildsValues: Bool = true) {
        self.bytes = bytes
        self.end = bytes.count
        self.maxDepth = maxDepth
        self.buildsValues = buildsValues
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONDocument {
        if let encoding = wideEncoding() {
            throw error("the input is \(encoding), not UTF-8 (JSON text is UTF-8)", at: 0)
        }
        if end >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { position = 3 }
        skipWhitespace()
        guard position < end else { throw error("the input is empty", at: position) }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if position < end { throw error("unexpected \(describeByte(at: position)) after the JSON value", at: position) }
        // Paths were collected innermost first while unwinding.
        for index in repairs.indices { repairs[index].path.reverse() }
        return JSONDocument(value: value, repairs: repairs)
    }

    /// UTF-16 or UTF-32, by a byte order mark or by the zero bytes an ASCII start has in them; nil otherwise.
    func wideEncoding() -> String? {
        let head = Array(bytes.prefix(4))
        if head.starts(with: [0xFF, 0xFE, 0, 0]) || head.starts(with: [0, 0, 0xFE, 0xFF]) { return "UTF-32" }
        if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) { return "UTF-16" }
        if head.count == 4, head.filter({ $0 == 0 }).count == 3 { return "UTF-32" }
        if head.count >= 2, (head[0] == 0) != (head[1] == 0) { return "UTF-16" }
        return nil
    }

    // MARK: Values

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard position < end else { throw error("unexpected end of input, expected a value", at: position) }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            guard buildsValues else {
                try skipString()
                return .null
            }
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            return try parseArray(depth: depth + 1)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            try scanNumber()
            guard buildsValues else { return .null }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            throw error("unexpected \(describeByte(at: position)), expected a value", at: position)
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error("nesting is deeper than \(maxDepth) levels", at: position) }
        position += 1
        var members: [JSONMember] = []
        let hintIndex = min(depth, memberHints.count - 1)
        members.reserveCapacity(memberHints[hintIndex])
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(JSONObject(members))
        }
        while true {
            guard position < end, bytes[position] == UInt8(ascii: "\"") else {
                throw error(unexpected("a string key"), at: position)
            }
            // Validating only (`buildsValues` false), keys are skipped and nothing is kept.
            var key = ""
            if buildsValues {
                let keyMark = repairs.count
                key = try parseKey()
                if repairs.count > keyMark {
                    for index in keyMark..<repairs.count { repairs[index].path.append(.key(key)) }
                }
            } else {
                try skipString()
            }
            skipWhitespace()
            guard position < end, bytes[position] == UInt8(ascii: ":") else {
                throw error(unexpected("':' after the key"), at: position)
            }
            position += 1
            skipWhitespace()
            let valueMark = repairs.count
            let value = try parseValue(depth: depth)
            if buildsValues {
                if repairs.count > valueMark {
                    for index in valueMark..<repairs.count { repairs[index].path.append(.key(key)) }
                }
                members.append(JSONMember(key: key, value: value))
            }
            skipWhitespace()
            guard position < end else { throw error("unexpected end of input in an object", at: position) }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "}") {
                guard buildsValues else { return .null }
                memberHints[hintIndex] = members.count
                return .object(JSONObject(members))
            }
            throw error(unexpected("',' or '}'", at: position - 1), at: position - 1)
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error("nesting is deeper than \(maxDepth) levels", at: position) }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            let mark = repairs.count
            let value = try parseValue(depth: depth)
            if repairs.count > mark {
                for index in mark..<repairs.count { repairs[index].path.append(.index(elements.count)) }
            }
            if buildsValues { elements.append(value) }
            skipWhitespace()
            guard position < end else { throw error("unexpected end of input in an array", at: position) }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "]") { return .array(elements) }
            throw error(unexpected("',' or ']'", at: position - 1), at: position - 1)
        }
    }

    /// Checks the number grammar (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) and moves past it.
    mutating func scanNumber() throws(JSONParseError) {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < end, isDigit(bytes[position]) else { throw error("a number needs digits", at: position) }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < end && isDigit(bytes[position]) {
                throw error("a number cannot have a leading zero", at: start)
            }
        } else {
            while position < end && isDigit(bytes[position]) { position += 1 }
        }
        if position < end && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < end, isDigit(bytes[position]) else {
                throw error("a number needs digits after '.'", at: position)
            }
            while position < end && isDigit(bytes[position]) { position += 1 }
        }
        if position < end && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < end && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < end, isDigit(bytes[position]) else {
                throw error("a number needs digits in its exponent", at: position)
            }
            while position < end && isDigit(bytes[position]) { position += 1 }
        }
    }

    /// Moves past a string starting at its opening quote, checking it as `parseString` does (control characters,
    /// escapes) without decoding it. Bytes that are not UTF-8 and lone surrogates pass: `parseString` repairs them.
    mutating func skipString() throws(JSONParseError) {
        let start = position + 1
        position = start
        while true {
            position += ByteScan.plainJSONPrefix(bytes, from: position)
            guard position < end else { throw error("unterminated string", at: start - 1) }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return
            }
            if byte < 0x20 { throw controlCharacterError(byte) }
            // A backslash: one escape.
            guard position + 1 < end else { throw error("unterminated string", at: start - 1) }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                _ = try readHex4()
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in a string", at: position - 2)
            }
        }
    }

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes, which is most scraped strings; scanned a word at a time.
        position += ByteScan.plainJSONPrefix(bytes, from: start)
        guard position < end else { throw error("unterminated string", at: start - 1) }
        let byte = bytes[position]
        if byte == UInt8(ascii: "\"") {
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
            position += 1
            return makeString(slice)
        }
        if byte < 0x20 { throw controlCharacterError(byte) }
        return try parseEscapedString(from: start)
    }

    /// Parses an object key. Records repeat the same keys, so short keys are interned: a key whose bytes
    /// match the cached one in its slot reuses that String, skipping validation and allocation.
    mutating func parseKey() throws(JSONParseError) -> String {
        let quote = position
        let start = position + 1
        let length = ByteScan.plainJSONPrefix(bytes, from: start)
        guard length <= 16, start + length < end, bytes[start + length] == UInt8(ascii: "\"") else {
            return try parseString()
        }
        var low: UInt64 = 0
        var high: UInt64 = 0
        if start + 16 <= end, let base = bytes.baseAddress {
            // Two unaligned loads, then keep only the key's bytes (little-endian: the low ones).
            low = UInt64(littleEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
            high = UInt64(littleEndian: UnsafeRawPointer(base + start + 8).loadUnaligned(as: UInt64.self))
            if length < 8 {
                low &= (UInt64(1) << (8 * UInt64(length))) &- 1
                high = 0
            } else if length < 16 {
                high &= (UInt64(1) << (8 * UInt64(length - 8))) &- 1
            }
        } else {
            for offset in 0..<length {
                let byte = UInt64(bytes[start + offset])
                if offset < 8 { low |= byte << (8 * UInt64(offset)) } else { high |= byte << (8 * UInt64(offset - 8)) }
            }
        }
        let mixed = (low &* 0x9E37_79B9_7F4A_7C15) ^ (high &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(length)
        let slot = Int(truncatingIfNeeded: (mixed >> 40) & UInt64(Self.keyCacheSize - 1))
        if keyLengths[slot] == length && keyLow[slot] == low && keyHigh[slot] == high {
            position = start + length + 1
            return keyStrings[slot]
        }
        position = quote
        let repairsBefore = repairs.count
        let key = try parseString()
        // A repaired key must be reported every time it occurs, so it is not cached.
        if repairs.count == repairsBefore {
            keyLengths[slot] = length
            keyLow[slot] = low
            keyHigh[slot] = high
            keyStrings[slot] = key
        }
        return key
    }

    /// The slow path: the string has escapes; decode into `scratch`.
    mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        var repairedSurrogate = false
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                if repairedSurrogate { repairs.append(JSONRepair(kind: .loneSurrogate, path: [])) }
                return scratch.withUnsafeBufferPointer { makeString($0) }
            }
            if byte < 0x20 { throw controlCharacterError(byte) }
            if byte != UInt8(ascii: "\\") {
                scratch.append(byte)
                position += 1
                continue
            }
            guard position + 1 < end else { break }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "\""): scratch.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): scratch.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                let unit = try readHex4()
                var scalar: UInt32 = 0xFFFD
                switch unit {
                case 0xD800...0xDBFF:
                    // A high surrogate must be followed by an escaped low surrogate.
                    if position + 1 < end && bytes[position] == UInt8(ascii: "\\")
                        && bytes[position + 1] == UInt8(ascii: "u")
                    {
                        let save = position
                        position += 2
                        let low = try readHex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        } else {
                            // Not a pair: replace the high half, and read the next escape on its own.
                            position = save
                            repairedSurrogate = true
                        }
                    } else {
                        repairedSurrogate = true
                    }
                case 0xDC00...0xDFFF:
                    repairedSurrogate = true
                default:
                    scalar = UInt32(unit)
                }
                appendUTF8(scalar)
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in a string", at: position - 2)
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    /// Makes a String from bytes that may not be UTF-8, recording a repair if they are not.
    /// (`String(validating:)` would say so directly, but it is generic and unspecialized here, which
    /// costs a metadata lookup per string; decoding and comparing is faster.)
    mutating func makeString(_ slice: UnsafeBufferPointer<UInt8>) -> String {
        var text = String(decoding: slice, as: UTF8.self)
        if ByteScan.isASCII(slice) { return text }
        let unchanged = text.withUTF8 { decoded in
            decoded.count == slice.count && (decoded.count == 0 || memoryEqual(decoded, slice))
        }
        if !unchanged { repairs.append(JSONRepair(kind: .invalidUTF8, path: [])) }
        return text
    }

    private func memoryEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in 0..<a.count where a[index] != b[index] { return false }
        return true
    }

    mutating func readHex4() throws(JSONParseError) -> UInt16 {
        guard position + 4 <= end else { throw error("a \\u escape needs four hex digits", at: position - 2) }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits", at: position - 2)
            }
            value = value << 4 | UInt16(digit)
        }
        position += 4
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        guard position + count <= end else {
            throw error("unexpected end of input, expected '\(literal)'", at: position)
        }
        for offset in 0..<count where bytes[position + offset] != start[offset] {
            throw error("unexpected \(describeByte(at: position)), expected a value", at: position)
        }
        position += count
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    // MARK: Errors

    func unexpected(_ expected: String, at offset: Int? = nil) -> String {
        let offset = offset ?? position
        if offset >= end { return "unexpected end of input, expected \(expected)" }
        return "unexpected \(describeByte(at: offset)), expected \(expected)"
    }

    func describeByte(at offset: Int) -> String {
        guard offset < end else { return "end of input" }
        let byte = bytes[offset]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    func controlCharacterError(_ byte: UInt8) -> JSONParseError {
        let hex = String(byte, radix: 16, uppercase: true)
        return error(
            "control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) must be escaped in a string",
            at: position)
    }

    func error(_ message: String, at offset: Int) -> JSONParseError {
        var line = 1
        var lineStart = 0
        let limit = min(offset, end)
        var index = 0
        while index < limit {
            if bytes[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return JSONParseError(message: message, offset: offset, line: line, column: offset - lineStart + 1)
    }
}
