import CartflowCore
import Foundation

/// `cartflow graph FILE` — the step graph the plan and the run follow, as text, DOT or Mermaid. No network.
enum GraphCommand: Command {
    static let name = "graph"
    static let summary = "the step graph of a workflow as text, DOT (Graphviz) or Mermaid"
    static let help = """
        USAGE: cartflow graph FILE [--format text|dot|mermaid]

        Draws the steps of a run and what each waits for: the credit check, one lane per collection
        (trigger → poll → fetch, lanes in parallel), then the export steps in file order. Reads only the file.

        OPTIONS:
          --format F    text (default), dot (pipe into `dot -Tsvg`), mermaid (paste into Markdown)

        EXIT CODES: 0 drawn · 2 usage · 3 invalid workflow
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(arguments, flags: [], options: ["format"])
        guard args.positional.count == 1 else {
            throw UsageError(args.positional.isEmpty ? "missing the workflow FILE" : "graph takes one workflow FILE")
        }
        let format = try args.choice("format", in: GraphRenderer.Format.allCases.map(\.rawValue), default: "text")
        let workflow: Workflow
        do {
            // The graph needs no key: a missing one is not worth a warning here.
            workflow = try WorkflowSession.load(args.positional[0], context: context, sandbox: true)
        } catch is InvalidWorkflow {
            return .invalidWorkflow
        }
        context.output.write(
            GraphRenderer.render(StepGraph.build(workflow), format: GraphRenderer.Format(rawValue: format)!))
        return .success
    }
}
