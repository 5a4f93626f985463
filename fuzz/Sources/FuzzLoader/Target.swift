import CartflowCore
import CartflowYAML

/// The secret the fuzzer's environment holds; it must never appear in a rendered diagnostic.
private let secret = "FUZZ-SECRET-9f8e7d"
private let environment = ["MULTICART_API_KEY": secret, "CONC": "4", "DESC": "a: b # c\nd"]

/// libFuzzer entry point: loads the bytes as a workflow file and checks the loader's invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let result = WorkflowLoader.load(bytes: bytes, path: "fuzz.yaml", environment: environment)
    let hasErrors = result.diagnostics.contains { $0.severity == .error }
    precondition((result.workflow == nil) == hasErrors, "workflow must be nil exactly when there is an error")
    precondition(result.diagnostics == result.diagnostics.sortedByLocation(), "diagnostics must be sorted")
    let inputMentionsSecret =
        bytes.count >= secret.utf8.count && String(decoding: bytes, as: UTF8.self).contains(secret)
    for diagnostic in result.diagnostics {
        precondition(diagnostic.line >= 1 && diagnostic.column >= 1, "positions are 1-based")
        let text = diagnostic.render(sourceText: result.sourceText, color: true)
        if !inputMentionsSecret { precondition(!text.contains(secret), "the API key leaked into a diagnostic") }
    }
    if let workflow = result.workflow, !inputMentionsSecret {
        precondition(!"\(workflow.api)".contains(secret), "the API key leaked into a description")
    }
    return 0
}
