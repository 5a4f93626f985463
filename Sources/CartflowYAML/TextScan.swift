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

    /// The 1-based line and character column of the byte at `offset` (from the slice's start).
    static func mark<Bytes: Collection<UInt8>>(ofByte offset: Int, in bytes: Bytes) -> SourceMark {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return SourceMark(line: line, column: column)
    }

    /// Replaces a syntax error caused by a tab in indentation with a message that says so.
    /// libyaml reports such tabs as "found character that cannot start any token" or a bad indent, often a line late,
    /// so the nearest tab-indented line at or before the problem (and not before the context) is the one to blame.
    static func explainTabs(_ error: YAMLError, in bytes: ArraySlice<UInt8>) -> YAMLError {
        guard error.kind == .syntax else { return error }
        let lowest = min(error.context?.mark.line ?? error.mark.line, error.mark.line - 1)
        var line = 1
        var atLineStart = true
        var column = 1
        var found: SourceMark?
        for byte in bytes {
            if line > error.mark.line { break }
            if byte == 0x0A {
                line += 1
                atLineStart = true
                column = 1
                continue
            }
            if atLineStart {
                if byte == 0x09 {
                    if line >= lowest { found = SourceMark(line: line, column: column) }
                    atLineStart = false
                } else if byte != 0x20 {
                    atLineStart = false
                }
            }
            column += 1
        }
        guard let found else { return error }
        return YAMLError(
            .tabIndentation, "a tab is used for indentation here; YAML indents with spaces only", at: found,
            context: YAMLError.Context(
                message: "libyaml: \(error.message.replacingPrefix("invalid YAML: "))", mark: error.mark))
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
