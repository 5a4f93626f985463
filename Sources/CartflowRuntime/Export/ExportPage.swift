import CartflowCore
import Foundation

/// An export that could not be done; the previous output file, if any, is untouched.
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// A page file could not be read.
    case unreadablePage(path: String, reason: String)
    /// A page file is not JSON.
    case invalidJSON(path: String, JSONParseError)
    /// A page file is JSON but not a list of records, nor an object holding one.
    case unexpectedPageShape(path: String, problem: String)
    /// The page files changed between the two passes of a CSV export.
    case pagesChanged(path: String)
    /// Without `records_key`, a page has the records field found on an earlier page empty and holds objects in
    /// other fields: which of the two pages is a page of records (and which an error page) cannot be told.
    case ambiguousRecordsField(
        path: String, holding: [String], firstPath: String, firstField: String, emptyOnFirst: [String])
    /// The output file's directory does not exist and cannot be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// The step's `columns:` or `provenance:` break a rule of `ExportStep.problems` (the loader and
    /// `cartflow export` refuse such a step first; this guards other callers).
    case invalidColumns(problem: String)

    public var description: String {
        switch self {
        case .unreadablePage(let path, let reason):
            "cannot read page file '\(path)': \(reason)"
        case .invalidJSON(let path, let error):
            "page file '\(path)' is not valid JSON: \(error)"
        case .unexpectedPageShape(let path, let problem):
            "page file '\(path)' does not hold records: \(problem)"
        case .pagesChanged(let path):
            "page file '\(path)' changed while it was being exported; export again"
        case .ambiguousRecordsField(let path, let holding, let firstPath, let firstField, let emptyOnFirst):
            "cannot tell which field holds the records: '\(firstPath)' has objects in '\(firstField)'"
                + (emptyOnFirst.isEmpty ? "" : " and an empty \(RecordsLocator.list(emptyOnFirst))")
                + ", '\(path)' has objects in \(RecordsLocator.list(holding)) and an empty '\(firstField)'; name the field"
                + " that holds the records with records_key"
        case .cannotCreateDirectory(let path, let reason):
            "cannot create the directory '\(path)' for the export: \(reason)"
        case .invalidColumns(let problem):
            "cannot export these columns: \(problem)"
        }
    }

    public var errorDescription: String? { description }
}

/// One page file, loaded and parsed: its records and the strings the parser had to repair in them.
struct ExportPage {
    let path: String
    /// The records in page order.
    let records: [JSONObject]
    /// The field holding the records; `nil` for a top-level array or a page without records.
    let recordsField: String?
    /// Other fields of this page that hold objects, left alone because an earlier page showed where the records
    /// are (see `RecordsLocator`); the page where that was found.
    let ignoredFields: [String]
    let recordsFoundIn: String?
    /// Repairs inside records, keyed by record index (0-based), each with its path inside the record.
    let repairsByRecord: [Int: [(kind: JSONRepair.Kind, field: String)]]
    /// Repairs outside any record (e.g. in a page's metadata), as display paths.
    let otherRepairs: [(kind: JSONRepair.Kind, field: String)]

    /// Reads and parses the page at `url` and finds its records with `locator`, which the pages of one step share.
    static func load(_ url: URL, locator: inout RecordsLocator) throws -> ExportPage {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ExportError.unreadablePage(path: path, reason: Self.reason(error))
        }
        let document: JSONDocument
        do {
            document = try data.withUnsafeBytes { try JSONParser.parse($0) }
        } catch let error as JSONParseError {
            throw ExportError.invalidJSON(path: path, error)
        }
        let located = try locator.locate(in: document.value, path: path)
        let prefix = located.field
        var records: [JSONObject] = []
        records.reserveCapacity(located.elements.count)
        for (index, element) in located.elements.enumerated() {
            guard case .object(let object) = element else {
                throw ExportError.unexpectedPageShape(
                    path: path,
                    problem:
                        "record \(index + 1) of \(prefix.map { "'\($0)'" } ?? "the top-level array") is \(element.kindDescription), expected an object"
                )
            }
            records.append(object)
        }
        var byRecord: [Int: [(kind: JSONRepair.Kind, field: String)]] = [:]
        var other: [(kind: JSONRepair.Kind, field: String)] = []
        for repair in document.repairs {
            var components = repair.path[...]
            if let prefix {
                guard components.first == .key(prefix) else {
                    other.append((repair.kind, display(components)))
                    continue
                }
                components = components.dropFirst()
            }
            if case .index(let index)? = components.first {
                byRecord[index, default: []].append((repair.kind, display(components.dropFirst())))
            } else {
                other.append((repair.kind, display(repair.path[...])))
            }
        }
        return ExportPage(
            path: path, records: records, recordsField: prefix, ignoredFields: located.ignored,
            recordsFoundIn: locator.foundIn, repairsByRecord: byRecord, otherRepairs: other)
    }

    /// `title`, `price.amount`, `tags[2]`.
    static func display(_ components: ArraySlice<JSONPathComponent>) -> String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : "." + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "(the value itself)" : text
    }

    /// The system's reason for a failed read or directory creation (`Is a directory`), never a Foundation dump.
    static func reason(_ error: any Error) -> String { systemReason(error) }
}

/// Finds the records of the pages of one step, and keeps them in one field from page to page.
///
/// A page is a top-level array of records, or an object with the records in one array field: the one named by
/// `records_key`, else the one field whose array holds objects. The pages of a step come from one API, so the
/// first object page that shows where its records are fixes the field for the rest of the step (both passes of
/// a CSV export start afresh and find the same). Guessing page by page would export the wrong array, silently,
/// from a page whose records array happens to be empty while another array (`errors`, `meta`) holds objects.
/// A found field stays a guess, though: the page it was found on cannot tell an error page (`{"results": [],
/// "errors": [{…}]}`) from a page of records, so a later page whose found field is empty while another field
/// holds objects contradicts it, in whichever order the two pages come, and is an error asking for `records_key`
/// rather than a choice made for the user. A top-level array needs no guess, so it is accepted among object pages
/// (but not with `records_key`).
struct RecordsLocator {
    /// `records_key`, when the step names the field.
    let recordsKey: String?
    /// The field holding the records and the page that showed it (`nil` with `recordsKey`).
    private(set) var found: (key: String, page: String?)?
    /// The array fields of that page other than the records field, all empty there; for the error that names
    /// them when a later page holds its objects in one of them.
    private var emptyOnFoundPage: [String] = []

    init(recordsKey: String?) {
        self.recordsKey = recordsKey
        found = recordsKey.map { ($0, nil) }
    }

    /// The page that showed where the records are; `nil` before one did, or when `records_key` says.
    var foundIn: String? { found?.page }

    /// The array holding a page's records, the field it is in (`nil` for a top-level array or a page without
    /// records), and the other fields of the page that hold objects, which are left alone.
    struct Located {
        var elements: [JSONValue]
        var field: String?
        var ignored: [String] = []
    }

    mutating func locate(in value: JSONValue, path: String) throws -> Located {
        func fail(_ problem: String) -> ExportError { .unexpectedPageShape(path: path, problem: problem) }
        switch value {
        case .array(let elements):
            if let recordsKey {
                throw fail("records_key is '\(recordsKey)' but the page is a top-level array")
            }
            return Located(elements: elements, field: nil)
        case .object(let object):
            if let key = found?.key { return try field(key, of: object, path: path, fail: fail) }
            return try detect(in: object, path: path, fail: fail)
        default:
            throw fail("the page is \(value.kindDescription), expected an array of records or an object holding one")
        }
    }

    /// The records in the known field `key` of `object`.
    private func field(_ key: String, of object: JSONObject, path: String, fail: (String) -> ExportError) throws
        -> Located
    {
        let source = recordsKey != nil ? "(records_key)" : "(where '\(found?.page ?? "")' holds its records)"
        let members = object.members.filter { $0.key == key }
        let others = recordsKey == nil ? Self.fieldsHoldingObjects(object).filter { $0 != key } : []
        guard let member = members.first else {
            if recordsKey == nil, !others.isEmpty {
                throw fail(
                    "the records are in \(Self.list(others)) here but in '\(key)' in '\(found?.page ?? "")'; the pages of one step must hold their records in the same field (name it with records_key)"
                )
            }
            throw fail("no field '\(key)' \(source); the page's fields are \(Self.listKeys(object))")
        }
        guard members.count == 1 else {
            throw fail(
                "the field '\(key)' \(source) occurs \(members.count) times; JSON readers keep only one of them")
        }
        guard case .array(let elements) = member.value else {
            throw fail("field '\(key)' \(source) is \(member.value.kindDescription), expected an array")
        }
        // The found field is a guess: an empty one here, with objects elsewhere, says the other page may have
        // been the odd one (an error page) as much as this one.
        if elements.isEmpty, !others.isEmpty, let found, let page = found.page {
            throw ExportError.ambiguousRecordsField(
                path: path, holding: others, firstPath: page, firstField: key, emptyOnFirst: emptyOnFoundPage)
        }
        return Located(elements: elements, field: key, ignored: others)
    }

    /// Finds the records of the first page that shows where they are.
    private mutating func detect(in object: JSONObject, path: String, fail: (String) -> ExportError) throws
        -> Located
    {
        let holding = Self.fieldsHoldingObjects(object)
        if holding.count > 1 {
            throw fail("several fields hold arrays of objects (\(Self.list(holding))); name one with records_key")
        }
        if let key = holding.first {
            let count = object.members.count(where: { $0.key == key })
            if count > 1 {
                throw fail("the field '\(key)' occurs \(count) times; JSON readers keep only one of them")
            }
            found = (key, path)
            var seen: Set<String> = [key]
            emptyOnFoundPage = object.members.compactMap { member in
                guard member.value.arrayValue?.isEmpty == true, seen.insert(member.key).inserted else { return nil }
                return member.key
            }
            return try field(key, of: object, path: path, fail: fail)
        }
        let arrays = object.members.compactMap { member in member.value.arrayValue.map { (member.key, $0) } }
        if arrays.isEmpty {
            throw fail("an object with no array field (fields: \(Self.listKeys(object)))")
        }
        // Every array is empty: whichever holds the records, this page has none. It fixes nothing.
        if arrays.allSatisfy({ $0.1.isEmpty }) { return Located(elements: [], field: nil) }
        throw fail(
            "no array field holds objects (array fields: \(arrays.map { "'\($0.0)'" }.joined(separator: ", "))); name one with records_key"
        )
    }

    /// The keys of the array fields holding at least one object, in page order, each once.
    private static func fieldsHoldingObjects(_ object: JSONObject) -> [String] {
        var keys: [String] = []
        var seen = Set<String>()
        for member in object.members {
            guard case .array(let elements) = member.value, elements.contains(where: { $0.objectValue != nil }),
                seen.insert(member.key).inserted
            else { continue }
            keys.append(member.key)
        }
        return keys
    }

    static func list(_ keys: [String]) -> String {
        keys.map { "'\($0)'" }.joined(separator: ", ")
    }

    static func listKeys(_ object: JSONObject) -> String {
        if object.isEmpty { return "none" }
        let keys = object.keys.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
        return object.count > 10 ? keys + ", …" : keys
    }
}

/// Describes a repair for a warning.
func describeRepair(_ kind: JSONRepair.Kind) -> String {
    switch kind {
    case .loneSurrogate: "replaced invalid Unicode (a lone surrogate escape) with U+FFFD"
    case .invalidUTF8: "replaced bytes that are not UTF-8 with U+FFFD"
    }
}
