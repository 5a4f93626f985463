/// Text with location markers (`1️⃣` … `9️⃣`, `🔟`) for tests: the markers are removed and their positions kept,
/// so a test writes its YAML inline and asserts that a diagnostic lands exactly where a marker was.
public struct MarkedText: Sendable {
    /// A 1-based line and column, columns counted in Unicode scalars (as libyaml counts).
    public struct Position: Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var column: Int

        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }

        public var description: String { "\(line):\(column)" }
    }

    /// The text with every marker removed.
    public let text: String
    /// Where each marker stood, by marker (`"1️⃣"`).
    public let markers: [String: Position]

    public static let markerNames = ["0️⃣", "1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"]

    public init(_ marked: String) {
        var text = ""
        var markers: [String: Position] = [:]
        var line = 1
        var column = 1
        for character in marked {
            let name = String(character)
            if Self.markerNames.contains(name) {
                precondition(markers[name] == nil, "marker \(name) used twice")
                markers[name] = Position(line: line, column: column)
                continue
            }
            text.append(character)
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        self.text = text
        self.markers = markers
    }

    /// The position of a marker; stops the test run with a clear message when the marker is missing.
    public subscript(_ marker: String) -> Position {
        guard let position = markers[marker] else { preconditionFailure("no marker \(marker) in the text") }
        return position
    }
}
