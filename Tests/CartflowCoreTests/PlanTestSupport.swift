import CartflowCore
import Foundation
import Testing

/// The repository root, from this file's path.
let planRepositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Loads one of the example workflows of `workflows/`, as `cartflow` would from the repository root.
func exampleWorkflow(_ name: String) throws -> Workflow {
    let path = "workflows/\(name).yaml"
    let text = try String(contentsOf: planRepositoryRoot.appendingPathComponent(path), encoding: .utf8)
    let result = WorkflowLoader.load(text: text, path: path, environment: ["MULTICART_API_KEY": "k"])
    var workflow = try #require(result.workflow, "\(result.diagnostics)")
    workflow.sourcePath = path
    return workflow
}

/// Compares `actual` with `Golden/<name>` byte for byte; `CARTFLOW_RECORD_GOLDEN=1` (re)writes it instead.
func expectPlanGolden(_ actual: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation)
    throws
{
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
    if ProcessInfo.processInfo.environment["CARTFLOW_RECORD_GOLDEN"] == "1" {
        try Data(actual.utf8).write(to: url)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if expected != actual {
        Issue.record(
            Comment(
                rawValue: "output differs from Golden/\(name) (re-record with CARTFLOW_RECORD_GOLDEN=1):\n"
                    + planLineDiff(expected, actual)), sourceLocation: sourceLocation)
    }
}

/// A line diff: unchanged lines indented, removed `-`, added `+`.
func planLineDiff(_ expected: String, _ actual: String) -> String {
    let old = expected.components(separatedBy: "\n")
    let new = actual.components(separatedBy: "\n")
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

/// `2026-06-20T09:00:00Z`, the instant the golden plans are made at.
let planNow = Date(timeIntervalSince1970: 1_781_946_000)
