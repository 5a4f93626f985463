import CartflowCore
import Foundation

/// The downloaded pages of one collection's runner, the unit an export step reads.
public struct ExportInput: Sendable, Equatable {
    /// The collection's local name (the workflow's `collections:` key), matched against the step's `from:`.
    public var collection: String
    /// The MultiCart collection id.
    public var collectionID: Int
    /// The runner whose results these pages are.
    public var runnerID: Int
    /// When the runner scraped (as reported by the API), for the `scraped_at` provenance column.
    public var scrapedAt: String?
    /// The local page files, in page order.
    public var pages: [URL]

    public init(collection: String, collectionID: Int, runnerID: Int, scrapedAt: String? = nil, pages: [URL]) {
        self.collection = collection
        self.collectionID = collectionID
        self.runnerID = runnerID
        self.scrapedAt = scrapedAt
        self.pages = pages
    }
}

/// What an export wrote, for the run record and the user.
public struct ExportSummary: Sendable, Equatable {
    /// The file written.
    public var path: String
    public var format: ExportStep.Format
    /// Records written.
    public var recordsWritten: Int
    /// Failed records left out (always 0 with `include_failed: true`).
    public var failedSkipped: Int
    /// The CSV header, or the keys a JSON/NDJSON export was reduced to; empty when records were copied whole.
    public var columns: [String]
    /// The size of the file written.
    public var bytes: Int
    /// How many strings had invalid Unicode replaced by U+FFFD in what was written: in the records written, and
    /// with `columns:` only in the fields the columns write.
    public var repairedStrings: Int
    /// Things the user should know, one sentence each (replaced invalid Unicode, renamed colliding
    /// columns, `columns:` entries that matched nothing).
    public var warnings: [String]

    /// `2 strings with invalid Unicode repaired`, or `nil` for none: how `run` and `export` summaries show
    /// `repairedStrings`, so a changed value is never only in the warnings.
    public static func repairedNote(_ count: Int) -> String? {
        guard count > 0 else { return nil }
        return "\(count) \(count == 1 ? "string" : "strings") with invalid Unicode repaired"
    }
}

/// Writes an export step's file from downloaded page files; see docs/exports.md for every rule.
///
/// Memory stays bounded by one page: pages are read one at a time. A CSV export without `columns:` reads
/// the pages twice, first to learn the union of the columns, then to write the rows. The file is written
/// through `AtomicFileWriter`, so a failed export leaves the previous file untouched.
public enum Exporter {
    /// Exports the pages of the `inputs` the step reads (all of them, or those named by `from:`) to `path`,
    /// creating its directory if needed.
    public static func export(_ step: ExportStep, inputs: [ExportInput], to path: String) throws -> ExportSummary {
        if let problem = ExportStep.problems(columns: step.columns, provenance: step.provenance).first {
            throw ExportError.invalidColumns(problem: problem.message { "'\($0): \($1)'" })
        }
        let selected = inputs.filter { input in step.from.map { $0.contains(input.collection) } ?? true }
        var warnings = WarningLog()
        if let from = step.from {
            for name in from where !inputs.contains(where: { $0.collection == name }) {
                warnings.add("collection '\(name)' (from:) has no downloaded pages; nothing exported from it")
            }
        }
        try createDirectory(forFile: path)
        let writer = try AtomicFileWriter(path: path)
        do {
            var summary: ExportSummary
            switch step.format {
            case .csv:
                var csv = CSVExport(step: step, warnings: warnings)
                summary = try csv.run(selected, writer: writer)
            case .json, .ndjson:
                var json = JSONExport(step: step, warnings: warnings)
                summary = try json.run(selected, writer: writer)
            }
            try writer.commit()
            summary.path = path
            summary.bytes = writer.bytesWritten
            return summary
        } catch {
            writer.discard()
            throw error
        }
    }

    /// Creates the directory of the export file at `path` when it is missing. Throws `cannotCreateDirectory` with the
    /// reason in plain words: the part of the path that is a file, not a directory (the usual cause), else the
    /// system's reason.
    public static func createDirectory(forFile path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            var ancestor = directory
            while ancestor.count > 1 {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
                    if isDirectory.boolValue { break }
                    throw ExportError.cannotCreateDirectory(
                        path: directory, reason: "'\(ancestor)' is a file, not a directory")
                }
                ancestor = (ancestor as NSString).deletingLastPathComponent
            }
            throw ExportError.cannotCreateDirectory(path: directory, reason: ExportPage.reason(error))
        }
    }

    /// The failed-record rule: a record is failed when its `status` is the string `failed` or `error`
    /// (any case, surrounding spaces ignored), or when it has no `status` (missing or null) and an `error`
    /// that is not null, not `false` and not the empty string.
    public static func isFailed(_ record: JSONObject) -> Bool {
        if let status = record["status"], !status.isNull {
            guard case .string(let text) = status else { return false }
            let word = text.trimmingCharacters(in: .whitespaces).lowercased()
            return word == "failed" || word == "error"
        }
        switch record["error"] {
        case nil, .null?, .bool(false)?, .string("")?: return false
        default: return true
        }
    }
}

/// Collects warnings, folding repeats of the same kind into one line with a count and capping the total
/// so a page full of broken strings cannot flood the output.
struct WarningLog {
    static let limit = 50
    private var order: [String] = []
    private var first: [String: String] = [:]
    private var counts: [String: Int] = [:]

    /// Adds `message`; messages with the same `key` are folded into the first one.
    mutating func add(_ message: String, key: String? = nil) {
        let key = key ?? message
        if let count = counts[key] {
            counts[key] = count + 1
            return
        }
        counts[key] = 1
        first[key] = message
        order.append(key)
    }

    var messages: [String] {
        var result: [String] = []
        for key in order.prefix(Self.limit) {
            let count = counts[key] ?? 1
            let message = first[key] ?? key
            result.append(count > 1 ? "\(message) (and \(count - 1) more like it)" : message)
        }
        if order.count > Self.limit { result.append("… and \(order.count - Self.limit) more warnings") }
        return result
    }
}

/// The records of `page` a step writes, with their place in the page: failed records are counted in `skipped` and
/// left out unless the step includes them; strings repaired in the page are reported and counted in `repaired`;
/// other arrays of objects left alone in the page are reported.
func keptRecords(
    of page: ExportPage, step: ExportStep, warnings: inout WarningLog, skipped: inout Int, repaired: inout Int
) -> [(index: Int, record: JSONObject)] {
    if let field = page.recordsField, let foundIn = page.recordsFoundIn {
        for ignored in page.ignoredFields {
            warnings.add(
                "\(page.path): field '\(ignored)' holds objects too; they are not exported, since the records are in '\(field)' as found in '\(foundIn)' (set records_key to say which field holds the records)",
                key: "ignored:\(ignored):\(field)")
        }
    }
    for other in page.otherRepairs {
        warnings.add("\(page.path): outside the records, at \(other.field): \(describeRepair(other.kind))")
    }
    var kept: [(index: Int, record: JSONObject)] = []
    kept.reserveCapacity(page.records.count)
    for (index, record) in page.records.enumerated() {
        if !step.includeFailed && Exporter.isFailed(record) {
            skipped += 1
            continue
        }
        repaired += noteRepairs(of: index, in: page, step: step, into: &warnings)
        kept.append((index, record))
    }
    return kept
}

/// Reports the repaired strings of record `index` that the step writes, and returns their count: with `columns:`,
/// only those in a field a column reads (the field itself, an element of an array it holds, or, in JSON and NDJSON,
/// where a copied object holds it), so the count is of strings in the file.
func noteRepairs(of index: Int, in page: ExportPage, step: ExportStep, into warnings: inout WarningLog) -> Int {
    guard let repairs = page.repairsByRecord[index] else { return 0 }
    var count = 0
    for repair in repairs where step.columns.map({ isWritten(repair.field, by: $0, format: step.format) }) ?? true {
        warnings.add("\(page.path): record \(index + 1), field \(repair.field): \(describeRepair(repair.kind))")
        count += 1
    }
    return count
}

/// Whether the field at display path `field` (`title`, `x.y[0]`) is written by one of `columns`: CSV writes leaves
/// (an array whole, as JSON text), JSON and NDJSON also copy objects whole.
private func isWritten(_ field: String, by columns: [ColumnSpec], format: ExportStep.Format) -> Bool {
    columns.contains { column in
        let source = column.source
        guard field.hasPrefix(source) else { return false }
        let rest = field.dropFirst(source.count)
        return rest.isEmpty || rest.hasPrefix("[") || (format != .csv && rest.hasPrefix("."))
    }
}

/// The provenance values of one input, in the step's order.
func provenanceValues(_ step: ExportStep, _ input: ExportInput) -> [JSONValue] {
    step.provenance.map { item in
        switch item {
        case .collection: .string(input.collection)
        case .runner: .number(String(input.runnerID))
        case .scrapedAt: input.scrapedAt.map { JSONValue.string($0) } ?? .null
        }
    }
}

/// JSON (one array, one record per line) and NDJSON (one record per line) exports.
struct JSONExport {
    let step: ExportStep
    var warnings: WarningLog

    init(step: ExportStep, warnings: WarningLog) {
        self.step = step
        self.warnings = warnings
    }

    mutating func run(_ inputs: [ExportInput], writer: AtomicFileWriter) throws -> ExportSummary {
        let isArray = step.format == .json
        let provenanceNames = step.provenance.map(\.rawValue)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 18)
        var written = 0
        var skipped = 0
        var repaired = 0
        var matched = Set<String>()
        if isArray { buffer.append(UInt8(ascii: "[")) }
        var locator = RecordsLocator(recordsKey: step.recordsKey)
        for input in inputs {
            let provenance = provenanceValues(step, input)
            for url in input.pages {
                let page = try ExportPage.load(url, locator: &locator)
                let kept = keptRecords(
                    of: page, step: step, warnings: &warnings, skipped: &skipped, repaired: &repaired)
                for (index, record) in kept {
                    var output = record
                    if let columns = step.columns {
                        var reduced = JSONObject()
                        for column in columns {
                            if let value = columnValue(record, column.source) {
                                reduced.members.append(JSONMember(key: column.name, value: value))
                                matched.insert(column.source)
                            }
                        }
                        output = reduced
                    }
                    var renames: [(key: String, name: String)] = []
                    if let unique = Self.withUniqueKeys(output, renames: &renames) {
                        output = unique
                        for rename in renames {
                            warnings.add(
                                "\(page.path): record \(index + 1): key '\(rename.key)' occurs more than once in one object; the other value is written as '\(rename.name)'",
                                key: "duplicate:\(rename.key)")
                        }
                    }
                    if !provenance.isEmpty {
                        output = withProvenance(output, names: provenanceNames, values: provenance)
                    }
                    if isArray {
                        buffer.append(contentsOf: written == 0 ? [0x0A] : [UInt8(ascii: ","), 0x0A])
                    }
                    JSONSerializer.append(output, to: &buffer)
                    if !isArray { buffer.append(0x0A) }
                    written += 1
                    if buffer.count >= 1 << 18 {
                        try writer.write(buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
            }
        }
        if isArray {
            buffer.append(contentsOf: written == 0 ? [UInt8(ascii: "]"), 0x0A] : [0x0A, UInt8(ascii: "]"), 0x0A])
        }
        try writer.write(buffer)
        for column in step.columns ?? [] where !matched.contains(column.source) {
            warnings.add("column '\(column.name)' (source '\(column.source)') matched no field in any record")
        }
        return ExportSummary(
            path: "", format: step.format, recordsWritten: written, failedSkipped: skipped,
            columns: step.columns.map { provenanceNames + $0.map(\.name) } ?? [], bytes: 0,
            repairedStrings: repaired, warnings: warnings.messages)
    }

    /// `object` with each repeated key of it and of every object inside it renamed `name#2` (or `#3`, …,
    /// skipping names that object itself uses), outer objects first; nil when no key repeats (the usual case,
    /// found without building anything). Loaders keep the first or the last of a repeated key, or refuse it,
    /// so writing the repeat as it came would lose a value silently; CSV renames the same way.
    static func withUniqueKeys(_ object: JSONObject, renames: inout [(key: String, name: String)]) -> JSONObject? {
        var members = object.members
        var changed = false
        if hasRepeatedKey(members) {
            let used = Set(members.map(\.key))
            var taken = Set<String>()
            for index in members.indices {
                let key = members[index].key
                if taken.insert(key).inserted { continue }
                var suffix = 2
                while used.contains("\(key)#\(suffix)") || taken.contains("\(key)#\(suffix)") { suffix += 1 }
                let name = "\(key)#\(suffix)"
                taken.insert(name)
                members[index].key = name
                renames.append((key, name))
            }
            changed = true
        }
        for index in members.indices {
            if let value = withUniqueKeys(members[index].value, renames: &renames) {
                members[index].value = value
                changed = true
            }
        }
        return changed ? JSONObject(members) : nil
    }

    private static func withUniqueKeys(_ value: JSONValue, renames: inout [(key: String, name: String)]) -> JSONValue? {
        switch value {
        case .object(let object):
            return withUniqueKeys(object, renames: &renames).map(JSONValue.object)
        case .array(var elements):
            var changed = false
            for index in elements.indices {
                if let element = withUniqueKeys(elements[index], renames: &renames) {
                    elements[index] = element
                    changed = true
                }
            }
            return changed ? .array(elements) : nil
        default:
            return nil
        }
    }

    private static func hasRepeatedKey(_ members: [JSONMember]) -> Bool {
        if members.count <= 16 {
            for index in members.indices.dropFirst() {
                let key = members[index].key
                for earlier in 0..<index where members[earlier].key == key { return true }
            }
            return false
        }
        var seen = Set<String>(minimumCapacity: members.count)
        return members.contains { !seen.insert($0.key).inserted }
    }

    /// Puts the provenance members first; a record's own member of the same name is kept as `name#2`.
    private mutating func withProvenance(_ record: JSONObject, names: [String], values: [JSONValue]) -> JSONObject {
        var members = zip(names, values).map { JSONMember(key: $0, value: $1) }
        members.reserveCapacity(names.count + record.count)
        let taken = Set(names).union(record.keys)
        for var member in record.members {
            if names.contains(member.key) {
                var suffix = 2
                while taken.contains("\(member.key)#\(suffix)") { suffix += 1 }
                warnings.add(
                    "records have their own field '\(member.key)', which is also a provenance column; it is written as '\(member.key)#\(suffix)'",
                    key: "provenance:\(member.key)")
                member.key = "\(member.key)#\(suffix)"
            }
            members.append(member)
        }
        return JSONObject(members)
    }
}

/// The value a `columns:` source names in a JSON or NDJSON record: the field at that path (`lookup`), else, for a
/// name such as `a#2`, the field CSV writes in the column of that name (a repeated key, or a dotted key colliding
/// with a nested field), so that a source means the same field in every format.
func columnValue(_ record: JSONObject, _ source: String) -> JSONValue? {
    if let value = lookup(record, source[...]) { return value }
    guard source.contains("#") else { return nil }
    return uniquelyNamedFields(of: record, reserved: []).first { $0.name == source }?.value
}

/// The value at a dotted `path` in a record: nested objects first (`price.amount` is `price` → `amount`),
/// then keys that themselves contain dots (a literal `"price.amount"` key).
func lookup(_ object: JSONObject, _ path: Substring) -> JSONValue? {
    if let dot = path.firstIndex(of: ".") {
        if case .object(let child)? = object[String(path[..<dot])],
            let value = lookup(child, path[path.index(after: dot)...])
        {
            return value
        }
    } else if let value = object[String(path)] {
        return value
    }
    for member in object.members where member.key.contains(".") {
        if member.key == path { return member.value }
        if path.hasPrefix(member.key + "."), case .object(let child) = member.value,
            let value = lookup(child, path.dropFirst(member.key.count + 1))
        {
            return value
        }
    }
    return nil
}
