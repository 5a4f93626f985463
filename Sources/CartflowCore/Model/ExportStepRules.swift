extension ExportStep {
    /// A `columns:` or `provenance:` entry that cannot be exported as written.
    ///
    /// The loader, `cartflow export --columns/--provenance` and the exporter check a step with the same rules
    /// (`problems(columns:provenance:)`), so a file the loader refuses cannot be written from the command line
    /// either. Indices are 0-based positions in the lists given.
    public enum Problem: Sendable, Equatable {
        /// A column whose output name is empty: its header would be blank.
        case emptyColumnName(column: Int, source: String)
        /// A column whose source is empty: it would read nothing.
        case emptyColumnSource(column: Int, name: String)
        /// Two columns with one output name: CSV would have two headers alike, JSON one key twice.
        case duplicateColumnName(column: Int, first: Int, name: String, source: String)
        /// A column with the name of a provenance column of the step. Provenance comes first and owns its name,
        /// so the column's own value would be renamed or lost, and not the same way in CSV and JSON.
        case columnNamedLikeProvenance(column: Int, provenance: Int, name: String, source: String)
        /// A provenance column listed twice.
        case duplicateProvenance(provenance: Int, first: Int, name: String)

        /// The problem in plain words; `example` writes a `name: source` column as the caller's syntax does
        /// (`'other: price'` in a workflow file, `'other:price'` on the command line).
        public func message(example: (_ name: String, _ source: String) -> String) -> String {
            switch self {
            case .emptyColumnName(_, let source):
                "a column has an empty name; a header must name its column (\(example("name", source)))"
            case .emptyColumnSource(_, let name):
                "column '\(name)' has an empty source; name the field it reads (\(example(name, "price.amount"))), or write just '\(name)'"
            case .duplicateColumnName(_, _, let name, let source):
                "column '\(name)' appears twice; give one of them another output name (\(example("other", source)))"
            case .columnNamedLikeProvenance(_, _, let name, let source):
                "column '\(name)' has the name of the provenance column '\(name)', which comes first and keeps it; give the column another output name (\(example("other", source)))"
            case .duplicateProvenance(_, _, let name):
                "provenance column '\(name)' is listed twice"
            }
        }
    }

    /// What is wrong with `columns` and `provenance` as the entries of one step, in list order (provenance first);
    /// empty when the step can be exported. One problem per entry; linear in the number of entries.
    public static func problems(columns: [ColumnSpec]?, provenance: [Provenance]) -> [Problem] {
        var problems: [Problem] = []
        var provenanceIndex: [String: Int] = [:]
        for (index, item) in provenance.enumerated() {
            if let first = provenanceIndex[item.rawValue] {
                problems.append(.duplicateProvenance(provenance: index, first: first, name: item.rawValue))
            } else {
                provenanceIndex[item.rawValue] = index
            }
        }
        let columns = columns ?? []
        // A step has a few columns (searched linearly), a generated one may have hundreds (hashed).
        var firstByName: [String: Int]? = columns.count > 16 ? [:] : nil
        for (index, column) in columns.enumerated() {
            if column.name.isEmpty {
                problems.append(.emptyColumnName(column: index, source: column.source))
            } else if column.source.isEmpty {
                problems.append(.emptyColumnSource(column: index, name: column.name))
            } else if !provenanceIndex.isEmpty, let owner = provenanceIndex[column.name] {
                problems.append(
                    .columnNamedLikeProvenance(
                        column: index, provenance: owner, name: column.name, source: column.source))
            } else if let first = firstByName != nil
                ? firstByName![column.name]
                // The first earlier column of this name that has a source is the one kept: of one name, either
                // all are named like a provenance column or none is.
                : columns[..<index].firstIndex(where: { $0.name == column.name && !$0.source.isEmpty })
            {
                problems.append(
                    .duplicateColumnName(column: index, first: first, name: column.name, source: column.source))
            } else {
                firstByName?[column.name] = index
            }
        }
        return problems
    }

    /// The keys of a step that apply only to CSV exports: a JSON or NDJSON export would ignore them silently.
    public static let csvOnlyKeys = ["bom", "formula_guard"]

    /// Why `name` (a CSV-only key or option, spelled as the caller spells it: `'bom'`, `--bom`) cannot be given
    /// for an export of `format`; nil for CSV. `subject` is what exports (`this step`, `this command`).
    public static func csvOnlyProblem(_ name: String, format: Format, subject: String = "this step") -> String? {
        format == .csv ? nil : "\(name) applies only to CSV exports; \(subject) exports \(format.rawValue)"
    }

    /// The entries of a `from:` list that repeat an earlier one, as (index, index of the first, name), 0-based:
    /// a collection read twice would be exported twice.
    public static func repeatedCollections(_ names: [String]) -> [(index: Int, first: Int, name: String)] {
        var first: [String: Int] = [:]
        var repeats: [(index: Int, first: Int, name: String)] = []
        for (index, name) in names.enumerated() {
            if let earlier = first[name] {
                repeats.append((index, earlier, name))
            } else {
                first[name] = index
            }
        }
        return repeats
    }

    /// The message for a repeated `from:` entry.
    public static func repeatedCollectionMessage(_ name: String) -> String { "'\(name)' is listed twice" }
}
