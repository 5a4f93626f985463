/// Word-at-a-time byte tests (SWAR) for the hot loops of the JSON parser, the JSON serializer and the
/// CSV writer: eight bytes are checked with a few integer operations instead of eight branches.
public enum ByteScan {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let highs: UInt64 = 0x8080_8080_8080_8080

    /// True when some byte of `word` equals `byte`.
    @inlinable @inline(__always)
    public static func contains(_ word: UInt64, _ byte: UInt8) -> Bool {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs != 0
    }

    /// True when some byte of `word` is below `limit` (at most 128).
    @inlinable @inline(__always)
    public static func containsLess(_ word: UInt64, than limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highs != 0
    }

    /// True when some byte of `word` needs attention inside a JSON string: `"`, `\` or a control character.
    @inlinable @inline(__always)
    public static func needsJSONEscape(_ word: UInt64) -> Bool {
        contains(word, 0x22) || contains(word, 0x5C) || containsLess(word, than: 0x20)
    }

    /// The length of the prefix of `bytes` (from `start`) in which no byte needs JSON escaping; a word
    /// at a time, then byte by byte.
    @inlinable
    public static func plainJSONPrefix(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var index = start
        let end = bytes.count
        while index + 8 <= end {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if needsJSONEscape(word) { break }
            index += 8
        }
        while index < end {
            let byte = base[index]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
            index += 1
        }
        return index - start
    }

    /// Whether the UTF-8 bytes of `needle` occur in those of `haystack`: an exact byte search, many times
    /// faster than Foundation's `contains`, which compares UTF-16 through CFString.
    public static func contains(_ haystack: String, bytesOf needle: String) -> Bool {
        var haystack = haystack
        var needle = needle
        haystack.makeContiguousUTF8()
        needle.makeContiguousUTF8()
        let found = haystack.utf8.withContiguousStorageIfAvailable { bytes in
            needle.utf8.withContiguousStorageIfAvailable { pattern in contains(bytes, pattern) }
        }
        // Both strings are contiguous after makeContiguousUTF8, so the fallback is never taken.
        return (found ?? nil) ?? Array(haystack.utf8).withUnsafeBufferPointer { bytes in
            Array(needle.utf8).withUnsafeBufferPointer { contains(bytes, $0) }
        }
    }

    private static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = pattern.first else { return true }
        guard bytes.count >= pattern.count else { return false }
        search: for start in 0...(bytes.count - pattern.count) where bytes[start] == first {
            for offset in 1..<pattern.count where bytes[start + offset] != pattern[offset] { continue search }
            return true
        }
        return false
    }

    /// True when every byte is below 0x80.
    @inlinable
    public static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var index = 0
        var seen: UInt64 = 0
        while index + 8 <= bytes.count {
            seen |= UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            seen |= UInt64(base[index])
            index += 1
        }
        return seen & highs == 0
    }
}
