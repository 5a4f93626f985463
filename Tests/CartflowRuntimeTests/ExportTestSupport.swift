import CartflowCore
import CartflowRuntime
import Foundation
import Testing

/// Page files for exporter tests, written into a scratch directory.
struct PageFixture {
    let directory: ScratchDirectory
    private var counter = 0

    init() throws { directory = try ScratchDirectory() }

    /// Writes `text` as the next page file and returns its URL.
    mutating func page(_ text: String, name: String? = nil) throws -> URL {
        try page(Data(text.utf8), name: name)
    }

    mutating func page(_ bytes: Data, name: String? = nil) throws -> URL {
        counter += 1
        let url = URL(fileURLWithPath: directory.file(name ?? "page_\(counter).json"))
        try bytes.write(to: url)
        return url
    }

    /// One input holding `pages`, for the common single-collection case.
    func input(_ pages: [URL], collection: String = "laptops", runner: Int = 88, scrapedAt: String? = nil)
        -> ExportInput
    {
        ExportInput(collection: collection, collectionID: 101, runnerID: runner, scrapedAt: scrapedAt, pages: pages)
    }

    /// Runs the export into `out.<format>` and returns the summary and the bytes written.
    func export(_ step: ExportStep, _ inputs: [ExportInput]) throws -> (ExportSummary, Data) {
        let path = directory.file("out/result.\(step.format.rawValue)")
        let summary = try Exporter.export(step, inputs: inputs, to: path)
        return (summary, try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// Compares `actual` with the golden file `Golden/<name>` byte for byte; with
/// `CARTFLOW_RECORD_GOLDEN=1` in the environment it (re)writes the golden file instead.
func expectGolden(_ actual: Data, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
    if ProcessInfo.processInfo.environment["CARTFLOW_RECORD_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try actual.write(to: url)
        return
    }
    let expected = try Data(contentsOf: url)
    if expected != actual {
        Issue.record(
            "output differs from Golden/\(name) (re-record with CARTFLOW_RECORD_GOLDEN=1):\n\(lineDiff(expected, actual))",
            sourceLocation: sourceLocation)
    }
}

/// A readable line diff with CR, tab and the BOM made visible.
private func lineDiff(_ expected: Data, _ actual: Data) -> String {
    func lines(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self)
            .replacingOccurrences(of: "\u{FEFF}", with: "<BOM>")
            .replacingOccurrences(of: "\r", with: "␍")
            .replacingOccurrences(of: "\t", with: "␉")
            .components(separatedBy: "\n")
    }
    let old = lines(expected)
    let new = lines(actual)
    var out: [String] = []
    for index in 0..<max(old.count, new.count) {
        let a = index < old.count ? old[index] : nil
        let b = index < new.count ? new[index] : nil
        if a == b {
            out.append("  \(a ?? "")")
        } else {
            if let a { out.append("- \(a)") }
            if let b { out.append("+ \(b)") }
        }
    }
    return out.joined(separator: "\n")
}

/// A strict RFC 4180 reader for checking what the exporter writes: records end with CRLF, fields are
/// separated by commas, a quoted field may hold anything with quotes doubled, an unquoted field may hold
/// no comma, quote, CR or LF. Anything else is an error, so sloppy output fails the test.
struct StrictCSVReader {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ data: Data) throws -> [[String]] {
        let bytes = [UInt8](data)
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var index = 0
        func fail(_ message: String) -> Failure { Failure(description: "byte \(index): \(message)") }
        guard !bytes.isEmpty else { return [] }
        while true {
            // One field.
            field.removeAll()
            if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while true {
                    guard index < bytes.count else { throw fail("unterminated quoted field") }
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") {
                        if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                            field.append(byte)
                            index += 1
                        } else {
                            break
                        }
                    } else {
                        field.append(byte)
                    }
                }
            } else {
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: ",") || byte == 0x0D { break }
                    if byte == UInt8(ascii: "\"") || byte == 0x0A {
                        throw fail("bare quote or LF in an unquoted field")
                    }
                    field.append(byte)
                    index += 1
                }
            }
            guard let text = String(validating: field, as: UTF8.self) else { throw fail("field is not UTF-8") }
            row.append(text)
            guard index < bytes.count else { throw fail("the last record does not end with CRLF") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A else {
                throw fail("expected ',' or CRLF after a field")
            }
            index += 2
            rows.append(row)
            row = []
            if index == bytes.count { return rows }
        }
    }
}

/// A small deterministic random generator (SplitMix64), so generated test data is the same every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
