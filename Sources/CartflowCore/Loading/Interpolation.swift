/// `${VAR}`, `${VAR:-default}` and `$$` in the text of one parsed scalar (never in the raw file, so a value can
/// never change the YAML structure). A `$` followed by anything else is kept as written.
public enum Interpolation {
    /// One `${...}` found in the text; `offset` counts Unicode scalars from the start of the scalar's text.
    public struct Reference: Sendable, Equatable {
        public var name: String
        public var defaultValue: String?
        public var offset: Int
    }

    public enum Problem: Sendable, Equatable {
        /// `${NAME}` with NAME unset (or empty) and no default.
        case unset(name: String, offset: Int)
        /// `${` without a closing `}`, or a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
        case malformed(message: String, offset: Int)
    }

    public struct Result: Sendable, Equatable {
        public var value: String
        public var references: [Reference]
        public var problems: [Problem]
    }

    /// Expands `text` with `environment`. An unset variable leaves an empty string and a problem; the caller
    /// decides whether that is an error. A variable set to the empty string counts as unset for `:-`, as in sh.
    public static func expand(_ text: String, environment: [String: String]) -> Result {
        // Every scalar of a workflow passes here; most have no `$`. Searching the contiguous UTF-8 buffer is several
        // times cheaper than iterating `String.UTF8View` generically.
        let hasDollar =
            text.utf8.withContiguousStorageIfAvailable { $0.contains(UInt8(ascii: "$")) }
            ?? text.utf8.contains(UInt8(ascii: "$"))
        guard hasDollar else { return Result(value: text, references: [], problems: []) }
        let scalars = Array(text.unicodeScalars)
        var value = String.UnicodeScalarView()
        var references: [Reference] = []
        var problems: [Problem] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$", index + 1 < scalars.count else {
                value.append(scalar)
                index += 1
                continue
            }
            let next = scalars[index + 1]
            if next == "$" {
                value.append("$")
                index += 2
                continue
            }
            guard next == "{" else {
                value.append(scalar)
                index += 1
                continue
            }
            guard let close = scalars[(index + 2)...].firstIndex(of: "}") else {
                problems.append(.malformed(message: "'${' has no closing '}'", offset: index))
                return Result(value: String(value), references: references, problems: problems)
            }
            let innerScalars = scalars[(index + 2)..<close]
            let inner = String(String.UnicodeScalarView(innerScalars))
            var name = inner
            var defaultValue: String?
            if let colon = innerScalars.indices.first(where: {
                innerScalars[$0] == ":" && $0 + 1 < close && innerScalars[$0 + 1] == "-"
            }) {
                name = String(String.UnicodeScalarView(innerScalars[innerScalars.startIndex..<colon]))
                defaultValue = String(String.UnicodeScalarView(innerScalars[(colon + 2)...]))
            }
            if let defaultValue, defaultValue.contains("${") {
                // `${A:-${B}}` closes at the first `}`: the default would be `${B` and the last `}` stray text.
                problems.append(
                    .malformed(
                        message:
                            "'${\(inner)}…': a default cannot hold another ${...} (references do not nest); write the default as text",
                        offset: index))
            } else if !isVariableName(name) {
                problems.append(
                    .malformed(
                        message:
                            "'${\(inner)}' is not a variable reference; write ${NAME} or ${NAME:-default} (letters, digits and _), or $$ for a literal $",
                        offset: index))
            } else {
                references.append(Reference(name: name, defaultValue: defaultValue, offset: index))
                if let set = environment[name], !(set.isEmpty && defaultValue != nil) {
                    value.append(contentsOf: set.unicodeScalars)
                } else if let defaultValue {
                    value.append(contentsOf: defaultValue.unicodeScalars)
                } else {
                    problems.append(.unset(name: name, offset: index))
                }
            }
            index = close + 1
        }
        return Result(value: String(value), references: references, problems: problems)
    }

    /// Whether `name` is a valid environment variable name for `${...}`.
    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.isASCIILetter else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) }
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
