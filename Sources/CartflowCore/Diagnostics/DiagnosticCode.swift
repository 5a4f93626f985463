/// Every diagnostic code cartflow reports about a workflow file; docs/diagnostics.md describes each with a fix.
/// Codes are stable: a code is never reused for a different problem.
public enum DiagnosticCode: String, Sendable, CaseIterable {
    // CF0xx: the file and its YAML.
    /// The file or folder cannot be read, or a folder holds no workflow files.
    case unreadable = "CF001"
    /// The file is larger than the size limit.
    case tooLarge = "CF002"
    /// Bytes that are not UTF-8.
    case invalidUTF8 = "CF003"
    /// libyaml refused the text.
    case syntax = "CF004"
    /// A tab used for indentation.
    case tabIndentation = "CF005"
    /// More than one YAML document in the file.
    case multipleDocuments = "CF006"
    /// An empty or comment-only file.
    case empty = "CF007"
    /// Nesting deeper than the limit.
    case tooDeep = "CF008"
    /// Aliases expand to too many nodes.
    case aliasExpansion = "CF009"
    /// Merge keys (`<<`) are not supported.
    case mergeKey = "CF010"
    /// An alias with no anchor before it.
    case undefinedAlias = "CF011"
    /// An explicit YAML tag.
    case tag = "CF012"

    // CF1xx: the workflow format.
    /// A required key is missing.
    case missingKey = "CF100"
    /// A value of the wrong shape (a list where a mapping belongs, null, an empty value).
    case wrongType = "CF101"
    /// A key the format does not know.
    case unknownKey = "CF102"
    /// The same key twice in one mapping.
    case duplicateKey = "CF103"
    /// Not `true` or `false`.
    case invalidBoolean = "CF104"
    /// Not a decimal whole number in range.
    case invalidInteger = "CF105"
    /// Not a duration such as `90s`, `15m`, `1h30m`.
    case invalidDuration = "CF106"
    /// Not a clock time `HH:MM`.
    case invalidTime = "CF107"
    /// Not a day name, or a day of the month out of range.
    case invalidDay = "CF108"
    /// Not an IANA time zone or a fixed offset `UTC+10`.
    case invalidTimeZone = "CF109"
    /// Not one of an enumeration's values.
    case invalidChoice = "CF110"
    /// `cartflow:` is not a format version this cartflow reads.
    case unsupportedVersion = "CF111"
    /// A name with characters outside the allowed set.
    case invalidName = "CF112"
    /// Not an http(s) URL or not a host name.
    case invalidURL = "CF113"
    /// A secret written literally, or the API key variable used outside `api.key`.
    case literalSecret = "CF114"
    /// `${VAR}` with `VAR` unset and no default.
    case unsetVariable = "CF115"
    /// A malformed `${...}` interpolation.
    case badInterpolation = "CF116"
    /// The API key's environment variable is unset (a warning: `run` needs it, `validate` and `plan --offline` do not).
    case apiKeyUnset = "CF117"
    /// A path template with an unknown or malformed placeholder.
    case badPathTemplate = "CF118"
    /// A step's `from:` names a collection that does not exist.
    case unknownCollection = "CF119"
    /// Settings that cannot go together (a weekly schedule without days, ...).
    case conflict = "CF120"
    /// An empty list or mapping where at least one entry is needed.
    case emptyCollection = "CF121"
    /// The same value twice where values must be unique (a day, a column, a collection id).
    case duplicateValue = "CF122"

    /// The severity a diagnostic with this code has unless said otherwise.
    public var defaultSeverity: Diagnostic.Severity {
        self == .apiKeyUnset ? .warning : .error
    }
}
