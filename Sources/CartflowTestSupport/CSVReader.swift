/// A strict RFC 4180 reader for tests: parses exported CSV back into records, so tests count records, not lines.
public enum CSVReader {
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses CSV text (CRLF or LF line ends) into rows of fields. Quotes must be balanced and doubled inside.
    public static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var fieldStarted = false
        var index = text.unicodeScalars.startIndex
        let scalars = text.unicodeScalars
        while index < scalars.endIndex {
            let c = scalars[index]
            index = scalars.index(after: index)
            if inQuotes {
                if c == "\"" {
                    if index < scalars.endIndex && scalars[index] == "\"" {
                        field.unicodeScalars.append("\"")
                        index = scalars.index(after: index)
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty else {
                    throw Malformed(description: "quote inside an unquoted field in row \(rows.count + 1)")
                }
                inQuotes = true
                fieldStarted = true
            case ",":
                row.append(field)
                field = ""
                fieldStarted = true
            case "\r":
                guard index < scalars.endIndex, scalars[index] == "\n" else {
                    throw Malformed(description: "bare CR in row \(rows.count + 1)")
                }
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
                fieldStarted = false
            default:
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
        }
        if inQuotes { throw Malformed(description: "unterminated quoted field") }
        if fieldStarted || !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
