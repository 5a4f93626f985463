import CartflowCore
import Foundation

/// Reading API answers with CartflowCore's JSON values, strictly typed: a boolean is never a number.
extension JSONValue {
    /// Parses an API body; a parse error (including too deep nesting) is reported by the caller.
    static func parseAPI(_ data: Data) throws -> JSONValue {
        try JSONParser.parse([UInt8](data)).value
    }

    subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// A whole number, also one written with a zero fraction (`250.0`).
    var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let value = Int(text) { return value }
        if let value = Double(text), value.rounded() == value, abs(value) < 9e15 { return Int(value) }
        return nil
    }

    var kind: String { kindDescription }
}
