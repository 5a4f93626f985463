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

    /// Replaces a syntax error caused by a tab with a message that says so. A tab is blamed only when libyaml's
    /// problem is one a tab causes — "found character that cannot start any token" with the tab as that
    /// character, or one of its "found a tab character …" problems — and the tab is on the problem line or on the
    /// line the problem mark lands after; a tab elsewhere (legal in a flow collection, after `key:`) is never
    /// blamed for an unrelated error.
    static func explainTabs(_ error: YAMLError, in slice: ArraySlice<UInt8>) -> YAMLError {
        guard error.kind == .syntax else { return error }
        let problem = error.message.replacingPrefix("invalid YAML: ")
        let bytes = Array(slice)
        let atMark = offset(of: error.mark, in: bytes)
        let tabAtMark = atMark.map { bytes[$0] == 0x09 } ?? false
        let tab: Int?
        if problem == "found character that cannot start any token" {
            // libyaml names the character it stopped at: a tab, or something else entirely (`@`, a backquote).
            tab = tabAtMark ? atMark : nil
        } else if problem.hasPrefix("found a tab character") {
            tab =
                tabAtMark
                ? atMark
                : firstIndentationTab(onLine: error.mark.line, in: bytes)
                    ?? firstIndentationTab(onLine: error.mark.line - 1, in: bytes)
        } else {
            tab = nil
        }
        guard let tab, let lineStart = lineStart(of: tab, in: bytes) else { return error }
        let mark = self.mark(ofByte: tab, in: bytes)
        let context = YAMLError.Context(message: "libyaml: \(problem)", mark: error.mark)
        var lineEnd = lineStart
        while lineEnd < bytes.count, lineBreakLength(bytes, at: lineEnd) == 0 { lineEnd += 1 }
        let line = bytes[lineStart..<lineEnd]
        let indentation = line.prefix { $0 == 0x20 || $0 == 0x09 }
        guard indentation.endIndex > tab else {
            return YAMLError(
                .tabIndentation, "a tab is used here where YAML needs a space (after '-' or '?'); use a space",
                at: mark, context: context)
        }
        let rest = line[indentation.endIndex...]
        if rest.isEmpty {
            return YAMLError(
                .tabIndentation,
                "a tab on a line that is otherwise blank: YAML allows it, but libyaml (the parser cartflow uses) refuses it here; delete the tab",
                at: mark, context: context)
        }
        if rest.first == UInt8(ascii: "#") {
            return YAMLError(
                .tabIndentation,
                "a tab before a comment: YAML allows it, but libyaml (the parser cartflow uses) refuses it at the start of a line here; indent the comment with spaces, or delete the tab",
                at: mark, context: context)
        }
        return YAMLError(
            .tabIndentation, "a tab is used for indentation here; YAML indents with spaces only", at: mark,
            context: context)
    }

    /// The byte offset of the first tab among the spaces and tabs that start line `line`, if any.
    private static func firstIndentationTab(onLine line: Int, in bytes: [UInt8]) -> Int? {
        guard line >= 1, var index = offset(of: SourceMark(line: line, column: 1), in: bytes) else { return nil }
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 {
            if bytes[index] == 0x09 { return index }
            index += 1
        }
        return nil
    }

    /// The byte offset where the line holding the byte at `offset` starts.
    private static func lineStart(of offset: Int, in bytes: [UInt8]) -> Int? {
        guard offset < bytes.count else { return nil }
        var start = 0
        var index = 0
        while index < offset {
            let breakLength = lineBreakLength(bytes, at: index)
            if breakLength > 0 {
                index += breakLength
                start = index
            } else {
                index += 1
            }
        }
        return start
    }

    /// Whether the input holds no content: only comments, blank lines and the document markers `---` and `...`
    /// (libyaml refuses a `...` that ends no document, but such a file is simply empty).
    static func holdsOnlyMarkersAndComments(_ bytes: ArraySlice<UInt8>) -> Bool {
        let lines = bytes.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D })
        return lines.allSatisfy { line in
            var rest = line.drop { $0 == 0x20 || $0 == 0x09 }
            // A marker is one only at the start of a line, alone or before a comment.
            if line.starts(with: "---".utf8) || line.starts(with: "...".utf8) {
                rest = line.dropFirst(3)
                guard rest.isEmpty || rest.first == 0x20 || rest.first == 0x09 else { return false }
                rest = rest.drop { $0 == 0x20 || $0 == 0x09 }
            }
            return rest.isEmpty || rest.first == UInt8(ascii: "#")
        }
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
