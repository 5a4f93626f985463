import CartflowCore

/// A small, strict command-line parser: declared flags and options, positional arguments, clear usage errors.
public struct Arguments: Sendable {
    public private(set) var positional: [String] = []
    private var flags: Set<String> = []
    private var options: [String: [String]] = [:]

    /// Parses `arguments` given the long names of boolean `flags` and value-taking `options` (without `--`).
    /// `--name=value` and `--name value` are both accepted. Unknown `--names` are usage errors, and so is an
    /// option given twice unless it is `repeatable`: `--columns a --columns b` would otherwise keep only `b`.
    public init(
        _ arguments: [String], flags allowedFlags: Set<String>, options allowedOptions: Set<String>,
        repeatable: Set<String> = []
    ) throws {
        var index = 0
        var onlyPositional = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositional || !argument.hasPrefix("-") || argument == "-" {
                positional.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositional = true
                continue
            }
            var name = String(argument.drop(while: { $0 == "-" }))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if argument == "-h" { name = "help" }
            if allowedFlags.contains(name) {
                if inlineValue != nil { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
            } else if allowedOptions.contains(name) {
                if let earlier = options[name]?.first, !repeatable.contains(name) {
                    throw UsageError(
                        "--\(name) is given twice ('\(earlier)' and '\(inlineValue ?? (index < arguments.count ? arguments[index] : ""))'); give it once"
                    )
                }
                if let inlineValue {
                    options[name, default: []].append(inlineValue)
                } else if index < arguments.count {
                    options[name, default: []].append(arguments[index])
                    index += 1
                } else {
                    throw UsageError("--\(name) needs a value")
                }
            } else {
                let known = (allowedFlags.union(allowedOptions)).sorted()
                var message = "unknown option '\(argument)'"
                if let suggestion = closestMatch(to: name, in: known) { message += "; did you mean '--\(suggestion)'?" }
                throw UsageError(message)
            }
        }
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    /// The value given for an option (a repeatable one: the last).
    public func option(_ name: String) -> String? { options[name]?.last }
    /// Every value given for a repeatable option, in order.
    public func options(_ name: String) -> [String] { options[name] ?? [] }

    /// An integer option, checked for range.
    public func intOption(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text = option(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(
                "--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    /// A comma-separated list option (`--columns a,b`), each entry trimmed of spaces; `nil` when not given.
    /// An empty list or entry (`""`, `a,,b`, `a,`) is a usage error, never silently dropped: it is a typo.
    public func listOption(_ name: String, example: String) throws -> [String]? {
        guard let text = option(name) else { return nil }
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if entries.allSatisfy(\.isEmpty) {
            throw UsageError("--\(name) is empty; give a comma-separated list such as '\(example)'")
        }
        if let empty = entries.firstIndex(where: \.isEmpty) {
            throw UsageError(
                "--\(name) has an empty entry (entry \(empty + 1) of '\(text)'); give a comma-separated list such as '\(example)'"
            )
        }
        return entries
    }

    /// An option restricted to a fixed set of values.
    public func choice(_ name: String, in allowed: [String], default fallback: String) throws -> String {
        guard let value = option(name) else { return fallback }
        guard allowed.contains(value) else {
            throw UsageError("--\(name) must be one of \(allowed.joined(separator: ", ")), got '\(value)'")
        }
        return value
    }
}

/// A bad flag or argument; exits with code 2 and a pointer to `--help`.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
