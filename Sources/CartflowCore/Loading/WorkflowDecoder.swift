import CartflowYAML

/// Walks a node tree by hand for one file, collecting every problem with its place (a `Decodable` would lose it).
/// Each reader returns `nil` after reporting, so callers keep going and report everything at once.
final class WorkflowDecoder {
    let file: String
    let environment: [String: String]
    private(set) var diagnostics: [Diagnostic] = []
    /// Environment variables that hold the API key — `MULTICART_API_KEY` always, and the one `api.key` names:
    /// no other field may read them, so their values can never reach a path, a message or an export.
    var secretVariables: Set<String> = ["MULTICART_API_KEY"] {
        didSet { secretValues = Self.values(of: secretVariables, in: environment) }
    }
    /// Lines holding a literal secret: diagnostics there are rendered without the source line.
    var secretLines: Set<Int> = []

    /// The file's lines (as `Diagnostic.splitLines` cuts them), to place positions inside quoted scalars; split
    /// only when a diagnostic needs them, since a valid file never does.
    private(set) lazy var sourceLines: [Substring] = sourceText.map(Diagnostic.splitLines) ?? []
    private let sourceText: String?

    init(
        file: String, environment: [String: String], sourceText: String? = nil
    ) {
        self.file = file
        self.environment = environment
        self.sourceText = sourceText
        self.secretValues = Self.values(of: secretVariables, in: environment)
        self.shortestSecret = secretValues.map(\.byteCount).min() ?? Int.max
    }

    var hasErrors: Bool { diagnostics.hasErrors }

    /// The place a diagnostic names for `mark`: a node with an anchor starts at the `&` for libyaml, but its value
    /// is what is wrong, so such a place moves past the anchor (nothing else starts with `&`).
    func location(_ mark: SourceMark) -> SourceLocation {
        let mark = contentStart(mark)
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func report(
        _ code: DiagnosticCode, _ message: String, at mark: SourceMark, path: String,
        notes: [Diagnostic.Note] = [], severity: Diagnostic.Severity? = nil
    ) {
        // Messages echo values from the file and the environment: show their control characters as escapes.
        diagnostics.append(
            Diagnostic(
                code: code, severity: severity, message: Diagnostic.visible(message), location: location(mark),
                keyPath: Diagnostic.visible(path),
                notes: notes.map { Diagnostic.Note(message: Diagnostic.visible($0.message), location: $0.location) }))
    }

    /// The values of the secret variables that are set: no field but `api.key` may hold one, and no message may
    /// show one — raw or percent-encoded (`SecretText`).
    private(set) var secretValues: [SecretText] {
        didSet { shortestSecret = secretValues.map(\.byteCount).min() ?? Int.max }
    }
    /// The byte count of the shortest secret: shorter text cannot hold one, and nearly every key and value is.
    private var shortestSecret = Int.max

    private static func values(of variables: Set<String>, in environment: [String: String]) -> [SecretText] {
        variables.sorted().compactMap { environment[$0] }.filter { !$0.isEmpty }.map(SecretText.init)
    }

    /// The diagnostics in file order, with source lines hidden where a secret sits (at the diagnostic's place or
    /// at one of its notes, since notes are rendered with their lines too).
    func finishedDiagnostics() -> [Diagnostic] {
        // A node used through several aliases is decoded once per use, under another key path each time: its own
        // problems (same code, same place, same message but for the key path) are one each, reported with the
        // key path of the first use decoded.
        var seen = Set<String>()
        let unique = diagnostics.filter {
            seen.insert("\($0.code) \($0.line):\($0.column) \(Self.withoutKeyPath($0.message, $0.keyPath))").inserted
        }
        return unique.map { diagnostic in
            var diagnostic = diagnostic
            if secretLines.contains(diagnostic.line)
                || diagnostic.notes.contains(where: {
                    secretLines.contains($0.location.line)
                })
            {
                diagnostic.showsSourceLine = false
            }
            return diagnostic
        }.sortedByLocation()
    }

    /// `message` with every quoted mention of `keyPath` or of a path above it (`'collections.phones'` for
    /// `collections.phones.itemz`) replaced by `'…'`: what two reports of one aliased node have in common.
    static func withoutKeyPath(_ message: String, _ keyPath: String) -> String {
        guard !keyPath.isEmpty, message.contains("'") else { return message }
        var prefixes = [keyPath]
        var index = keyPath.endIndex
        while let cut = keyPath[..<index].lastIndex(where: { $0 == "." || $0 == "[" }) {
            if cut > keyPath.startIndex { prefixes.append(String(keyPath[..<cut])) }
            index = cut
        }
        return prefixes.reduce(message) { $0.replacingOccurrences(of: "'\($1)'", with: "'…'") }
    }

    /// Reports `node` as a repeat of `first` (a duplicate key or value), with a note at `first`. Both written in
    /// the same text — outside any alias, or inside one aliased subtree (whose anchor reports it too, at the same
    /// places) — the repeat is reported where it is written. When an alias brings a node to where it repeats
    /// another (`steps: [&s {…}, *s]`), the anchor's text is not wrong, its use is: the report is at the alias.
    func reportRepeat(
        _ message: String, at node: Node, of first: Node, path: String, note: String,
        code: DiagnosticCode = .duplicateValue
    ) {
        let sameText = node.usedAt == first.usedAt
        report(
            code, message, at: sameText ? node.start : node.usedAt ?? node.start, path: path,
            notes: [
                Diagnostic.Note(message: note, location: location(sameText ? first.start : first.usedAt ?? first.start))
            ])
    }

    // MARK: Structure

    /// The first entry of each key of a mapping, after reporting unknown, duplicate and malformed keys. Not
    /// copyable: it is moved out of `fields(_:at:allowed:)` and borrowed by the section that reads it (and by the
    /// closures that build its key paths), so reading a mapping allocates nothing and copies no reference.
    struct Fields: ~Copyable {
        let node: Node
        let place: FieldPath
        /// The mapping's entries as parsed (a view of the document, indexing it copies nothing).
        let pairs: Node.Pairs
        let keys: KeySet
        /// For each of `keys`, the index in `pairs` of its first entry, or -1, kept in place.
        var slots = InlineArray<12, Int32>(repeating: -1)  // KeySet.capacity

        init(node: Node, place: FieldPath, pairs: Node.Pairs, keys: KeySet) {
            self.node = node
            self.place = place
            self.pairs = pairs
            self.keys = keys
        }

        private func position(_ key: String) -> Int? {
            guard let slot = keys.index(of: key) else {
                preconditionFailure("'\(key)' is not one of the keys this section reads")
            }
            let position = slots[slot]
            return position < 0 ? nil : Int(position)
        }

        // Unwrapped by hand: `position(key).map(pairs.value(at:))` made a closure, and retained the table, for
        // every key read.
        subscript(_ key: String) -> Node? {
            guard let position = position(key) else { return nil }
            return pairs.value(at: position)
        }
        func keyNode(_ key: String) -> Node? {
            guard let position = position(key) else { return nil }
            return pairs.key(at: position)
        }
        /// The mapping's key path (empty for the top level).
        var path: String { place.text }
        func path(_ key: String) -> String { FieldPath(place.text, key: key).text }
    }

    /// Where a mapping is, as a key path: the text (`collections.laptops`, `steps[3]`) is built only when a
    /// message names it, since a valid file never needs it.
    struct FieldPath {
        private enum Last {
            case none
            case key(String)
            case index(Int)
        }
        private let parent: String
        private let last: Last

        init(_ path: String) { (parent, last) = (path, .none) }
        init(_ parent: String, key: String) { (self.parent, last) = (parent, .key(key)) }
        init(_ parent: String, index: Int) { (self.parent, last) = (parent, .index(index)) }

        var text: String {
            switch last {
            case .none: return parent
            case .key(let key): return parent.isEmpty ? key : "\(parent).\(key)"
            case .index(let index): return "\(parent)[\(index)]"
            }
        }
    }

    /// Reads a mapping whose keys are fixed by the format. A key written as one of `allowed` is matched on its
    /// bytes in the document, without building its text; any other key takes the path that reports it.
    func fields(_ node: Node, path: String, allowed: KeySet) -> Fields? {
        fields(node, at: FieldPath(path), allowed: allowed)
    }

    func fields(_ node: Node, at place: FieldPath, allowed: KeySet) -> Fields? {
        var path: String { place.text }
        guard let pairs = mappingPairs(node, path: path) else { return nil }
        var fields = Fields(node: node, place: place, pairs: pairs, keys: allowed)
        // Keys that are not the format's, as text, first occurrence only: reported once each, their repeats as
        // duplicates.
        var others: [(name: String, index: Int)] = []
        for position in pairs.indices {
            if let slot = pairs.withKeyBytes(at: position, { allowed.index(of: $0) }) ?? nil {
                // The key's node, name and path are made only when needed: nearly every key is shorter than the
                // API key, and written once.
                if allowed.byteCount(at: slot) >= shortestSecret,
                    refusesSecret(inKey: allowed.names[slot], pairs.key(at: position), path: path)
                {
                    continue
                }
                let earlier = fields.slots[slot]
                guard earlier < 0 else {
                    reportDuplicate(
                        allowed.names[slot], at: pairs.key(at: position), of: pairs.key(at: Int(earlier)), path: path)
                    continue
                }
                fields.slots[slot] = Int32(position)
                continue
            }
            let keyNode = pairs.key(at: position)
            guard let key = checkedKey(keyNode, path: path, among: others, of: pairs) else { continue }
            others.append((key, position))
            let place = path.isEmpty ? "at the top level" : "in '\(path)'"
            var message = "unknown key '\(key)' \(place)"
            if let suggestion = closestMatch(to: key, in: allowed.names) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += " (known keys: \(allowed.names.joined(separator: ", ")))"
            }
            report(.unknownKey, message, at: keyNode.start, path: path.isEmpty ? key : "\(path).\(key)")
        }
        return fields
    }

    /// The keys of a mapping whose keys are names chosen by the user (collections), in file order.
    final class NamedEntries {
        let pairs: Node.Pairs
        /// Each name with its entry's index in `pairs`, first occurrence only.
        let keys: [(name: String, index: Int)]
        /// Position in `keys` by name, for a mapping large enough to hash; nil for a small one.
        let index: [String: Int]?
        /// The names alone, listed when a message or a step reading every collection needs them.
        private(set) lazy var names: [String] = keys.map(\.name)

        init(pairs: Node.Pairs, keys: [(name: String, index: Int)], index: [String: Int]?) {
            (self.pairs, self.keys, self.index) = (pairs, keys, index)
        }

        func contains(_ name: String) -> Bool {
            index.map { $0[name] != nil } ?? keys.contains { $0.name == name }
        }
    }

    /// Reads a mapping whose keys are names chosen by the user (collections), in file order.
    func namedEntries(_ node: Node, path: String) -> NamedEntries? {
        guard let pairs = mappingPairs(node, path: path) else { return nil }
        let (keys, index) = uniqueKeys(pairs, path: path)
        return NamedEntries(pairs: pairs, keys: keys, index: index)
    }

    private func mappingPairs(_ node: Node, path: @autoclosure () -> String) -> Node.Pairs? {
        guard let pairs = node.mapping else {
            let path = path()
            let what = path.isEmpty ? "the file" : "'\(path)'"
            report(
                .wrongType, "\(what) must be a mapping of keys to values, found \(node.kindName)", at: node.start,
                path: path)
            return nil
        }
        return pairs
    }

    /// Keys as text with their index in `pairs`, first occurrence only; duplicates, merge keys and non-text keys are reported.
    private func uniqueKeys(_ pairs: Node.Pairs, path: String) -> ([(name: String, index: Int)], [String: Int]?) {
        var result: [(name: String, index: Int)] = []
        result.reserveCapacity(pairs.count)
        // Small mappings check duplicates linearly (`checkedKey`); large ones (collections) hash.
        var index: [String: Int]? = pairs.count > 16 ? Dictionary(minimumCapacity: pairs.count) : nil
        for position in pairs.indices {
            guard
                let key = checkedKey(pairs.key(at: position), path: path, among: index == nil ? result : [], of: pairs)
            else { continue }
            // One hash per key: the first entry of a name stays its owner.
            if let earlier = index?.updateValue(result.count, forKey: key) {
                index?[key] = earlier
                reportDuplicate(key, at: pairs.key(at: position), of: pairs.key(at: result[earlier].index), path: path)
                continue
            }
            result.append((key, position))
        }
        return (result, index)
    }

    /// A key's text, or nil after reporting it: not plain text, the API key, a merge key, or a repeat of one of
    /// `earlier` (keys already read from `pairs`, with their index there).
    private func checkedKey(
        _ keyNode: Node, path: String, among earlier: [(name: String, index: Int)], of pairs: Node.Pairs
    ) -> String? {
        guard let scalar = keyNode.scalar, !scalar.isNull || scalar.text == "null" else {
            report(.wrongType, "a key must be plain text, found \(keyNode.kindName)", at: keyNode.start, path: path)
            return nil
        }
        let key = scalar.text
        if refusesSecret(inKey: key, keyNode, path: path) { return nil }
        if scalar.style == .plain, key == "<<" {
            report(
                .mergeKey,
                "merge keys ('<<') are not supported; write the keys out, or reuse a whole value with an alias (key: *name)",
                at: keyNode.start, path: path.isEmpty ? key : "\(path).\(key)")
            return nil
        }
        if let first = earlier.first(where: { $0.name == key }) {
            reportDuplicate(key, at: keyNode, of: pairs.key(at: first.index), path: path)
            return nil
        }
        return key
    }

    private func reportDuplicate(_ key: String, at keyNode: Node, of first: Node, path: String) {
        reportRepeat(
            "duplicate key '\(key)'; each key may appear once in a mapping", at: keyNode, of: first,
            path: path.isEmpty ? key : "\(path).\(key)", note: "'\(key)' is first set here", code: .duplicateKey)
    }

    /// Hides the lines of `node` from diagnostics (a secret may be written there), and, where it or a node inside
    /// it comes through an alias, the lines of the anchored text, where that secret is written.
    func hideLines(of node: Node) {
        for range in [node.range, node.textRange] {
            secretLines.formUnion(range.start.line...max(range.start.line, range.end.line))
        }
        switch node.kind {
        case .scalar: break
        case .sequence(let items): for item in items { hideLines(of: item) }
        case .mapping(let pairs):
            for pair in pairs {
                hideLines(of: pair.key)
                hideLines(of: pair.value)
            }
        }
    }

    /// Whether a key holds the API key (a collection named by it, a column output name): such a key is reported
    /// without echoing it, and dropped, so it never reaches a step id, a plan or a graph. Every key a user
    /// chooses passes here — mapping keys in `uniqueKeys`, column output names in `columnSpecs`.
    func refusesSecret(inKey key: String, _ keyNode: Node, path: @autoclosure () -> String) -> Bool {
        // Keys are many and short: one shorter than the key cannot hold it (utf8.count is O(1) on native text).
        guard key.utf8.count >= shortestSecret,
            secretValues.contains(where: { key.utf8.count >= $0.byteCount && Self.holds(key, secret: $0) })
        else {
            return false
        }
        hideLines(of: keyNode)
        let path = path()
        let place = path.isEmpty ? "at the top level" : "in '\(path)'"
        report(
            .literalSecret,
            "a key \(place) holds the API key; the key may only be given in 'api.key', as ${VARIABLE}",
            at: keyNode.start, path: path)
        return true
    }

    /// A list's items as `list` reads them: the items of a list, or one value standing for a one-item list. A
    /// view of the document, not a copy.
    struct NodeList: RandomAccessCollection, ExpressibleByArrayLiteral {
        private let items: Node.Items?
        private let single: Node?

        init(_ items: Node.Items) { (self.items, single) = (items, nil) }
        init(single: Node) { (items, self.single) = (nil, single) }
        /// Only `[]`, for an absent list.
        init(arrayLiteral elements: Node...) {
            precondition(elements.isEmpty, "a NodeList literal is empty")
            (items, single) = (nil, nil)
        }

        var startIndex: Int { 0 }
        var endIndex: Int { items?.count ?? (single == nil ? 0 : 1) }
        subscript(position: Int) -> Node {
            if let items { return items[position] }
            precondition(position == 0 && single != nil, "index out of range")
            return single!
        }
    }

    /// A list's items; a single value counts as a one-item list when `allowSingle` (so `from: laptops` works).
    func list(
        _ node: Node, path: @autoclosure () -> String, of what: String, allowSingle: Bool = true,
        allowEmpty: Bool = false
    )
        -> NodeList?
    {
        if let items = node.sequence {
            if items.isEmpty, !allowEmpty {
                report(
                    .emptyCollection, "'\(path())' is an empty list; give at least one \(what), or remove the key",
                    at: node.start, path: path())
                return nil
            }
            return NodeList(items)
        }
        if allowSingle, node.isScalar, !node.isNull { return NodeList(single: node) }
        report(
            .wrongType, "'\(path())' must be a list of \(what)s, found \(node.kindName)", at: node.start, path: path())
        return nil
    }

    // MARK: Scalars

    /// The scalar's text with `${...}` expanded; `what` names the expected value for messages.
    func text(_ node: Node, path: @autoclosure () -> String, what: @autoclosure () -> String) -> String? {
        guard let scalar = node.scalar else {
            report(.wrongType, "'\(path())' must be \(what()), found \(node.kindName)", at: node.start, path: path())
            return nil
        }
        if scalar.isNull {
            report(
                .wrongType, "'\(path())' has no value; write \(what()), or remove the key", at: node.start, path: path()
            )
            return nil
        }
        // Nearly every value has no `$`: it is its own text, moved out of the scalar rather than copied.
        var value = (consume scalar).text
        if JSONSerializer.withUTF8(value, { $0.contains(UInt8(ascii: "$")) }) {
            guard let expanded = interpolate(value, node: node, path: path()) else { return nil }
            value = expanded
        }
        // The key pasted (or interpolated) into another field would be echoed in messages, paths and state.
        if value.utf8.count >= shortestSecret, secretValues.contains(where: { Self.holds(value, secret: $0) }) {
            // Its lines are never shown: the text there may spell the key in an escape the redaction cannot know
            // (`\x2B` for `+`, a line folded in the middle of it).
            secretLines.formUnion(node.range.start.line...max(node.range.start.line, node.range.end.line))
            report(
                .literalSecret,
                "'\(path())' holds the API key; the key may only be given in 'api.key', as ${VARIABLE}",
                at: node.start, path: path())
            return nil
        }
        return value
    }

    /// Whether `value` holds `secret`: anywhere in it, raw or percent-encoded, for a key of real length; whole
    /// and raw for a short test key (so a two-letter key does not flag every word that contains those letters).
    static func holds(_ value: String, secret: SecretText) -> Bool {
        secret.secret.utf8.count >= 8 ? secret.contains(in: value) : value == secret.secret
    }

    /// `text` with `${...}` expanded, or nil after reporting what cannot be.
    func interpolate(_ text: String, node: Node, path: @autoclosure () -> String) -> String? {
        let result = Interpolation.expand(text, environment: environment)
        var failed = false
        for reference in result.references where secretVariables.contains(reference.name) {
            report(
                .literalSecret,
                "${\(reference.name)} holds the API key and may only be used in 'api.key'",
                at: mark(in: node, offset: reference.offset), path: path())
            failed = true
        }
        for problem in result.problems {
            switch problem {
            case .unset(let name, let offset):
                guard !secretVariables.contains(name) else { continue }
                report(
                    .unsetVariable,
                    "environment variable \(name) is not set; set it, or give a default with ${\(name):-value}",
                    at: mark(in: node, offset: offset), path: path())
            case .malformed(let message, let offset):
                report(.badInterpolation, message, at: mark(in: node, offset: offset), path: path())
            }
            failed = true
        }
        return failed ? nil : result.value
    }

    /// The position of a character inside a scalar (`offset` counts Unicode scalars of its text), exact for every
    /// style: escapes (`\t`, `\u00e9`, `''`) are counted as written; in a scalar over several lines (plain,
    /// quoted, literal `|` or folded `>`) by `markAcrossLines`. The scalar's start when the source does not match.
    /// Only a plain scalar on one line starts with its first character: a quoted one starts at its quote, a block
    /// one at its `|` or `>`, so even offset 0 is looked up.
    func mark(in node: Node, offset: Int) -> SourceMark {
        guard let scalar = node.scalar, offset >= 0 else { return node.start }
        // Through an alias the characters are at the anchor, where the text is written; an anchor (`&name`) is part
        // of the node for libyaml, but the scalar's own text starts after it.
        var range = node.textRange
        range.start = contentStart(range.start)
        if offset == 0, scalar.style == .plain, range.start.line == range.end.line { return range.start }
        guard range.start.line == range.end.line, scalar.style != .literal, scalar.style != .folded else {
            return markAcrossLines(in: range, scalar: scalar, offset: offset) ?? range.start
        }
        switch scalar.style {
        case .plain: return SourceMark(line: range.start.line, column: range.start.column + offset)
        case .singleQuoted, .doubleQuoted:
            guard range.start.line <= sourceLines.count else { return range.start }
            let raw = Array(sourceLines[range.start.line - 1].unicodeScalars.dropFirst(range.start.column))
            var index = 0
            for _ in 0..<offset {
                guard index < raw.count else { return range.start }
                index += Self.writtenLength(raw, at: index, doubleQuoted: scalar.style == .doubleQuoted)
            }
            return SourceMark(line: range.start.line, column: range.start.column + 1 + index)
        case .literal, .folded: return range.start
        }
    }

    /// Where a scalar's own text (its quote, `|`, `>` or first character) starts, for a node starting at `start`:
    /// after an anchor `&name` and the white space, comments and line breaks that follow it.
    func contentStart(_ start: SourceMark) -> SourceMark {
        var line = start.line
        var index = start.column - 1
        guard line >= 1, line <= sourceLines.count else { return start }
        var source = Array(sourceLines[line - 1].unicodeScalars)
        guard index < source.count, source[index] == "&" else { return start }
        while index < source.count, source[index] != " ", source[index] != "\t" { index += 1 }
        while true {
            while index < source.count, source[index] == " " || source[index] == "\t" { index += 1 }
            if index < source.count, source[index] != "#" { return SourceMark(line: line, column: index + 1) }
            line += 1
            guard line <= sourceLines.count else { return start }
            source = Array(sourceLines[line - 1].unicodeScalars)
            index = 0
        }
    }

    /// The place of a text character in a scalar written over several lines. Line folding, indentation and
    /// chomping change only white space and line breaks, so the text's n-th other character is the source's n-th
    /// other character from where the content starts (after the quote, or on the line after a `|`/`>` header),
    /// escapes decoded as they are written. Nil when the character is white space or the source disagrees.
    private func markAcrossLines(in range: SourceRange, scalar: Scalar, offset: Int) -> SourceMark? {
        let text = Array(scalar.text.unicodeScalars)
        guard offset < text.count, !Self.folds(text[offset]) else { return nil }
        var remaining = text[..<offset].count { !Self.folds($0) }
        let quote: Unicode.Scalar? =
            scalar.style == .singleQuoted ? "'" : scalar.style == .doubleQuoted ? "\"" : nil
        var line = range.start.line
        var index = range.start.column - 1 + (quote == nil ? 0 : 1)
        if scalar.style == .literal || scalar.style == .folded {
            line += 1
            index = 0
        }
        while line <= min(range.end.line, sourceLines.count) {
            let source = Array(sourceLines[line - 1].unicodeScalars)
            while index < source.count {
                var produced: Unicode.Scalar? = source[index]
                var length = 1
                if let quote {
                    guard let (character, written) = Self.quotedCharacter(source, at: index, quote: quote) else {
                        return nil
                    }
                    (produced, length) = (character, written)
                }
                if let produced, !Self.folds(produced) {
                    if remaining == 0 {
                        return produced == text[offset] ? SourceMark(line: line, column: index + 1) : nil
                    }
                    remaining -= 1
                }
                index += length
            }
            line += 1
            index = 0
        }
        return nil
    }

    /// White space and line breaks: what folding and indentation may add, drop or change in a scalar's text.
    private static func folds(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": return true
        default: return false
        }
    }

    /// The text character that the source of a quoted scalar makes at `index` (nil for an escaped line break),
    /// and how many source characters make it; nil at the closing quote.
    private static func quotedCharacter(_ source: [Unicode.Scalar], at index: Int, quote: Unicode.Scalar)
        -> (Unicode.Scalar?, Int)?
    {
        let character = source[index]
        if quote == "'" {
            guard character == "'" else { return (character, 1) }
            return index + 1 < source.count && source[index + 1] == "'" ? ("'", 2) : nil
        }
        if character == "\"" { return nil }
        guard character == "\\" else { return (character, 1) }
        guard index + 1 < source.count else { return (nil, 1) }
        let escapes: [Unicode.Scalar: Unicode.Scalar] = [
            "0": "\0", "a": "\u{7}", "b": "\u{8}", "t": "\t", "\t": "\t", "n": "\n", "v": "\u{B}", "f": "\u{C}",
            "r": "\r", "e": "\u{1B}", " ": " ", "\"": "\"", "/": "/", "\\": "\\", "N": "\u{85}", "_": "\u{A0}",
            "L": "\u{2028}", "P": "\u{2029}",
        ]
        let letter = source[index + 1]
        if let escaped = escapes[letter] { return (escaped, 2) }
        let digits = letter == "x" ? 2 : letter == "u" ? 4 : letter == "U" ? 8 : 0
        guard digits > 0, index + 2 + digits <= source.count,
            let value = UInt32(String(String.UnicodeScalarView(source[(index + 2)..<(index + 2 + digits)])), radix: 16),
            let decoded = Unicode.Scalar(value)
        else { return nil }
        return (decoded, 2 + digits)
    }

    /// How many characters of a quoted scalar's source make the one text character at `index`.
    private static func writtenLength(_ raw: [Unicode.Scalar], at index: Int, doubleQuoted: Bool) -> Int {
        if !doubleQuoted { return raw[index] == "'" ? 2 : 1 }
        guard raw[index] == "\\", index + 1 < raw.count else { return 1 }
        switch raw[index + 1] {
        case "x": return 4
        case "u": return 6
        case "U": return 10
        default: return 2
        }
    }

    /// Shows the text that was read, and where it came from if interpolation changed it.
    func shown(_ value: String, _ node: Node) -> String {
        if let raw = node.scalar?.text, raw != value { return "'\(value)' (from '\(raw)')" }
        return "'\(value)'"
    }

    func string(_ node: Node, path: @autoclosure () -> String, allowEmpty: Bool = false) -> String? {
        guard let value = text(node, path: path(), what: "text") else { return nil }
        if value.isEmpty, !allowEmpty {
            report(.wrongType, "'\(path())' is empty; write a value, or remove the key", at: node.start, path: path())
            return nil
        }
        return value
    }

    /// What `read` makes of the scalar's bytes, when `text` would give them back unchanged and unflagged: not null,
    /// no `$` (nothing to expand), shorter than every secret (nothing to hide). Typed fields read their common
    /// values (`true`, `250`, `csv`) so, without building text; `read` returns nil for anything else, and the
    /// caller then takes the path that reports it.
    @inline(__always)
    private func plainValue<Value>(_ node: Node, _ read: (UnsafeBufferPointer<UInt8>) -> Value?) -> Value? {
        guard !node.isNull else { return nil }
        return node.withScalarBytes { bytes in
            bytes.count < shortestSecret && !bytes.contains(UInt8(ascii: "$")) ? read(bytes) : nil
        } ?? nil
    }

    func bool(_ node: Node, path: @autoclosure () -> String) -> Bool? {
        if let value = plainValue(node, { spells($0, "true") ? true : spells($0, "false") ? false : nil }) {
            return value
        }
        guard let value = text(node, path: path(), what: "true or false") else { return nil }
        switch value {
        case "true": return true
        case "false": return false
        default:
            report(
                .invalidBoolean, "'\(path())' must be true or false, got \(shown(value, node)); write true or false",
                at: node.start, path: path())
            return nil
        }
    }

    func int(_ node: Node, path: @autoclosure () -> String, range: ClosedRange<Int>) -> Int? {
        if let number = plainValue(node, ValueParsers.plainInteger), range.contains(number) { return number }
        guard let value = text(node, path: path(), what: "a whole number") else { return nil }
        func bounds() -> String {
            range.upperBound == Int.max
                ? "a whole number of at least \(range.lowerBound)"
                : "a whole number from \(range.lowerBound) to \(range.upperBound)"
        }
        switch ValueParsers.integer(value) {
        case .success(let number) where range.contains(number):
            return number
        case .success:
            report(
                .invalidInteger, "'\(path())' must be \(bounds()), got \(shown(value, node))", at: node.start,
                path: path())
        case .failure(let problem):
            report(
                .invalidInteger, "'\(path())' must be \(bounds()), got \(shown(value, node)); \(problem.hint)",
                at: node.start, path: path())
        }
        return nil
    }

    func duration(_ node: Node, path: @autoclosure () -> String, minimum: Int = 1) -> Seconds? {
        guard let value = text(node, path: path(), what: "a duration such as 90s, 15m or 1h30m") else { return nil }
        switch ValueParsers.duration(value) {
        case .success(let seconds) where seconds.value >= minimum:
            return seconds
        case .success:
            report(
                .invalidDuration, "'\(path())' must be at least \(Seconds(minimum)), got \(shown(value, node))",
                at: node.start, path: path())
        case .failure(let problem):
            report(
                .invalidDuration,
                "'\(path())' must be a duration such as 90s, 15m or 1h30m, got \(shown(value, node)); \(problem.hint)",
                at: node.start, path: path())
        }
        return nil
    }

    func clockTime(_ node: Node, path: @autoclosure () -> String) -> ClockTime? {
        guard let value = text(node, path: path(), what: "a time of day such as 08:00") else { return nil }
        switch ValueParsers.clockTime(value) {
        case .success(let time): return time
        case .failure(let problem):
            report(
                .invalidTime,
                "'\(path())' must be a time of day HH:MM (24-hour), got \(shown(value, node)); \(problem.hint)",
                at: node.start, path: path())
            return nil
        }
    }

    func weekday(_ node: Node, path: @autoclosure () -> String) -> Weekday? {
        guard let value = text(node, path: path(), what: "a day name such as mon") else { return nil }
        if let day = ValueParsers.weekday(value) { return day }
        var message = "'\(path())' must be a day name (mon, tue, wed, thu, fri, sat, sun), got \(shown(value, node))"
        let lower = value.lowercased()
        // `thurs`, `tues`: a prefix of a full name, or a short name plus extra letters.
        let byPrefix = Weekday.allCases.first { day in
            lower.count >= 3
                && (ValueParsers.fullDayNames[day.rawValue - 1].hasPrefix(lower) || lower.hasPrefix(day.description))
        }
        let names = Weekday.allCases.map(\.description) + ValueParsers.fullDayNames
        if let suggestion = byPrefix?.description ?? closestMatch(to: lower, in: names) {
            message += "; did you mean '\(suggestion)'?"
        }
        report(.invalidDay, message, at: node.start, path: path())
        return nil
    }

    func zone(_ node: Node, path: @autoclosure () -> String) -> ScheduleZone? {
        guard let value = text(node, path: path(), what: "a time zone such as Europe/Paris or UTC+10") else {
            return nil
        }
        switch ValueParsers.zone(value) {
        case .success(let zone): return zone
        case .failure(let problem):
            report(
                .invalidTimeZone,
                "'\(path())' must be an IANA time zone (Australia/Sydney) or a fixed offset (UTC+10, UTC-03:30), got \(shown(value, node)); \(problem.hint)",
                at: node.start, path: path())
            return nil
        }
    }

    /// One of an enumeration's raw values, listing them all when the text is not one.
    func choice<Value: RawRepresentable & CaseIterable>(
        _ node: Node, path: @autoclosure () -> String, as type: Value.Type
    ) -> Value?
    where Value.RawValue == String {
        if let value = plainValue(node, { bytes in Value.allCases.first { spells(bytes, $0.rawValue) } }) {
            return value
        }
        guard
            let value = text(
                node, path: path(), what: "one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        else { return nil }
        if let result = Value(rawValue: value) { return result }
        let allowed = Value.allCases.map(\.rawValue)
        var message = "'\(path())' must be one of \(allowed.joined(separator: ", ")), got \(shown(value, node))"
        if let suggestion = closestMatch(to: value, in: allowed) { message += "; did you mean '\(suggestion)'?" }
        report(.invalidChoice, message, at: node.start, path: path())
        return nil
    }
}

/// Whether `bytes` spell `text`: the byte count first, then the bytes.
@inline(__always) func spells(_ bytes: UnsafeBufferPointer<UInt8>, _ text: String) -> Bool {
    text.utf8.count == bytes.count && JSONSerializer.withUTF8(text) { $0.elementsEqual(bytes) }
}

/// The keys one section of the format allows, in the order messages list them. Each is also kept packed into
/// three words, in place: a mapping's keys are matched against them from the document's bytes, with no text
/// built and nothing to retain.
final class KeySet: Sendable {
    /// The most keys a section has (`Fields` keeps one slot per key, in place).
    static let capacity = 12
    /// The longest key, in bytes, that fits three words.
    static let maxKeyBytes = 24

    let names: [String]
    private let packed: InlineArray<12, (count: Int, words: (UInt64, UInt64, UInt64))>

    init(_ names: [String]) {
        precondition(names.count <= Self.capacity, "a section has at most \(Self.capacity) keys")
        self.names = names
        var packed = InlineArray<12, (count: Int, words: (UInt64, UInt64, UInt64))>(repeating: (-1, (0, 0, 0)))
        for (index, name) in names.enumerated() {
            let bytes = Array(name.utf8)
            precondition(bytes.count <= Self.maxKeyBytes, "'\(name)' is longer than a packed key")
            packed[index] = bytes.withUnsafeBufferPointer { (bytes.count, Self.words($0)) }
        }
        self.packed = packed
    }

    /// Up to 24 bytes as three words, zero-padded.
    private static func words(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
        return words
    }

    /// The index of the name spelt by `key`, if any.
    func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard key.count <= Self.maxKeyBytes else { return nil }
        let words = Self.words(key)
        for index in 0..<names.count {
            let candidate = packed[index]
            if candidate.count == key.count, candidate.words == words { return index }
        }
        return nil
    }

    /// The length in bytes of the name at `index`.
    func byteCount(at index: Int) -> Int { packed[index].count }

    /// The index of `name`, if it is one of the names: compared packed, as keys are (`==` on two different
    /// short strings of one length takes a slow path).
    func index(of name: String) -> Int? {
        JSONSerializer.withUTF8(name) { index(of: $0) }
    }
}
