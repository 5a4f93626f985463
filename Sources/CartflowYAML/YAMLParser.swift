internal import CYAML

/// One parsed YAML document: its root node, and where the text of each alias's node is written.
public struct YAMLDocument: Sendable {
    public var root: Node
    /// The range of the anchored node each alias (`*name`) stands for, keyed by where the alias is written (the
    /// start of the alias node's range). An alias node is placed at the alias; this finds its text, so that what
    /// hides a line holding a secret can hide the anchor's line too.
    public var aliasTargets: [SourceMark: SourceRange]

    public init(root: Node, aliasTargets: [SourceMark: SourceRange] = [:]) {
        self.root = root
        self.aliasTargets = aliasTargets
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

        var builder = TreeBuilder()
        var anchors: [String: (node: Node, size: Int)] = [:]
        var aliasTargets: [SourceMark: SourceRange] = [:]
        var aliasNodes = 0
        var firstDocument: SourceMark?
        var event = yaml_event_t()

        while true {
            guard yaml_parser_parse(parser, &event) == 1 else { throw syntaxError(buffer) }
            defer { yaml_event_delete(&event) }
            let type = event.type
            if type == YAML_SCALAR_EVENT {
                let data = event.data.scalar
                let start = Self.mark(event.start_mark)
                if data.tag != nil { try Self.refuseTag(data.tag, at: start) }
                let text = String(
                    decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
                let style: ScalarStyle
                switch data.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                let node = Node(
                    .scalar(Scalar(text, style: style)),
                    range: SourceRange(start: start, end: Self.mark(event.end_mark)))
                if let anchor = data.anchor { anchors[Self.string(anchor)] = (node, 1) }
                builder.attach(node, size: 1)
            } else if type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT {
                let isMapping = type == YAML_MAPPING_START_EVENT
                let start = Self.mark(event.start_mark)
                if builder.depth >= limits.maxDepth {
                    throw YAMLError(
                        .tooDeep, "lists and mappings are nested more than \(limits.maxDepth) levels deep", at: start)
                }
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                let tag = isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag
                if tag != nil { try Self.refuseTag(tag, at: start) }
                builder.open(isMapping: isMapping, start: start, anchor: anchor.map(Self.string))
            } else if type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT {
                let (node, size, anchor) = builder.close(end: Self.mark(event.end_mark))
                if let anchor { anchors[anchor] = (node, size) }
                builder.attach(node, size: size)
            } else if type == YAML_ALIAS_EVENT {
                let start = Self.mark(event.start_mark)
                let name = Self.string(event.data.alias.anchor)
                guard let target = anchors[name] else {
                    throw YAMLError(
                        .undefinedAlias, "alias '*\(name)' has no anchor '&\(name)' defined before it", at: start)
                }
                aliasNodes += target.size
                if aliasNodes > limits.maxAliasNodes {
                    throw YAMLError(
                        .aliasExpansion,
                        "aliases expand to more than \(limits.maxAliasNodes) nodes (an alias bomb?); refusing to expand '*\(name)'",
                        at: start)
                }
                // The alias node itself is at the alias; its children keep the anchor's ranges (their text is
                // there) and learn where they are used. Bounded: aliases expand to at most maxAliasNodes nodes.
                var node = target.node.used(at: start)
                node.range = SourceRange(start: start, end: Self.mark(event.end_mark))
                aliasTargets[start] = target.node.range
                builder.attach(node, size: target.size)
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
                guard let root = builder.root, !(root.scalar?.isNull ?? false) else {
                    let hasText = buffer.contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
                    throw YAMLError(
                        .empty,
                        hasText
                            ? "the file holds no YAML content, only comments or an empty document"
                            : "the file is empty",
                        at: SourceMark(line: 1, column: 1))
                }
                return YAMLDocument(root: root, aliasTargets: aliasTargets)
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

/// The stack of open sequences and mappings while events arrive, with each subtree's node count for alias accounting.
private struct TreeBuilder {
    private struct Frame {
        var isMapping: Bool
        var start: SourceMark
        var anchor: String?
        var items: [Node] = []
        var pendingKey: Node?
        var pairs: [Node.Pair] = []
        var size = 1
    }

    private var stack: [Frame] = []
    private(set) var root: Node?

    var depth: Int { stack.count }

    mutating func open(isMapping: Bool, start: SourceMark, anchor: String?) {
        var frame = Frame(isMapping: isMapping, start: start, anchor: anchor)
        // Most collections of a workflow hold a few entries: one allocation instead of growing 1, 2, 4.
        if isMapping { frame.pairs.reserveCapacity(4) } else { frame.items.reserveCapacity(4) }
        stack.append(frame)
    }

    mutating func close(end: SourceMark) -> (node: Node, size: Int, anchor: String?) {
        let frame = stack.removeLast()
        let range = SourceRange(start: frame.start, end: end)
        let node = Node(frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items), range: range)
        return (node, frame.size, frame.anchor)
    }

    /// Adds a finished node to the innermost open collection, or makes it the document's root.
    mutating func attach(_ node: consuming Node, size: Int) {
        let top = stack.count - 1
        guard top >= 0 else {
            root = node
            return
        }
        stack[top].size += size
        if stack[top].isMapping {
            // `take()` moves the key out instead of copying it (no retain/release per entry).
            if let key = stack[top].pendingKey.take() {
                stack[top].pairs.append(Node.Pair(key: key, value: node))
            } else {
                stack[top].pendingKey = node
            }
        } else {
            stack[top].items.append(node)
        }
    }
}
