import Foundation

/// Finds a secret in text or bytes however an echo may have written it, and replaces it: each byte of the secret
/// may appear raw or percent-encoded (`%2B` or `%2b`, whichever characters an encoder left alone — `.`, `-`, `_`,
/// `~` or none), a space also as `+`, and JSON-escaped (`\/`, `\"`, `\\`, `\u002B`); the forms may mix within
/// one echo. The loader, the CLI and the API client's `Redactor` all use it.
///
/// One matcher instead of a list of encoded forms: a list misses every encoder that keeps a different set of
/// characters (`pk_test.S3cr3t%2BKey%2Fab%3D%3D` keeps `_` and `.` where `.alphanumerics` would not).
public struct SecretText: Sendable, Hashable {
    /// The secret as given.
    public let secret: String
    private let bytes: [UInt8]

    public init(_ secret: String) {
        self.secret = secret
        self.bytes = Array(secret.utf8)
    }

    /// Whether the secret is empty; an empty secret is found nowhere and redacts nothing.
    public var isEmpty: Bool { bytes.isEmpty }
    /// The secret's length in UTF-8 bytes.
    public var byteCount: Int { bytes.count }

    /// Whether `text` holds the secret in any of its forms.
    public func contains(in text: String) -> Bool {
        JSONSerializer.withUTF8(text) { firstMatch(in: $0, from: 0) != nil }
    }

    /// Whether `bytes` (an HTTP body, a file) hold the secret in any of its forms.
    public func contains(in bytes: some Collection<UInt8>) -> Bool {
        if let found = bytes.withContiguousStorageIfAvailable({ firstMatch(in: $0, from: 0) != nil }) { return found }
        return Array(bytes).withUnsafeBufferPointer { firstMatch(in: $0, from: 0) != nil }
    }

    /// `text` with every occurrence of the secret, in any of its forms, replaced by `replacement`.
    public func redact(_ text: String, with replacement: String = "<redacted>") -> String {
        var text = text
        return text.withUTF8 { buffer in
            guard let output = replacing(in: buffer, with: Array(replacement.utf8)) else { return nil }
            return String(decoding: output, as: UTF8.self)
        } ?? text
    }

    /// `data` with every occurrence of the secret, in any of its forms, replaced by `replacement`.
    public func redact(_ data: Data, with replacement: String = "<redacted>") -> Data {
        data.withUnsafeBytes { raw in
            replacing(in: raw.bindMemory(to: UInt8.self), with: Array(replacement.utf8)).map { Data($0) }
        } ?? data
    }

    /// The bytes with each match replaced, or nil when nothing matched (the caller keeps its value).
    private func replacing(in buffer: UnsafeBufferPointer<UInt8>, with replacement: [UInt8]) -> [UInt8]? {
        guard let first = firstMatch(in: buffer, from: 0) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(buffer.count)
        var copied = 0
        var match: Range<Int>? = first
        while let found = match {
            output.append(contentsOf: buffer[copied..<found.lowerBound])
            output.append(contentsOf: replacement)
            copied = found.upperBound
            match = firstMatch(in: buffer, from: copied)
        }
        output.append(contentsOf: buffer[copied...])
        return output
    }

    /// The first match at or after `start`, as long as it can be (a `%25` for a `%` is taken whole).
    private func firstMatch(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Range<Int>? {
        guard let head = bytes.first else { return nil }
        var index = start
        // Every form of a byte is at least one byte long: a match needs as many bytes as the secret has.
        while index + bytes.count <= buffer.count {
            let byte = buffer[index]
            // Only a byte that can begin the secret's first byte is worth a closer look.
            if byte == head || byte == 0x25 || (byte == 0x2B && head == 0x20) || byte == 0x5C,
                let end = matchEnd(in: buffer, at: index)
            {
                return index..<end
            }
            index += 1
        }
        return nil
    }

    /// Where a match starting at `start` ends (the furthest, when `%` and `%25` both fit), or nil.
    private func matchEnd(in buffer: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        // Nearly every candidate is an ordinary byte that happens to equal the secret's first: while the text holds
        // no byte that starts another form (`%`, `\`, `+`), only the raw form can match, and no list is needed.
        var position = start
        for wanted in bytes {
            guard position < buffer.count else { return nil }
            let here = buffer[position]
            if here == 0x25 || here == 0x5C || here == 0x2B { return encodedMatchEnd(in: buffer, at: start) }
            guard here == wanted else { return nil }
            position += 1
        }
        return position
    }

    /// `matchEnd` for text where several forms may apply.
    private func encodedMatchEnd(in buffer: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        // The places the text may have reached after each byte of the secret: more than one only where a byte
        // can be read two ways, so the list stays tiny.
        var positions = [start]
        var next: [Int] = []
        for wanted in bytes {
            next.removeAll(keepingCapacity: true)
            for position in positions {
                Self.forms(of: wanted, in: buffer, at: position) { end in next.append(end) }
            }
            guard !next.isEmpty else { return nil }
            if next.count > 1 { next = Array(Set(next)) }
            swap(&positions, &next)
        }
        return positions.max()
    }

    /// Calls `found` with the end of each way `byte` may be written at `position`.
    private static func forms(
        of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, at position: Int, _ found: (Int) -> Void
    ) {
        let count = bytes.count
        guard position < count else { return }
        let here = bytes[position]
        if here == byte || (here == 0x2B && byte == 0x20) { found(position + 1) }
        if here == 0x25, position + 2 < count, let high = hexValue(bytes[position + 1]),
            let low = hexValue(bytes[position + 2]), high << 4 | low == byte
        {
            found(position + 3)
        }
        if here == 0x5C, position + 1 < count {
            let escaped = bytes[position + 1]
            // JSON escapes: `\/`, `\"`, `\\`, and `\u00XX` for an ASCII byte.
            if escaped == byte && (byte == 0x2F || byte == 0x22 || byte == 0x5C) { found(position + 2) }
            if escaped == 0x75, byte < 0x80, position + 5 < count, bytes[position + 2] == 0x30,
                bytes[position + 3] == 0x30, let high = hexValue(bytes[position + 4]),
                let low = hexValue(bytes[position + 5]), high << 4 | low == byte
            {
                found(position + 6)
            }
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
