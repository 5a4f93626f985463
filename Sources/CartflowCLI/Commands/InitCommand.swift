import CartflowCore
import CartflowRuntime
import Foundation

/// `cartflow init [NAME]` — scaffold a commented workflow file that validates and runs on the sandbox.
enum InitCommand: Command {
    static let name = "init"
    static let summary = "scaffold a workflow file"
    static let help = """
        USAGE: cartflow init [NAME] [--dir DIR] [--force]

        Writes DIR/NAME.yaml (default workflows/my-workflow.yaml): a commented workflow with one collection,
        a credit reserve, a schedule and a CSV export. It validates as written and runs with --sandbox; edit the
        collection ids and paths, then `cartflow plan` it. An existing file is kept unless --force.

        OPTIONS:
          --dir DIR   where to write (default workflows)
          --force     replace an existing file
        """

    static func run(_ arguments: [String], context: CommandContext) async throws -> ExitCode {
        let args = try Arguments(arguments, flags: ["force"], options: ["dir"])
        guard args.positional.count <= 1 else { throw UsageError("init takes at most one NAME") }
        let name = args.positional.first ?? "my-workflow"
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
            name.first?.isLetter == true
        else {
            throw UsageError("NAME must start with a letter and hold only letters, digits, '-' and '_', got '\(name)'")
        }
        let directory = context.resolve(args.option("dir") ?? "workflows")
        let path = (directory as NSString).appendingPathComponent("\(name).yaml")
        if FileManager.default.fileExists(atPath: path) && !args.flag("force") {
            context.output.error("cartflow init: \(path) exists; keeping it (use --force to replace it)")
            return .failure
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(Data(template(name: name).utf8), to: path)
        context.output.print(path)
        context.output.progress("next: cartflow validate \(path) && cartflow plan \(path) --offline")
        return .success
    }

    static func template(name: String) -> String {
        """
        # \(name): a cartflow workflow (format version 1). Every key: docs/workflow-reference.md
        cartflow: 1
        name: \(name)
        description: What this workflow watches, and why

        api:
          base_url: https://multicartapi.com/api/v1
          key: ${MULTICART_API_KEY}            # from the environment; a literal key is refused

        collections:                           # local name: MultiCart collection id (+ expected item count)
          products: { id: 101, items: 250, title: AU Laptops }

        credits:
          reserve: 100                         # keep at least this many credits after the run
          max_spend: 1000                      # never spend more than this in one run
          on_insufficient: fail                # fail | skip | wait

        schedule:                              # used by `cartflow schedule`; remove for manual runs only
          every: daily
          at: ["08:00"]
          timezone: Australia/Brisbane
          catch_up: latest
          overlap: skip

        poll:  { interval: 15s, max_interval: 2m, timeout: 1h }
        fetch: { from: pages, concurrency: 4 }

        steps:
          - export: csv
            path: out/{workflow}/{date}.csv
            columns: [asin, title, price.amount, price.currency, availability]

        """
    }
}
