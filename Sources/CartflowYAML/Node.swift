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
public enum ScalarStyle: UInt8, Sendable, Hashable {
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

    @inlinable public init(_ text: String, style: ScalarStyle = .plain) {
        self.text = text
        self.style = style
    }

    /// Whether this is YAML's null: an empty plain scalar, `~`, or `null` written plain.
    @inlinable public var isNull: Bool {
        guard style == .plain else { return false }
        return Self.isNull(text.utf8)
    }

    /// Whether plain text is YAML's null. Decided on the byte count first: every key of every mapping asks.
    @inlinable static func isNull<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        switch bytes.count {
        case 0: return true
        case 1: return bytes.first == UInt8(ascii: "~")
        case 4:
            // Most four-letter keys (`path`, `from`) are told apart by their first letter.
            guard let first = bytes.first, first == UInt8(ascii: "n") || first == UInt8(ascii: "N") else {
                return false
            }
            return bytes.elementsEqual("null".utf8) || bytes.elementsEqual("Null".utf8)
                || bytes.elementsEqual("NULL".utf8)
        default: return false
        }
    }
}

/// The nodes of one parsed document, in one flat table: a large workflow has 100,000s of nodes, and a tree of
/// separately allocated values spent more time in malloc, free and reference counting than libyaml spends parsing.
/// Nodes are numbered in document order; a collection's children are a run of `children`, a mapping's as key,
/// value, key, value; scalar text is a run of `text`. Built once by `YAMLParser`, never changed.
@usableFromInline
final class NodeTable: Sendable {
    @usableFromInline
    enum Kind: UInt8, Sendable {
        case scalar
        case sequence
        case mapping
        /// An alias (`*name`): `first` is the node it stands for.
        case alias
    }

    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var startLine: UInt32
        @usableFromInline var startColumn: UInt32
        @usableFromInline var endLine: UInt32
        @usableFromInline var endColumn: UInt32
        /// Scalar: its first byte in `text`. Collection: its first child in `children`. Alias: the node it names.
        @usableFromInline var first: UInt32
        /// Scalar: its length in bytes. Sequence: its items. Mapping: its pairs.
        @usableFromInline var count: UInt32
        @usableFromInline var kind: Kind
        @usableFromInline var style: ScalarStyle

        @inlinable var range: SourceRange {
            SourceRange(
                start: SourceMark(line: Int(startLine), column: Int(startColumn)),
                end: SourceMark(line: Int(endLine), column: Int(endColumn)))
        }
        @inlinable var start: SourceMark { SourceMark(line: Int(startLine), column: Int(startColumn)) }
    }

    @usableFromInline let entries: [Entry]
    @usableFromInline let children: [UInt32]
    @usableFromInline let text: [UInt8]

    init(entries: [Entry], children: [UInt32], text: [UInt8]) {
        self.entries = entries
        self.children = children
        self.text = text
    }

    /// The entry `id` stands for: the anchored entry for an alias.
    @inlinable func content(_ id: UInt32) -> Entry {
        let entry = entries[Int(id)]
        return entry.kind == .alias ? entries[Int(entry.first)] : entry
    }

    /// Calls `body` with a scalar entry's text as UTF-8 bytes; nil when the entry is not a scalar.
    @inlinable func withScalarBytes<Result>(_ entry: Entry, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        guard entry.kind == .scalar else { return nil }
        return text.withUnsafeBufferPointer { buffer in
            body(UnsafeBufferPointer(rebasing: buffer[Int(entry.first)..<Int(entry.first + entry.count)]))
        }
    }

    @inlinable func string(_ entry: Entry) -> String {
        text.withUnsafeBufferPointer { buffer in
            String(
                decoding: UnsafeBufferPointer(rebasing: buffer[Int(entry.first)..<Int(entry.first + entry.count)]),
                as: UTF8.self)
        }
    }
}

/// One node of a parsed YAML document with its source range: a small handle into the document's node table.
/// Equality compares content and ignores ranges.
public struct Node: Sendable, CustomStringConvertible {
    /// One key/value entry of a mapping, kept in file order (duplicates included, so decoding can report them).
    public struct Pair: Sendable, Equatable {
        public var key: Node
        public var value: Node

        @inlinable public init(key: Node, value: Node) {
            self.key = key
            self.value = value
        }
    }

    /// What a node holds. Lists and mappings are views into the document, not copies.
    public enum Kind: Sendable, Equatable {
        case scalar(Scalar)
        case sequence(Items)
        case mapping(Pairs)
    }

    @usableFromInline let table: NodeTable
    /// The entry where this node is written (for an alias node, the alias).
    @usableFromInline let id: UInt32
    /// Where an enclosing alias brought this node (line << 32 | column), 0 for none.
    @usableFromInline let use: UInt64

    @inlinable init(table: NodeTable, id: UInt32, use: UInt64) {
        self.table = table
        self.id = id
        self.use = use
    }

    @inlinable var entry: NodeTable.Entry { table.entries[Int(id)] }
    /// The entry of what the node holds: the anchored node for an alias.
    @inlinable var content: NodeTable.Entry { table.content(id) }

    /// Where the node is: for an alias node, the alias; for a node inside an aliased subtree, its text at the anchor.
    @inlinable public var range: SourceRange { entry.range }
    @inlinable public var start: SourceMark { entry.start }

    /// Where the node's text is written: the anchored node's for an alias node, its own range otherwise.
    @inlinable public var textRange: SourceRange { content.range }

    /// Where an alias (`*name`) brought this node, for every node of an aliased subtree: `range` stays where the
    /// text is written (the anchor's), so a problem in the text is reported there, while a problem of the use —
    /// a value repeated by the alias — can be reported here. An outer alias wins over one inside the anchored
    /// text, since that is where the subtree is used. Nil for nodes reached without an alias.
    @inlinable public var usedAt: SourceMark? {
        let packed = usePacked
        return packed == 0 ? nil : SourceMark(line: Int(packed >> 32), column: Int(packed & 0xFFFF_FFFF))
    }

    /// `usedAt`, packed, as the node's children inherit it.
    @inlinable var usePacked: UInt64 {
        guard use == 0 else { return use }
        let entry = self.entry
        return entry.kind == .alias ? UInt64(entry.startLine) << 32 | UInt64(entry.startColumn) : 0
    }

    @inlinable func run(_ content: NodeTable.Entry) -> Run {
        Run(table: table, first: content.first, count: Int(content.count), use: usePacked)
    }

    public var kind: Kind {
        let content = self.content
        switch content.kind {
        case .sequence: return .sequence(Items(run: run(content)))
        case .mapping: return .mapping(Pairs(run: run(content)))
        case .scalar, .alias: return .scalar(Scalar(table.string(content), style: content.style))
        }
    }

    @inlinable public var scalar: Scalar? {
        let content = self.content
        guard content.kind == .scalar else { return nil }
        return Scalar(table.string(content), style: content.style)
    }

    /// Calls `body` with the scalar's text as UTF-8 bytes in the document, without building a `String`; nil when
    /// the node is not a scalar.
    @inlinable public func withScalarBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        table.withScalarBytes(content, body)
    }

    /// Whether the node is a scalar (not a list or a mapping).
    @inlinable public var isScalar: Bool { content.kind == .scalar }

    /// Whether the node is YAML's null, without building its text.
    @inlinable public var isNull: Bool {
        let content = self.content
        guard content.kind == .scalar, content.style == .plain else { return false }
        return Scalar.isNull(table.text[Int(content.first)..<Int(content.first + content.count)])
    }

    @inlinable public var sequence: Items? {
        let content = self.content
        guard content.kind == .sequence else { return nil }
        return Items(run: run(content))
    }

    @inlinable public var mapping: Pairs? {
        let content = self.content
        guard content.kind == .mapping else { return nil }
        return Pairs(run: run(content))
    }

    /// A phrase for messages: "a mapping", "a list", "a single value", "nothing (null)".
    public var kindName: String {
        switch content.kind {
        case .scalar, .alias: return isNull ? "nothing (null)" : "a single value"
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

    /// A run of child nodes in the table, as its parent's children inherit `usedAt`.
    @usableFromInline
    struct Run: Sendable {
        @usableFromInline let table: NodeTable
        @usableFromInline let first: UInt32
        @usableFromInline let count: Int
        @usableFromInline let use: UInt64

        @inlinable init(table: NodeTable, first: UInt32, count: Int, use: UInt64) {
            self.table = table
            self.first = first
            self.count = count
            self.use = use
        }

        @inlinable func node(_ offset: Int) -> Node {
            Node(table: table, id: id(offset), use: use)
        }

        @inlinable func id(_ offset: Int) -> UInt32 {
            precondition(offset >= 0 && offset < count * 2, "index out of range")
            return table.children[Int(first) + offset]
        }
    }

    /// The items of a list, in file order.
    public struct Items: RandomAccessCollection, Sendable, Equatable {
        @usableFromInline let run: Run

        @inlinable init(run: Run) { self.run = run }

        @inlinable public var startIndex: Int { 0 }
        @inlinable public var endIndex: Int { run.count }
        @inlinable public subscript(position: Int) -> Node {
            precondition(position < run.count, "index out of range")
            return run.node(position)
        }

        public static func == (a: Items, b: Items) -> Bool { a.elementsEqual(b) }
    }

    /// The entries of a mapping, in file order.
    public struct Pairs: RandomAccessCollection, Sendable, Equatable {
        @usableFromInline let run: Run

        @inlinable init(run: Run) { self.run = run }

        @inlinable public var startIndex: Int { 0 }
        @inlinable public var endIndex: Int { run.count }
        @inlinable public subscript(position: Int) -> Pair {
            Pair(key: run.node(2 * position), value: run.node(2 * position + 1))
        }

        /// The key of entry `position`, without its value.
        @inlinable public func key(at position: Int) -> Node { run.node(2 * position) }

        /// The value of entry `position`, without its key.
        @inlinable public func value(at position: Int) -> Node { run.node(2 * position + 1) }

        /// Calls `body` with the text of entry `position`'s key as UTF-8 bytes, without making a node for it; nil
        /// when the key is not a scalar. Every key of every mapping a decoder reads is matched so.
        @inlinable public func withKeyBytes<Result>(
            at position: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result
        ) -> Result? {
            run.table.withScalarBytes(run.table.content(run.id(2 * position)), body)
        }

        public static func == (a: Pairs, b: Pairs) -> Bool { a.elementsEqual(b) }
    }
}

extension Node: Equatable {
    public static func == (a: Node, b: Node) -> Bool { a.kind == b.kind }
}
