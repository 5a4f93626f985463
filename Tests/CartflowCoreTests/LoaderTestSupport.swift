import CartflowCore
import CartflowTestSupport
import Testing

/// The environment most tests load with: the API key set, so no CF117 warning unless a test wants one.
let keyedEnvironment = ["MULTICART_API_KEY": "test-key-123"]

/// Loads marked YAML from an inline string.
func load(_ marked: MarkedText, environment: [String: String] = keyedEnvironment, path: String = "wf.yaml")
    -> LoadResult
{
    WorkflowLoader.load(text: marked.text, path: path, environment: environment)
}

/// A diagnostic reduced to what location tests compare: code and line:column.
struct Spot: Equatable, CustomStringConvertible {
    var code: String
    var line: Int
    var column: Int
    var description: String { "\(code)@\(line):\(column)" }
}

func spots(_ result: LoadResult) -> [Spot] {
    result.diagnostics.map { Spot(code: $0.code, line: $0.line, column: $0.column) }
}

func spot(_ code: DiagnosticCode, _ marked: MarkedText, _ marker: String) -> Spot {
    let position = marked[marker]
    return Spot(code: code.rawValue, line: position.line, column: position.column)
}

/// A valid header to put test fragments under.
let header = """
    cartflow: 1
    collections:
      laptops: { id: 101 }

    """
