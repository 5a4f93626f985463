/// Byte-level checks done before and after libyaml: UTF-8 validity, positions of bytes, tabs in indentation.
enum TextScan {
    /// The offset (from the slice's start) of the first byte that is not part of a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        let end = bytes.endIndex
        while index < end {
            // Workflow files are nearly all ASCII: skip eight ASCII bytes at a time.
            while index + 8 <= end {
                let word = bytes.withUnsafeBytes {
                    $0.loadUnaligned(fromByteOffset: index - bytes.startIndex, as: UInt64.self)
                }
                guard word & 0x8080_8080_8080_8080 == 0 else { break }
                index += 8
            }
            guard index < end else { break }
            let byte = bytes[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var minimum: UInt32
            switch byte {
            case 0xC2...0xDF: (length, minimum) = (2, 0x80)
            case 0xE0...0xEF: (length, minimum) = (3, 0x800)
            case 0xF0...0xF4: (length, minimum) = (4, 0x10000)
            default: return index - bytes.startIndex
            }
            guard index + length <= end else { return index - bytes.startIndex }
            var scalar = UInt32(byte) & (0xFF >> (length + 1))
            for next in (index + 1)..<(index + length) {
                let continuation = bytes[next]
                guard continuation & 0xC0 == 0x80 else { return index - bytes.startIndex }
                scalar = scalar << 6 | UInt32(continuation & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) {
                return index - bytes.startIndex
            }
            minimum = 0
            index += length
        }
        return nil
    }

    /// The length in bytes of the line break starting at `index` (0 if none). These are libyaml's breaks — LF,
    /// CRLF, CR, NEL (U+0085), LS (U+2028) and PS (U+2029) — so marks computed here agree with libyaml's and with
    /// the lines `Diagnostic.render` shows.
    static func lineBreakLength(_ bytes: [UInt8], at index: Int) -> Int {
        let byte = bytes[index]
        let next = index + 1 < bytes.count ? bytes[index + 1] : 0
        switch byte {
        case 0x0A: return 1
        case 0x0D: return next == 0x0A ? 2 : 1
        case 0xC2: return next == 0x85 ? 2 : 0
        case 0xE2:
            guard next == 0x80, index + 2 < bytes.count else { return 0 }
            return bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9 ? 3 : 0
        default: return 0
        }
    }

    /// The 1-based line and character column of the byte at `offset` (from the start of `bytes`).
    static func mark<Bytes: Collection<UInt8>>(ofByte offset: Int, in bytes: Bytes) -> SourceMark {
        let bytes = Array(bytes.prefix(offset))
        var line = 1
        var column = 1
        var index = 0
        while index < bytes.count {
            let breakLength = lineBreakLength(bytes, at: index)
            if breakLength > 0 {
                line += 1
                column = 1
                index += breakLength
                continue
            }
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return SourceMark(line: line, column: column)
    }

    /// The byte offset of a mark (the start of its line plus its characters); nil when the mark is past the end.
    static func offset(of mark: SourceMark, in bytes: [UInt8]) -> Int? {
        var line = 1
        var index = 0
        while line < mark.line {
            guard index < bytes.count else { return nil }
            let breakLength = lineBreakLength(bytes, at: index)
            if breakLength > 0 {
                line += 1
                index += breakLength
            } else {
                index += 1
            }
        }
        var column = 1
        while column < mark.column, index < bytes.count {
            index += 1
            while index < bytes.count, bytes[index] & 0xC0 == 0x80 { index += 1 }
            column += 1
        }
        return index < bytes.count ? index : nil
    }

    /// Whether the input holds nothing but spaces, tabs and line breaks (libyaml refuses a lone tab, but such a
    /// file is simply empty).
    static func isBlank(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }

    /// The encoding a file is in when it is UTF-16 or UTF-32 rather than UTF-8: by its byte order mark, or by the
    /// zero bytes that ASCII text has in those encodings. Nil for anything else.
    static func wideEncoding(_ bytes: ArraySlice<UInt8>) -> String? {
        let head = Array(bytes.prefix(4))
        if head.starts(with: [0xFF, 0xFE, 0, 0]) || head.starts(with: [0, 0, 0xFE, 0xFF]) { return "UTF-32" }
        if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) { return "UTF-16" }
        // Text starts with an ASCII character in practice: in UTF-16 one of its first two bytes is zero,
        // in UTF-32 three of the first four.
        if head.count == 4, head.filter({ $0 == 0 }).count == 3 { return "UTF-32" }
        if head.count >= 2, (head[0] == 0) != (head[1] == 0) { return "UTF-16" }
        return nil
    }

    /// Replaces a syntax error caused by a tab with a message that says so. libyaml reports a tab in
    /// indentation as "found character that cannot start any token" or a bad indent, often a line late, so the
    /// nearest tab-indented line at or before the problem (and not before the context) is the one to blame; a tab
    /// right at the problem (after `-` or `?`, where YAML needs a space) is blamed too.
    static func explainTabs(_ error: YAMLError, in slice: ArraySlice<UInt8>) -> YAMLError {
        guard error.kind == .syntax else { return error }
        let bytes = Array(slice)
        let context = YAMLError.Context(
            message: "libyaml: \(error.message.replacingPrefix("invalid YAML: "))", mark: error.mark)
        let lowest = min(error.context?.mark.line ?? error.mark.line, error.mark.line - 1)
        var line = 1
        var atLineStart = true
        var column = 1
        var found: SourceMark?
        var index = 0
        while index < bytes.count, line <= error.mark.line {
            let breakLength = lineBreakLength(bytes, at: index)
            if breakLength > 0 {
                line += 1
                atLineStart = true
                column = 1
                index += breakLength
                continue
            }
            let byte = bytes[index]
            if atLineStart {
                if byte == 0x09 {
                    if line >= lowest { found = SourceMark(line: line, column: column) }
                    atLineStart = false
                } else if byte != 0x20 {
                    atLineStart = false
                }
            }
            if byte & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        if found == nil, let offset = offset(of: error.mark, in: bytes), bytes[offset] == 0x09 {
            return YAMLError(
                .tabIndentation, "a tab is used here where YAML needs a space (after '-' or '?'); use a space",
                at: error.mark, context: context)
        }
        guard let found else { return error }
        return YAMLError(
            .tabIndentation, "a tab is used for indentation here; YAML indents with spaces only", at: found,
            context: context)
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
