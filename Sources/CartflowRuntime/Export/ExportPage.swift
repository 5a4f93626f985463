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
    /// The output file's directory does not exist and cannot be created.
    case cannotCreateDirectory(path: String, reason: String)

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
        case .cannotCreateDirectory(let path, let reason):
            "cannot create the directory '\(path)' for the export: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// One page file, loaded and parsed: its records and the strings the parser had to repair in them.
struct ExportPage {
    let path: String
    /// The records in page order.
    let records: [JSONObject]
    /// Repairs inside records, keyed by record index (0-based), each with its path inside the record.
    let repairsByRecord: [Int: [(kind: JSONRepair.Kind, field: String)]]
    /// Repairs outside any record (e.g. in a page's metadata), as display paths.
    let otherRepairs: [(kind: JSONRepair.Kind, field: String)]

    /// Reads and parses the page at `url` and finds its records: the top-level array, or the array field
    /// named `recordsKey`, or (without `recordsKey`) the one array field whose elements are objects.
    static func load(_ url: URL, recordsKey: String?) throws -> ExportPage {
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
        let (array, prefix) = try locateRecords(in: document.value, recordsKey: recordsKey, path: path)
        var records: [JSONObject] = []
        records.reserveCapacity(array.count)
        for (index, element) in array.enumerated() {
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
        return ExportPage(path: path, records: records, repairsByRecord: byRecord, otherRepairs: other)
    }

    /// Returns the records array and the key holding it (`nil` for a top-level array).
    private static func locateRecords(in value: JSONValue, recordsKey: String?, path: String) throws
        -> ([JSONValue], String?)
    {
        switch value {
        case .array(let elements):
            if let recordsKey {
                throw ExportError.unexpectedPageShape(
                    path: path, problem: "records_key is '\(recordsKey)' but the page is a top-level array")
            }
            return (elements, nil)
        case .object(let object):
            if let recordsKey {
                guard let field = object[recordsKey] else {
                    throw ExportError.unexpectedPageShape(
                        path: path,
                        problem: "no field '\(recordsKey)' (records_key); the page's fields are \(listKeys(object))")
                }
                guard case .array(let elements) = field else {
                    throw ExportError.unexpectedPageShape(
                        path: path,
                        problem: "field '\(recordsKey)' (records_key) is \(field.kindDescription), expected an array")
                }
                return (elements, recordsKey)
            }
            let arrays = object.members.compactMap { member -> (String, [JSONValue])? in
                guard case .array(let elements) = member.value else { return nil }
                return (member.key, elements)
            }
            let holdingObjects = arrays.filter { !$0.1.isEmpty && $0.1.allSatisfy { $0.objectValue != nil } }
            if holdingObjects.count == 1 { return (holdingObjects[0].1, holdingObjects[0].0) }
            if holdingObjects.count > 1 {
                throw ExportError.unexpectedPageShape(
                    path: path,
                    problem:
                        "several fields hold arrays of objects (\(holdingObjects.map { "'\($0.0)'" }.joined(separator: ", "))); name one with records_key"
                )
            }
            // An empty page: the only array field is empty.
            if arrays.count == 1 && arrays[0].1.isEmpty { return ([], arrays[0].0) }
            if arrays.isEmpty {
                throw ExportError.unexpectedPageShape(
                    path: path, problem: "an object with no array field (fields: \(listKeys(object)))")
            }
            throw ExportError.unexpectedPageShape(
                path: path,
                problem:
                    "no array field holds objects (array fields: \(arrays.map { "'\($0.0)'" }.joined(separator: ", "))); name one with records_key"
            )
        default:
            throw ExportError.unexpectedPageShape(
                path: path,
                problem: "the page is \(value.kindDescription), expected an array of records or an object holding one")
        }
    }

    private static func listKeys(_ object: JSONObject) -> String {
        if object.isEmpty { return "none" }
        let keys = object.keys.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
        return object.count > 10 ? keys + ", …" : keys
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

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain && nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    }
}

/// Describes a repair for a warning.
func describeRepair(_ kind: JSONRepair.Kind) -> String {
    switch kind {
    case .loneSurrogate: "replaced invalid Unicode (a lone surrogate escape) with U+FFFD"
    case .invalidUTF8: "replaced bytes that are not UTF-8 with U+FFFD"
    }
}
