/// A position in a source file: 1-based line and column, columns counted in characters (Unicode scalars), as libyaml does.
public struct SourceMark: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: SourceMark, b: SourceMark) -> Bool { (a.line, a.column) < (b.line, b.column) }
    public var description: String { "\(line):\(column)" }
}

/// The span of a node in its source file, from its first character to just after its last.
public struct SourceRange: Sendable, Hashable, CustomStringConvertible {
    public var start: SourceMark
    public var end: SourceMark

    public init(start: SourceMark, end: SourceMark) {
        self.start = start
        self.end = end
    }

    public var description: String { "\(start)-\(end)" }
}

/// How a scalar was written; decoding uses it to tell `null` from `"null"` and to place positions inside quotes.
public enum ScalarStyle: Sendable, Hashable {
    case plain
    case singleQuoted
    case doubleQuoted
    case literal
    case folded
}

/// A scalar's text exactly as YAML produced it (after unquoting and folding), with no type guessed.
public struct Scalar: Sendable, Hashable {
    public var text: String
    public var style: ScalarStyle

    public init(_ text: String, style: ScalarStyle = .plain) {
        self.text = text
        self.style = style
    }

    /// Whether this is YAML's null: an empty plain scalar, `~`, or `null` written plain.
    public var isNull: Bool {
        guard style == .plain else { return false }
        // Decided on the byte count first: every key of every mapping asks, and comparing unequal strings is slow.
        // No other text is canonically equivalent to these ASCII words, so this is exact.
        switch text.utf8.count {
        case 0: return true
        case 1: return text == "~"
        case 4: return text == "null" || text == "Null" || text == "NULL"
        default: return false
        }
    }
}

/// One node of a parsed YAML document with its source range. Equality ignores ranges.
public struct Node: Sendable, CustomStringConvertible {
    /// One key/value entry of a mapping, kept in file order (duplicates included, so decoding can report them).
    public struct Pair: Sendable, Equatable {
        public var key: Node
        public var value: Node

        public init(key: Node, value: Node) {
            self.key = key
            self.value = value
        }
    }

    public enum Kind: Sendable, Equatable {
        case scalar(Scalar)
        case sequence([Node])
        case mapping([Pair])
    }

    public var kind: Kind
    public var range: SourceRange
    /// The explicit tag, if one was written (`!!str`); `nil` for untagged nodes.
    public var tag: String?
    /// Where an alias (`*name`) brought this node, for every node of an aliased subtree: `range` stays where the
    /// text is written (the anchor's), so a problem in the text is reported there, while a problem of the use —
    /// a value repeated by the alias — can be reported here. Nil for nodes reached without an alias.
    public var usedAt: SourceMark? {
        get { useLine == 0 ? nil : SourceMark(line: Int(useLine), column: Int(useColumn)) }
        set {
            // Two 32-bit halves (0: none) keep every node 8 bytes larger, not 24: a large file has 100,000s.
            useLine = newValue.map { UInt32(clamping: $0.line) } ?? 0
            useColumn = newValue.map { UInt32(clamping: $0.column) } ?? 0
        }
    }
    private var useLine: UInt32 = 0
    private var useColumn: UInt32 = 0

    public init(_ kind: Kind, range: SourceRange, tag: String? = nil) {
        self.kind = kind
        self.range = range
        self.tag = tag
    }

    public var start: SourceMark { range.start }

    /// This node and its whole subtree marked as brought to `mark` by an alias (an outer alias wins over one
    /// inside the anchored text, since that is where the subtree is used).
    public func used(at mark: SourceMark) -> Node {
        var node = self
        node.usedAt = mark
        switch kind {
        case .scalar: break
        case .sequence(let items): node.kind = .sequence(items.map { $0.used(at: mark) })
        case .mapping(let pairs):
            node.kind = .mapping(pairs.map { Pair(key: $0.key.used(at: mark), value: $0.value.used(at: mark)) })
        }
        return node
    }

    public var scalar: Scalar? {
        if case .scalar(let scalar) = kind { return scalar }
        return nil
    }

    public var sequence: [Node]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    public var mapping: [Pair]? {
        if case .mapping(let pairs) = kind { return pairs }
        return nil
    }

    /// A phrase for messages: "a mapping", "a list", "a single value", "nothing (null)".
    public var kindName: String {
        switch kind {
        case .scalar(let scalar): return scalar.isNull ? "nothing (null)" : "a single value"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    public var description: String {
        switch kind {
        case .scalar(let scalar): return scalar.style == .plain ? scalar.text : "\"\(scalar.text)\""
        case .sequence(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let pairs): return "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

extension Node: Equatable {
    public static func == (a: Node, b: Node) -> Bool { a.kind == b.kind && a.tag == b.tag }
}
