internal import CYAML

/// One parsed YAML document: its root node. Each alias node knows where its anchored text is (`Node.textRange`).
public struct YAMLDocument: Sendable {
    public var root: Node

    public init(root: Node) {
        self.root = root
    }
}

/// Parses one YAML document into a `Node` tree with source ranges, enforcing `YAMLLimits`.
public enum YAMLParser {
    /// Parses `bytes` (UTF-8, an optional byte order mark is skipped) into the root node of its single document.
    public static func parse(_ bytes: [UInt8], limits: YAMLLimits = .default) throws(YAMLError) -> Node {
        try parseDocument(bytes, limits: limits).root
    }

    /// Parses `bytes` like `parse`, keeping where each alias's anchored text is.
    public static func parseDocument(_ bytes: [UInt8], limits: YAMLLimits = .default) throws(YAMLError)
        -> YAMLDocument
    {
        if bytes.count > limits.maxBytes {
            throw YAMLError(
                .tooLarge, "the file is \(bytes.count) bytes; the limit is \(limits.maxBytes) bytes",
                at: SourceMark(line: 1, column: 1))
        }
        var body = bytes[...]
        if let encoding = TextScan.wideEncoding(body) {
            throw YAMLError(
                .invalidUTF8, "the file is \(encoding), not UTF-8; save it as UTF-8", at: SourceMark(line: 1, column: 1)
            )
        }
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        if TextScan.isBlank(body) { throw YAMLError(.empty, "the file is empty", at: SourceMark(line: 1, column: 1)) }
        if let offset = TextScan.firstInvalidUTF8(body) {
            let mark = TextScan.mark(ofByte: offset, in: body)
            throw YAMLError(
                .invalidUTF8,
                "the file is not valid UTF-8: byte 0x\(String(body[body.startIndex + offset], radix: 16, uppercase: true)) at line \(mark.line) cannot start or continue a character; save the file as UTF-8",
                at: mark)
        }
        let parser = EventParser()
        do {
            return try body.withUnsafeBufferPointer { buffer throws(YAMLError) in
                try parser.document(from: buffer, limits: limits)
            }
        } catch let error {
            if error.kind == .syntax, TextScan.holdsOnlyMarkersAndComments(body) {
                throw YAMLError(
                    .empty, "the file holds no YAML content, only comments or an empty document",
                    at: SourceMark(line: 1, column: 1))
            }
            throw TextScan.explainTabs(error, in: body)
        }
    }

    /// Parses UTF-8 text.
    public static func parse(_ text: String, limits: YAMLLimits = .default) throws(YAMLError) -> Node {
        try parse(Array(text.utf8), limits: limits)
    }
}

/// Owns one libyaml parser handle and turns its events into nodes.
final class EventParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>

    init() {
        parser = .allocate(capacity: 1)
        parser.initialize(to: yaml_parser_t())
        // yaml_parser_initialize fails only when malloc fails; the first parse call then reports it as an error.
        _ = yaml_parser_initialize(parser)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    /// Pulls every event of `buffer` and builds the document. `buffer` must stay valid for the whole call.
    func document(from buffer: UnsafeBufferPointer<UInt8>, limits: YAMLLimits) throws(YAMLError) -> YAMLDocument {
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, buffer.baseAddress ?? UnsafePointer(bitPattern: 1), buffer.count)

        // A file of n bytes holds fewer than n / 2 nodes and fewer than n bytes of scalar text (plus what escapes
        // and folding add): sized once instead of grown.
        var builder = TableBuilder(expectedBytes: buffer.count)
        var anchors: [String: (id: UInt32, size: Int)] = [:]
        var aliasNodes = 0
        var firstDocument: SourceMark?
        var event = yaml_event_t()

        while true {
            guard yaml_parser_parse(parser, &event) == 1 else { throw syntaxError(buffer) }
            defer { yaml_event_delete(&event) }
            let type = event.type
            if type == YAML_SCALAR_EVENT {
                let data = event.data.scalar
                if data.tag != nil { try Self.refuseTag(data.tag, at: Self.mark(event.start_mark)) }
                let style: ScalarStyle
                switch data.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                let id = builder.scalar(
                    UnsafeBufferPointer(start: data.value, count: data.length), style: style,
                    start: event.start_mark, end: event.end_mark)
                if let anchor = data.anchor { anchors[Self.string(anchor)] = (id, 1) }
            } else if type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT {
                let isMapping = type == YAML_MAPPING_START_EVENT
                if builder.depth >= limits.maxDepth {
                    throw YAMLError(
                        .tooDeep, "lists and mappings are nested more than \(limits.maxDepth) levels deep",
                        at: Self.mark(event.start_mark))
                }
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                let tag = isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag
                if tag != nil { try Self.refuseTag(tag, at: Self.mark(event.start_mark)) }
                builder.open(isMapping ? .mapping : .sequence, start: event.start_mark, anchor: anchor.map(Self.string))
            } else if type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT {
                let (id, size, anchor) = builder.close(end: event.end_mark)
                if let anchor { anchors[anchor] = (id, size) }
            } else if type == YAML_ALIAS_EVENT {
                let start = Self.mark(event.start_mark)
                let name = Self.string(event.data.alias.anchor)
                guard let target = anchors[name] else {
                    throw YAMLError(
                        .undefinedAlias, "alias '*\(name)' has no anchor '&\(name)' defined before it", at: start)
                }
                // Counted as if expanded: what decoding walks through the alias is the whole anchored subtree.
                aliasNodes += target.size
                if aliasNodes > limits.maxAliasNodes {
                    throw YAMLError(
                        .aliasExpansion,
                        "aliases expand to more than \(limits.maxAliasNodes) nodes (an alias bomb?); refusing to expand '*\(name)'",
                        at: start)
                }
                builder.alias(of: target.id, size: target.size, start: event.start_mark, end: event.end_mark)
            } else if type == YAML_DOCUMENT_START_EVENT {
                let start = Self.mark(event.start_mark)
                if let firstDocument {
                    throw YAMLError(
                        .multipleDocuments,
                        "a second YAML document starts here; a workflow file holds exactly one document (split it into two files)",
                        at: start, context: .init(message: "the first document starts here", mark: firstDocument))
                }
                firstDocument = start
            } else if type == YAML_STREAM_END_EVENT {
                guard let root = builder.finish(), !root.isNull else {
                    let hasText = buffer.contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
                    throw YAMLError(
                        .empty,
                        hasText
                            ? "the file holds no YAML content, only comments or an empty document"
                            : "the file is empty",
                        at: SourceMark(line: 1, column: 1))
                }
                return YAMLDocument(root: root)
            }
        }
    }

    private static func refuseTag(_ tag: UnsafeMutablePointer<yaml_char_t>?, at mark: SourceMark) throws(YAMLError) {
        guard let tag else { return }
        var name = string(tag)
        if name.hasPrefix("tag:yaml.org,2002:") { name = "!!" + name.dropFirst("tag:yaml.org,2002:".count) }
        throw YAMLError(
            .tag,
            "tags such as '\(name)' are not used in workflow files; remove it (every value is read as text and typed by its key)",
            at: mark)
    }

    private func syntaxError(_ buffer: UnsafeBufferPointer<UInt8>) -> YAMLError {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown error"
        if state.error == YAML_MEMORY_ERROR {
            return YAMLError(.syntax, "out of memory while parsing", at: SourceMark(line: 1, column: 1))
        }
        if state.error == YAML_READER_ERROR {
            // Reader errors carry a byte offset, not a mark.
            let mark = TextScan.mark(ofByte: Int(state.problem_offset), in: buffer)
            return YAMLError(.syntax, "invalid YAML: \(problem)", at: mark)
        }
        let mark = Self.mark(state.problem_mark)
        var context: YAMLError.Context?
        if let text = state.context {
            context = .init(message: String(cString: text), mark: Self.mark(state.context_mark))
        }
        return YAMLError(.syntax, "invalid YAML: \(problem)", at: mark, context: context)
    }

    private static func mark(_ mark: yaml_mark_t) -> SourceMark {
        SourceMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>) -> String {
        String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
    }
}

/// Fills a `NodeTable` while events arrive: the stack of open sequences and mappings, with each subtree's node
/// count (aliases counted as expanded) for the alias limit.
private struct TableBuilder {
    private struct Frame {
        var id: UInt32
        /// Where this collection's children start in `pending`.
        var pendingStart: Int
        var anchor: String?
        var size = 1
    }

    private var entries: [NodeTable.Entry] = []
    private var children: [UInt32] = []
    private var text: [UInt8] = []
    private var stack: [Frame] = []
    /// The children of the open collections, innermost last; moved to `children` when a collection closes, so
    /// that each collection's children are one run.
    private var pending: [UInt32] = []
    private var root: UInt32?

    init(expectedBytes: Int) {
        entries.reserveCapacity(min(expectedBytes / 4, 1 << 20))
        children.reserveCapacity(min(expectedBytes / 4, 1 << 20))
        text.reserveCapacity(expectedBytes)
    }

    var depth: Int { stack.count }

    private static func entry(
        _ kind: NodeTable.Kind, style: ScalarStyle = .plain, first: Int, count: Int, start: yaml_mark_t,
        end: yaml_mark_t
    ) -> NodeTable.Entry {
        NodeTable.Entry(
            startLine: UInt32(truncatingIfNeeded: start.line + 1),
            startColumn: UInt32(truncatingIfNeeded: start.column + 1),
            endLine: UInt32(truncatingIfNeeded: end.line + 1), endColumn: UInt32(truncatingIfNeeded: end.column + 1),
            first: UInt32(truncatingIfNeeded: first), count: UInt32(truncatingIfNeeded: count), kind: kind,
            style: style)
    }

    mutating func scalar(
        _ value: UnsafeBufferPointer<UInt8>, style: ScalarStyle, start: yaml_mark_t, end: yaml_mark_t
    ) -> UInt32 {
        let id = UInt32(entries.count)
        entries.append(Self.entry(.scalar, style: style, first: text.count, count: value.count, start: start, end: end))
        text.append(contentsOf: value)
        attach(id, size: 1)
        return id
    }

    mutating func alias(of target: UInt32, size: Int, start: yaml_mark_t, end: yaml_mark_t) {
        let id = UInt32(entries.count)
        entries.append(Self.entry(.alias, first: Int(target), count: 0, start: start, end: end))
        attach(id, size: size)
    }

    mutating func open(_ kind: NodeTable.Kind, start: yaml_mark_t, anchor: String?) {
        let id = UInt32(entries.count)
        entries.append(Self.entry(kind, first: 0, count: 0, start: start, end: start))
        stack.append(Frame(id: id, pendingStart: pending.count, anchor: anchor))
    }

    mutating func close(end: yaml_mark_t) -> (id: UInt32, size: Int, anchor: String?) {
        let frame = stack.removeLast()
        let count = pending.count - frame.pendingStart
        let index = Int(frame.id)
        entries[index].first = UInt32(truncatingIfNeeded: children.count)
        // A mapping's children are key, value, …: it counts pairs (libyaml never ends a mapping after a key alone).
        entries[index].count = UInt32(truncatingIfNeeded: entries[index].kind == .mapping ? count / 2 : count)
        entries[index].endLine = UInt32(truncatingIfNeeded: end.line + 1)
        entries[index].endColumn = UInt32(truncatingIfNeeded: end.column + 1)
        children.append(contentsOf: pending[frame.pendingStart...])
        pending.removeSubrange(frame.pendingStart...)
        attach(frame.id, size: frame.size)
        return (frame.id, frame.size, frame.anchor)
    }

    /// Adds a finished node to the innermost open collection, or makes it the document's root.
    private mutating func attach(_ id: UInt32, size: Int) {
        guard !stack.isEmpty else {
            root = id
            return
        }
        stack[stack.count - 1].size += size
        pending.append(id)
    }

    /// The root node, when the document has one.
    mutating func finish() -> Node? {
        guard let root else { return nil }
        let table = NodeTable(entries: entries, children: children, text: text)
        return Node(table: table, id: root, use: 0)
    }
}
