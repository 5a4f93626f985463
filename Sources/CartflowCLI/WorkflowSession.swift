import CartflowCore
import CartflowRuntime
import Foundation
import MultiCart
import MultiCartSandbox

/// What `run`, `plan` and `schedule` share: loading a workflow file, and pointing it at the API or at an
/// embedded sandbox seeded with the workflow's collections.
struct WorkflowSession {
    /// Loads and validates a workflow file; diagnostics go to stderr. Throws `InvalidWorkflow` on errors.
    /// With `sandbox`, a missing API key is not worth a warning: the embedded emulator has its own, and the
    /// commands that ask no API (`plan --offline`, `graph`, `status`) need none.
    /// Diagnostics name the file as `validate` does: as given, and a path under the current directory relative
    /// to it (`schedule` hands over the paths it resolved).
    static func load(_ path: String, context: CommandContext, sandbox: Bool = false) throws -> Workflow {
        let resolved = context.resolve(path)
        let result = WorkflowLoader.load(path: resolved, environment: context.environment)
        let shown = displayPath(path, currentDirectory: context.currentDirectory)
        for diagnostic in result.diagnostics where !(sandbox && diagnostic.code == DiagnosticCode.apiKeyUnset.rawValue)
        {
            var diagnostic = diagnostic
            diagnostic.relabel(file: resolved, as: shown)
            // The text the loader read (without a byte order mark), so excerpts match the columns.
            context.output.error(diagnostic.render(sourceText: result.sourceText, color: context.output.useColor))
        }
        guard var workflow = result.workflow else { throw InvalidWorkflow(path: path) }
        // As diagnostics name it: `schedule` hands over resolved paths, and its log lines, the state database and
        // the hints it prints (`cartflow run FILE`) read as the user wrote them, relative under the current
        // directory.
        workflow.sourcePath = shown
        let secrets = [workflow.api.key?.value].compactMap { $0 }
        if let override = try baseURLOverride(context.environment, secrets: secrets) {
            workflow.api.baseURL = override
        }
        return workflow
    }

    /// `path` as the user gave it; an absolute path under the current directory relative to it.
    static func displayPath(_ path: String, currentDirectory: String) -> String {
        let base = currentDirectory.hasSuffix("/") ? currentDirectory : currentDirectory + "/"
        guard path.hasPrefix("/"), path.hasPrefix(base), path.count > base.count else { return path }
        return String(path.dropFirst(base.count))
    }

    /// `MULTICART_BASE_URL` without a trailing slash, or nil when unset. Held to the rules of `api.base_url` in a
    /// file: a URL with credentials in it (`http://bob:hunter2@host/…`) is refused, never used or shown. The
    /// message names what is wrong without echoing a secret: not `MULTICART_API_KEY`'s value nor any of
    /// `secrets` (the key `api.key` names), in a host or a path, raw or percent-encoded, and not a userinfo —
    /// also where a malformed URL (`http:/bob:hunter2@host`, no scheme at all) hides it from URL parsing.
    static func baseURLOverride(_ environment: [String: String], secrets: [String] = []) throws -> String? {
        guard let value = environment["MULTICART_BASE_URL"], !value.isEmpty else { return nil }
        if let problem = APIConfig.baseURLProblem(value) {
            let message =
                "MULTICART_BASE_URL must be an http or https URL such as \(APIConfig.defaultBaseURL), got "
                + "'\(APIConfig.displayed(value))'; \(problem)"
            throw UsageError(redacted(message, secrets: [environment["MULTICART_API_KEY"]].compactMap { $0 } + secrets))
        }
        // A key in the URL would be printed with it (the plan's header, errors) and sent in every path: refused,
        // as `api.base_url` holding it is refused in a file (CF114).
        let keys = ([environment["MULTICART_API_KEY"]].compactMap { $0 } + secrets).filter { $0.utf8.count >= 4 }
        if keys.contains(where: { SecretText($0).contains(in: value) }) {
            throw UsageError(
                "MULTICART_BASE_URL holds the API key; give the key only in MULTICART_API_KEY (the URL is printed "
                    + "and logged, the key never is)")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    /// `text` about a URL with the keys in `secrets` replaced (`SecretText`: raw or percent-encoded) and every
    /// userinfo-shaped run — the characters before an `@` back to a `/`, a quote or white space — replaced by
    /// `<credentials>`, however malformed the URL around it.
    static func redacted(_ text: String, secrets: [String]) -> String {
        let text = secrets.filter { $0.utf8.count >= 4 }.map(SecretText.init).reduce(text) {
            $1.redact($0, with: "<the API key>")
        }
        var output = ""
        var run = ""  // the characters since the last `/`, quote or white space
        for character in text {
            if character == "@", !run.isEmpty {
                output += "<credentials>@"
                run = ""
            } else if character == "/" || character == "'" || character == "\"" || character.isWhitespace {
                output += run + String(character)
                run = ""
            } else {
                run.append(character)
            }
        }
        return output + run
    }

    /// An embedded sandbox seeded with the workflow's collections, started on a free loopback port.
    static func startSandbox(for workflows: [Workflow], credits: Int, completion: RunnerCompletion, seed: UInt64 = 1)
        throws -> (server: SandboxServer, key: String)
    {
        let key = "sandbox-" + UUID().uuidString.lowercased()
        var seen: Set<Int> = []
        var collections: [SandboxCollection] = []
        for workflow in workflows {
            for spec in workflow.collections where seen.insert(spec.id).inserted {
                collections.append(
                    SandboxCollection(id: spec.id, name: spec.title ?? displayName(spec.name), items: spec.items ?? 120)
                )
            }
        }
        var configuration = SandboxConfiguration(apiKey: key, collections: collections)
        configuration.availableCredits = credits
        configuration.completion = completion
        configuration.seed = seed
        let server = SandboxServer(configuration: configuration)
        _ = try server.start(port: 0)
        return (server, key)
    }

    /// `au-laptops` → `Au Laptops`: a plausible collection name for files when the workflow gives no title.
    static func displayName(_ localName: String) -> String {
        localName.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: " ")
    }

    /// The API client for a workflow, or a clear error when the key is missing.
    static func client(for workflow: Workflow, key override: String?, output: Output) throws -> MultiCartClient {
        guard let url = URL(string: workflow.api.baseURL), url.host != nil else {
            let secrets = [override, workflow.api.key?.value].compactMap { $0 }
            throw UsageError(
                redacted("api.base_url is not a URL: \(APIConfig.displayed(workflow.api.baseURL))", secrets: secrets))
        }
        guard let key = override ?? workflow.api.key?.value, !key.isEmpty else {
            throw MissingKey(reference: workflow.api.keyReference)
        }
        var client = MultiCartClient(baseURL: url, apiKey: key)
        client.apiDeadline = workflow.api.timeout.duration
        client.downloadDeadline = workflow.fetch.timeout.duration
        client.onRetry = { endpoint, attempt, error, wait in
            output.progress("\(endpoint): attempt \(attempt) failed (\(error)); retrying in \(format(wait))")
        }
        return client
    }

    /// The money-safe executor for one run of a workflow, as `run` and `schedule` both use it: downloads kept
    /// beside the state database, progress on stderr (prefixed in the daemon, where runs interleave), the key
    /// redacted.
    static func executor(
        for workflow: Workflow, client: MultiCartClient, state: StateStore, context: CommandContext,
        startNew: Bool = false, waitForLease: Bool = false, prefix: String = ""
    ) -> Executor {
        let output = context.output
        let downloads = ((state.path as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("downloads")
        var options = Executor.Options(
            downloadsDirectory: downloads, workingDirectory: context.currentDirectory, startNew: startNew)
        options.waitForLease = waitForLease
        return Executor(
            workflow: workflow, client: client, state: state, options: options,
            progress: { output.progress(prefix + client.redactor.redact($0)) },
            detail: { output.verbose(prefix + client.redactor.redact($0)) })
    }

    static func format(_ duration: Duration) -> String {
        let ms = Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
        return ms < 1000 ? "\(ms) ms" : String(format: "%.1f s", Double(ms) / 1000)
    }
}

/// A workflow file had errors (already printed).
struct InvalidWorkflow: Error {
    let path: String
}

/// No API key was configured.
struct MissingKey: Error, CustomStringConvertible {
    let reference: String
    var description: String {
        "no API key: api.key is \(reference), which is not set in the environment. Set it, or use --sandbox to run on the embedded emulator."
    }
}
