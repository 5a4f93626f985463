import CartflowCore
import Foundation

/// A CSV export: records flattened into columns (nested objects as dotted names), RFC 4180 quoting,
/// CRLF line endings, an optional BOM and the formula-injection guard. See docs/exports.md.
struct CSVExport {
    let step: ExportStep
    var warnings: WarningLog

    /// Every column name met so far, in first-seen order, including ones a fixed `columns:` leaves out.
    private var names: [String] = []
    private var indexByName: [String: Int] = [:]
    /// Caches the column of each key path, so a record costs one dictionary lookup per key.
    private let root = PathNode(key: "", path: nil)
    /// This record's value per column; valid where `stamps[column] == generation`.
    private var slots: [JSONValue] = []
    private var stamps: [Int] = []
    private var everFilled: [Bool] = []
    private var generation = 0
    private let provenanceNames: [String]
    /// Whether provenance columns take their names from the record's fields (the union header, not `columns:`).
    private let provenanceOwnsNames: Bool
    /// Whether collisions are being reported (only while writing, so pass 1 does not report twice).
    private var reporting = false
    /// The sources of `columns:`, nil for the union header.
    private let requestedSources: Set<String>?

    init(step: ExportStep, warnings: WarningLog) {
        self.step = step
        self.warnings = warnings
        self.provenanceNames = step.provenance.map(\.rawValue)
        self.provenanceOwnsNames = step.columns == nil
        self.requestedSources = step.columns.map { Set($0.map(\.source)) }
        // Provenance columns come first. In the union header they own their names: a record's own field of the
        // same name is renamed. With `columns:` they cannot be found by name, so a source names the record's own
        // field, as it does in JSON (and no column may be named like them: `ExportStep.problems`).
        for name in provenanceNames { _ = addColumn(name, findable: provenanceOwnsNames) }
    }

    mutating func run(_ inputs: [ExportInput], writer: AtomicFileWriter) throws -> ExportSummary {
        // Which columns are written, in order, and their header text.
        var output: [Int]
        var header: [String]
        if let columns = step.columns {
            output = Array(0..<provenanceNames.count) + columns.map { column(named: $0.source) }
            header = provenanceNames + columns.map(\.name)
        } else {
            // Pass 1: learn the union of the columns of every record that will be written.
            var locator = RecordsLocator(recordsKey: step.recordsKey)
            var records = 0
            for input in inputs {
                let provenance = provenanceValues(step, input)
                for url in input.pages {
                    let page = try ExportPage.load(url, locator: &locator)
                    for (index, record) in page.records.enumerated()
                    where step.includeFailed || !Exporter.isFailed(record) {
                        fill(record, provenance: provenance, page: page, index: index)
                        records += 1
                    }
                }
            }
            // No records: no header either, provenance or not, so an empty run is an empty file (a header of
            // provenance columns alone would pass for the file's columns).
            output = records == 0 ? [] : Array(names.indices)
            header = records == 0 ? [] : names
        }
        let columnCount = names.count
        // Records that are all `{}`, without provenance, have no column: a CSV row needs one, and blank lines
        // are no rows (readers skip them), so none is written and a warning says so.
        let noColumns = output.isEmpty

        // Pass 2 (the only pass with fixed columns): write.
        reporting = true
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 18)
        if step.bom { buffer.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        if !header.isEmpty {
            let start = buffer.count
            for (position, name) in header.enumerated() {
                if position > 0 { buffer.append(UInt8(ascii: ",")) }
                Self.appendText(name, guardFormulas: step.formulaGuard, to: &buffer)
            }
            Self.endRecord(columns: header.count, start: start, in: &buffer)
        }
        var written = 0
        var skipped = 0
        var repaired = 0
        var unwritable = 0
        var locator = RecordsLocator(recordsKey: step.recordsKey)
        for input in inputs {
            let provenance = provenanceValues(step, input)
            for url in input.pages {
                let page = try ExportPage.load(url, locator: &locator)
                let kept = keptRecords(
                    of: page, step: step, warnings: &warnings, skipped: &skipped, repaired: &repaired)
                for (index, record) in kept {
                    fill(record, provenance: provenance, page: page, index: index)
                    if step.columns == nil && names.count != columnCount {
                        throw ExportError.pagesChanged(path: page.path)
                    }
                    if noColumns {
                        // Pass 1 found no record, or only `{}` without provenance: anything else changed since.
                        if !names.isEmpty { throw ExportError.pagesChanged(path: page.path) }
                        unwritable += 1
                        continue
                    }
                    writeRow(output, to: &buffer)
                    written += 1
                    if buffer.count >= 1 << 18 {
                        try writer.write(buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
            }
        }
        try writer.write(buffer)
        if unwritable > 0 {
            warnings.add(
                "\(unwritable) \(unwritable == 1 ? "record has" : "records have") no field at all ({}) and the step no "
                    + "provenance column, so there is no CSV column to write them in: none was written and the file "
                    + "is empty (JSON and NDJSON keep them as {})")
        }
        for (position, column) in (step.columns ?? []).enumerated()
        where !everFilled[output[provenanceNames.count + position]] {
            var message = "column '\(column.name)' (source '\(column.source)') matched no field in any record"
            let known = names.indices.filter { everFilled[$0] }.map { names[$0] }
            if let suggestion = closestMatch(to: column.source, in: known) {
                message += "; did you mean '\(suggestion)'?"
            }
            warnings.add(message)
        }
        return ExportSummary(
            path: "", format: .csv, recordsWritten: written, failedSkipped: skipped, columns: header, bytes: 0,
            repairedStrings: repaired, warnings: warnings.messages)
    }

    // MARK: Columns

    /// The column named `name`, created at the end if new.
    private mutating func column(named name: String) -> Int {
        if let index = indexByName[name] { return index }
        return addColumn(name, findable: true)
    }

    private mutating func addColumn(_ name: String, findable: Bool) -> Int {
        let index = names.count
        names.append(name)
        if findable { indexByName[name] = index }
        slots.append(.null)
        stamps.append(0)
        everFilled.append(false)
        return index
    }

    /// Sets this record's slots: provenance, then every leaf of the record.
    private mutating func fill(_ record: JSONObject, provenance: [JSONValue], page: ExportPage, index: Int) {
        generation += 1
        for (column, value) in provenance.enumerated() {
            stamps[column] = generation
            slots[column] = value
        }
        if !placeFast(record, under: root) {
            placeWithCollisions(record, provenance: provenance, page: page, index: index)
        }
        if step.columns != nil { placeObjects(record, under: root) }
    }

    /// With `columns:`, a column whose source names an object (`price` for `{"price": {"amount": 1}}`) holds the
    /// object, written as its compact JSON text, as arrays are and as JSON and NDJSON copy it whole, instead of an
    /// empty cell. A leaf of the same name placed already keeps the cell.
    private mutating func placeObjects(_ object: JSONObject, under node: PathNode) {
        for (position, member) in object.members.enumerated() {
            guard case .object(let nested) = member.value, !nested.isEmpty else { continue }
            let child = node.child(member.key, at: position)
            if child.objectColumn == PathNode.unknownColumn {
                child.objectColumn = indexByName[child.name] ?? PathNode.noColumn
            }
            let index = child.objectColumn
            if index >= 0, stamps[index] != generation {
                stamps[index] = generation
                slots[index] = member.value
                everFilled[index] = true
            }
            placeObjects(nested, under: child)
        }
    }

    /// Places leaves by their cached path; returns false at the first column already filled in this
    /// record (a duplicate key, a literal dotted key meeting a nested one, or a provenance name).
    private mutating func placeFast(_ object: JSONObject, under node: PathNode) -> Bool {
        for (position, member) in object.members.enumerated() {
            let child = node.child(member.key, at: position)
            if case .object(let nested) = member.value, !nested.isEmpty {
                if !placeFast(nested, under: child) { return false }
                continue
            }
            var index = child.column
            if index < 0 {
                index = column(named: child.name)
                child.column = index
            }
            if stamps[index] == generation { return false }
            stamps[index] = generation
            slots[index] = member.value
            everFilled[index] = true
        }
        return true
    }

    /// The careful path for a record whose fields collide by name (see `uniquelyNamedFields`).
    private mutating func placeWithCollisions(
        _ record: JSONObject, provenance: [JSONValue], page: ExportPage, index: Int
    ) {
        generation += 1
        for (column, value) in provenance.enumerated() {
            stamps[column] = generation
            slots[column] = value
        }
        let fields = uniquelyNamedFields(of: record, reserved: provenanceOwnsNames ? Set(provenanceNames) : [])
        for field in fields {
            // With `columns:`, a collision matters only where a column reads one of the two names (as in JSON,
            // whose reduced records have nothing to rename).
            if reporting, let renamed = field.renamedFrom,
                requestedSources.map({ $0.contains(field.name) || $0.contains(renamed.name) }) ?? true
            {
                let why =
                    switch renamed.collision {
                    case .provenance: "is also the name of a provenance column"
                    case .dottedKey: "contains a dot and collides with a nested field of the same name"
                    case .repeatedKey: "occurs more than once in the record"
                    }
                warnings.add(
                    "\(page.path): record \(index + 1): field '\(renamed.name)' \(why); the other value is written in column '\(field.name)'",
                    key: "collision:\(renamed.name):\(why)")
            }
            let column = column(named: field.name)
            stamps[column] = generation
            slots[column] = field.value
            everFilled[column] = true
        }
    }

    // MARK: Writing

    private func writeRow(_ output: [Int], to buffer: inout [UInt8]) {
        let start = buffer.count
        for (position, column) in output.enumerated() {
            if position > 0 { buffer.append(UInt8(ascii: ",")) }
            if stamps[column] == generation {
                Self.appendCell(slots[column], guardFormulas: step.formulaGuard, to: &buffer)
            }
        }
        Self.endRecord(columns: output.count, start: start, in: &buffer)
    }

    /// Ends the record (header or row) that started at `start` with CRLF. A one-column record with an empty cell
    /// (a null, or a header from the key `""`) would be a blank line, which readers skip, so its cell is `""`.
    private static func endRecord(columns: Int, start: Int, in buffer: inout [UInt8]) {
        if columns == 1 && buffer.count == start { buffer.append(contentsOf: [0x22, 0x22]) }
        buffer.append(contentsOf: [0x0D, 0x0A])
    }

    /// Appends one cell: null → empty, booleans → true/false, numbers → their source text, the empty string →
    /// `""`, other strings → quoted as needed (and guarded), arrays and empty objects → their compact JSON text.
    static func appendCell(_ value: JSONValue, guardFormulas: Bool, to buffer: inout [UInt8]) {
        switch value {
        case .null:
            break
        case .bool(let flag):
            buffer.append(contentsOf: flag ? Array("true".utf8) : Array("false".utf8))
        case .number(let text):
            JSONSerializer.withUTF8(text) { buffer.append(contentsOf: $0) }
        case .string(let text):
            // `""`, not an empty cell: loaders that tell them apart (PostgreSQL, DuckDB) read an empty cell as null.
            if text.isEmpty {
                buffer.append(contentsOf: [0x22, 0x22])
                return
            }
            appendText(text, guardFormulas: guardFormulas, to: &buffer)
        case .array, .object:
            var json: [UInt8] = []
            JSONSerializer.append(value, to: &json)
            json.withUnsafeBufferPointer { appendField($0, guardFormulas: false, to: &buffer) }
        }
    }

    static func appendText(_ text: String, guardFormulas: Bool, to buffer: inout [UInt8]) {
        JSONSerializer.withUTF8(text) { appendField($0, guardFormulas: guardFormulas, to: &buffer) }
    }

    /// RFC 4180: a field is quoted when it holds a comma, a quote, CR or LF, or starts or ends with a space
    /// or tab (which some readers trim); quotes inside are doubled. With the guard, a text starting with
    /// `=`, `+`, `-`, `@` (or their full-width forms), tab or CR gets a leading `'`, unless the whole text is a
    /// plain number like `-5`.
    static func appendField(_ bytes: UnsafeBufferPointer<UInt8>, guardFormulas: Bool, to buffer: inout [UInt8]) {
        let count = bytes.count
        guard count > 0 else { return }
        let first = bytes[0]
        let last = bytes[count - 1]
        let prefix =
            guardFormulas
            && (first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
                || first == UInt8(ascii: "@") || first == 0x09 || first == 0x0D || startsWithFullWidthTrigger(bytes))
            && !isPlainNumber(bytes)
        let quote = first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 || needsQuotes(bytes)
        if !quote && !prefix {
            buffer.append(contentsOf: bytes)
            return
        }
        if quote { buffer.append(UInt8(ascii: "\"")) }
        if prefix { buffer.append(UInt8(ascii: "'")) }
        var runStart = 0
        for index in 0..<count where bytes[index] == UInt8(ascii: "\"") {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...index]))
            buffer.append(UInt8(ascii: "\""))
            runStart = index + 1
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<count]))
        if quote { buffer.append(UInt8(ascii: "\"")) }
    }

    /// Whether `bytes` starts with a full-width `＝ ＋ － ＠` (U+FF1D, U+FF0B, U+FF0D, U+FF20): spreadsheets in
    /// East Asian locales turn them into `= + - @` and run the cell as a formula.
    static func startsWithFullWidthTrigger(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBC else { return false }
        let last = bytes[2]
        return last == 0x9D || last == 0x8B || last == 0x8D || last == 0xA0
    }

    /// Whether `bytes` holds a comma, a quote, CR or LF; a word at a time.
    static func needsQuotes(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if ByteScan.contains(word, 0x2C) || ByteScan.contains(word, 0x22) || ByteScan.contains(word, 0x0A)
                || ByteScan.contains(word, 0x0D)
            {
                return true
            }
            index += 8
        }
        while index < count {
            let byte = base[index]
            if byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D { return true }
            index += 1
        }
        return false
    }

    /// `[+-]?digits[.digits][(e|E)[+-]?digits]`: a spreadsheet reads it as a number, never a formula.
    static func isPlainNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        func digits() -> Bool {
            let start = index
            while index < count && bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            return index > start
        }
        if index < count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
        guard digits() else { return false }
        if index < count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() else { return false }
        }
        if index < count && (bytes[index] | 0x20) == UInt8(ascii: "e") {
            index += 1
            if index < count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard digits() else { return false }
        }
        return index == count
    }
}

/// A leaf of a record under the name CSV gives it: its flattened path (`price.amount`), or `name#2` (`#3`, …) when
/// another field of the record has that name; `renamedFrom` says which name was taken and why.
struct NamedField {
    enum Collision { case provenance, dottedKey, repeatedKey }
    var name: String
    var value: JSONValue
    var renamedFrom: (name: String, collision: Collision)?
}

/// The leaves of `record` under unique names, as the CSV columns they are written in and as `columns:` sources
/// name them in every format. Nothing is overwritten: `reserved` names (provenance columns that own their names)
/// are taken first, then fields whose path has no dotted key, then the others, each in record order; a field whose
/// name is taken gets `name#2` (or #3, …), skipping names the record itself uses.
func uniquelyNamedFields(of record: JSONObject, reserved: Set<String>) -> [NamedField] {
    var fields: [(name: String, natural: Bool, value: JSONValue)] = []
    func collect(_ object: JSONObject, prefix: String?, natural: Bool) {
        for member in object.members {
            let name = prefix.map { "\($0).\(member.key)" } ?? member.key
            let isNatural = natural && !member.key.contains(".")
            if case .object(let nested) = member.value, !nested.isEmpty {
                collect(nested, prefix: name, natural: isNatural)
            } else {
                fields.append((name, isNatural, member.value))
            }
        }
    }
    collect(record, prefix: nil, natural: true)
    let originals = Set(fields.map(\.name)).union(reserved)
    var taken = reserved
    var named: [NamedField] = []
    var pending: [Int] = []
    for natural in [true, false] {
        for (position, field) in fields.enumerated() where field.natural == natural {
            if taken.insert(field.name).inserted {
                named.append(NamedField(name: field.name, value: field.value))
            } else {
                pending.append(position)
            }
        }
    }
    for position in pending.sorted() {
        let field = fields[position]
        var suffix = 2
        while originals.contains("\(field.name)#\(suffix)") || taken.contains("\(field.name)#\(suffix)") {
            suffix += 1
        }
        let name = "\(field.name)#\(suffix)"
        taken.insert(name)
        let collision: NamedField.Collision =
            reserved.contains(field.name) ? .provenance : !field.natural ? .dottedKey : .repeatedKey
        named.append(NamedField(name: name, value: field.value, renamedFrom: (field.name, collision)))
    }
    return named
}

/// A node of the key-path tree: caches the column of a path so flattening a record does not build
/// dotted names.
private final class PathNode {
    /// The last key of the path (empty for the root).
    let key: String
    /// The dotted name; `nil` for the root.
    let path: String?
    var column = -1
    private var children: [String: PathNode] = [:]
    /// The child met at each member position last time. Records of a page share their key order, so
    /// this usually answers with one string comparison instead of hashing the key.
    private var byPosition: [PathNode] = []

    init(key: String, path: String?) {
        self.key = key
        self.path = path
    }

    var name: String { path ?? "" }

    /// With `columns:`, the column this path fills when its value is an object (`noColumn`: none asks for it).
    var objectColumn = unknownColumn
    static let unknownColumn = -1
    static let noColumn = -2

    func child(_ key: String, at position: Int) -> PathNode {
        if position < byPosition.count {
            let node = byPosition[position]
            if node.key == key { return node }
        }
        let node: PathNode
        if let existing = children[key] {
            node = existing
        } else {
            node = PathNode(key: key, path: path.map { "\($0).\(key)" } ?? key)
            children[key] = node
        }
        if position < byPosition.count {
            byPosition[position] = node
        } else if position == byPosition.count {
            byPosition.append(node)
        }
        return node
    }
}
