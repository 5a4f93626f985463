/// A JSON document as it was written: numbers keep their source text and objects keep their keys in
/// order, duplicates included, so an export can copy values exactly (`1e21` stays `1e21`).
///
/// Equality is structural and exact: `1.0` and `1` are different numbers, `{"a":1,"b":2}` and
/// `{"b":2,"a":1}` are different objects.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number as its source text, already checked against the JSON number grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The object, if this is one.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The text, if this is a string.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the kind of value, for messages ("an object", "a string", …).
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One `"key": value` pair of a JSON object.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON object: its members in source order. Duplicate keys are kept (RFC 8259 leaves them
/// undefined, and an export must not silently drop data); lookups return the first.
public struct JSONObject: Sendable, Hashable {
    public var members: [JSONMember]

    public init(_ members: [JSONMember] = []) {
        self.members = members
    }

    /// Builds an object from key-value pairs, in order.
    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = pairs.map { JSONMember(key: $0.key, value: $0.value) }
    }

    /// The value of the first member named `key`.
    public subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// The keys in order, duplicates included.
    public var keys: [String] { members.map(\.key) }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    /// Keys that occur more than once, in first-seen order.
    public var duplicateKeys: [String] {
        var seen: Set<String> = []
        var duplicates: [String] = []
        for member in members where !seen.insert(member.key).inserted {
            if !duplicates.contains(member.key) { duplicates.append(member.key) }
        }
        return duplicates
    }
}
