/// Why a YAML file could not become a node tree: a syntax error or one of the loader's own limits and rules.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file is larger than `YAMLLimits.maxBytes`.
        case tooLarge
        /// Bytes that are not UTF-8.
        case invalidUTF8
        /// libyaml refused the text.
        case syntax
        /// A tab used for indentation (YAML allows only spaces there).
        case tabIndentation
        /// A second `---` document.
        case multipleDocuments
        /// No document at all: an empty or comment-only file, or a lone `---`.
        case empty
        /// Collections nested deeper than `YAMLLimits.maxDepth`.
        case tooDeep
        /// Aliases would expand to more than `YAMLLimits.maxAliasNodes` nodes (a "billion laughs").
        case aliasExpansion
        /// `*name` with no `&name` before it.
        case undefinedAlias
        /// An explicit tag such as `!!int`; workflow files do not use tags.
        case tag
    }

    /// A second position that explains the first: libyaml's context mark, the first document, the first tab.
    public struct Context: Sendable, Equatable {
        public var message: String
        public var mark: SourceMark

        public init(message: String, mark: SourceMark) {
            self.message = message
            self.mark = mark
        }
    }

    public var kind: Kind
    public var message: String
    public var mark: SourceMark
    public var context: Context?

    public init(_ kind: Kind, _ message: String, at mark: SourceMark, context: Context? = nil) {
        self.kind = kind
        self.message = message
        self.mark = mark
        self.context = context
    }

    public var description: String {
        var text = "\(mark): \(message)"
        if let context { text += " (\(context.mark): \(context.message))" }
        return text
    }
}

/// The bounds the parser enforces, so a hostile or broken file fails fast with little memory.
public struct YAMLLimits: Sendable, Equatable {
    /// Largest accepted input, in bytes.
    public var maxBytes: Int
    /// Deepest nesting of sequences and mappings (libyaml itself has no limit).
    public var maxDepth: Int
    /// Most nodes that aliases may produce in total, counting every node of every aliased subtree.
    public var maxAliasNodes: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxAliasNodes: Int = 10_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxAliasNodes = maxAliasNodes
    }

    public static let `default` = YAMLLimits()
}
