/// Writes `JSONValue`s as compact JSON text: numbers as their source text, keys in order, non-ASCII
/// characters as UTF-8 (not `\u` escapes), `/` unescaped. The output of `parse` then `serialize` is the
/// input without insignificant whitespace.
public enum JSONSerializer {
    /// The compact JSON text of `value`.
    public static func serialize(_ value: JSONValue) -> String {
        var buffer: [UInt8] = []
        append(value, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Appends the compact JSON text of `value` to `buffer`.
    public static func append(_ value: JSONValue, to buffer: inout [UInt8]) {
        switch value {
        case .null:
            buffer.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        case .bool(let flag):
            if flag {
                buffer.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
            } else {
                buffer.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
            }
        case .number(let text):
            appendRaw(text, to: &buffer)
        case .string(let text):
            appendString(text, to: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: ",")) }
                append(element, to: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let object):
            append(object, to: &buffer)
        }
    }

    /// Appends the compact JSON text of `object` to `buffer`.
    public static func append(_ object: JSONObject, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "{"))
        for (index, member) in object.members.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            appendString(member.key, to: &buffer)
            buffer.append(UInt8(ascii: ":"))
            append(member.value, to: &buffer)
        }
        buffer.append(UInt8(ascii: "}"))
    }

    /// Appends `text` as a quoted JSON string, escaping `"`, `\` and control characters.
    public static func appendString(_ text: String, to buffer: inout [UInt8]) {
        withUTF8(text) { bytes in
            buffer.append(UInt8(ascii: "\""))
            var index = 0
            while true {
                let run = ByteScan.plainJSONPrefix(bytes, from: index)
                if run > 0 { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + run)])) }
                index += run
                guard index < bytes.count else { break }
                let byte = bytes[index]
                index += 1
                buffer.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
                case 0x0A: buffer.append(UInt8(ascii: "n"))
                case 0x0D: buffer.append(UInt8(ascii: "r"))
                case 0x09: buffer.append(UInt8(ascii: "t"))
                case 0x08: buffer.append(UInt8(ascii: "b"))
                case 0x0C: buffer.append(UInt8(ascii: "f"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    let digits = hex.utf8Start
                    buffer.append(contentsOf: [
                        UInt8(ascii: "u"), 0x30, 0x30, digits[Int(byte >> 4)], digits[Int(byte & 0xF)],
                    ])
                }
            }
            buffer.append(UInt8(ascii: "\""))
        }
    }

    /// Appends the UTF-8 bytes of `text` as they are.
    @inline(__always)
    static func appendRaw(_ text: String, to buffer: inout [UInt8]) {
        withUTF8(text) { buffer.append(contentsOf: $0) }
    }

    /// Calls `body` with the UTF-8 bytes of `text`, without copying the string when it is native.
    @inlinable @inline(__always)
    public static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return try copy.withUTF8(body)
    }
}
