import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// C28 for the commands the run and status tests do not cover: validate, graph, plan, schedule and init, each with
/// --verbose and in every output format, on a valid workflow and on one that misuses the key in every way the
/// format allows. The key and its percent-encoded form appear in no output and no file.
@Suite(.serialized) struct SecretEndToEndTests {
    @Test func theKeyNeverShowsInAnyCommand() async throws {
        let h = try CrashHarness()
        let workflows = h.directory.appendingPathComponent("workflows")
        try FileManager.default.createDirectory(at: workflows, withIntermediateDirectories: true)
        let scheduled = """
            cartflow: 1
            name: keyed
            api: { key: "${MULTICART_API_KEY}" }
            collections:
              laptops: { id: 101, items: 250 }
            poll: { interval: 1s, max_interval: 1s, timeout: 10m }
            schedule: { every: 1m }
            steps:
              - export: ndjson
                path: out/{workflow}-{runner}.ndjson

            """
        try scheduled.write(to: workflows.appendingPathComponent("keyed.yaml"), atomically: true, encoding: .utf8)
        // Every misuse of the key's value: echoed through variables, pasted as values, as names and as headers.
        let misused = """
            cartflow: 1
            name: misused
            description: "${MULTICART_API_KEY}"
            api: { key: "\(h.key)", base_url: "${MULTICART_API_KEY}" }
            collections:
              \(h.key): { id: 101 }
              laptops: { id: "${MULTICART_API_KEY}" }
            steps:
              - export: csv
                from: [\(h.key)]
                path: out/\(h.key).csv
                columns: [{ \(h.key): asin }, "${MULTICART_API_KEY}"]

            """
        try misused.write(to: h.directory.appendingPathComponent("misused.yaml"), atomically: true, encoding: .utf8)
        // Otherwise valid, but the key's value is a collection's name and a column's output name.
        let named = """
            cartflow: 1
            collections:
              \(h.key): { id: 101, items: 5 }
            steps:
              - export: csv
                path: out/named.csv
                columns: [{ \(h.key): asin }]

            """
        try named.write(to: h.directory.appendingPathComponent("named.yaml"), atomically: true, encoding: .utf8)
        // Syntax errors near a literal key: neither the problem's line nor the context's line may show it.
        let broken = "cartflow: 1\napi:\n  key: \(h.key)\n  base_url: [\ncollections: {}\n"
        try broken.write(to: h.directory.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        let unterminated = "cartflow: 1\napi:\n  key: \"\(h.key)\ncollections:\n  laptops: { id: 101 }\n"
        try unterminated.write(
            to: h.directory.appendingPathComponent("unterminated.yaml"), atomically: true, encoding: .utf8)

        var outputs: [String] = []
        func run(_ arguments: [String], expect codes: Set<Int32>) async throws {
            let result = try await h.run(arguments)
            #expect(codes.contains(result.exitCode), "\(arguments): \(result.stderr)")
            outputs += [result.stdout, result.stderr]
        }
        for file in ["workflows/keyed.yaml", "misused.yaml", "named.yaml", "broken.yaml", "unterminated.yaml"] {
            let valid = file.hasPrefix("workflows")
            for format in ["text", "json", "github"] {
                try await run(["validate", file, "--format", format, "--verbose"], expect: [valid ? 0 : 3])
            }
            for format in ["text", "dot", "mermaid"] {
                try await run(["graph", file, "--format", format], expect: [valid ? 0 : 3])
            }
            for extra in [["--offline"], [], ["--json"], ["--json", "--offline"]] {
                try await run(["plan", file, "--verbose"] + extra, expect: [valid ? 0 : 3])
            }
        }
        // A literal key the environment does not know is hidden too (nothing tells its value but the file).
        for format in ["text", "json", "github"] {
            let result = try await CartflowProcess.run(
                ["validate", "unterminated.yaml", "broken.yaml", "--format", format], in: h.directory)
            #expect(result.exitCode == 3)
            outputs += [result.stdout, result.stderr]
        }
        // The key inside MULTICART_BASE_URL (raw or percent-encoded) is refused, never printed with the URL.
        for url in [
            "\(h.server.baseURL!.absoluteString)/\(h.key)",
            "http://127.0.0.1:9/\(h.key.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!)/api/v1",
        ] {
            for arguments in [["plan", "workflows/keyed.yaml"], ["run", "workflows/keyed.yaml"]] {
                let result = try await CartflowProcess.run(
                    arguments, in: h.directory, environment: ["MULTICART_API_KEY": h.key, "MULTICART_BASE_URL": url])
                #expect(result.exitCode == 2, "\(arguments) \(url): \(result.stderr)")
                #expect(result.stderr.contains("MULTICART_BASE_URL holds the API key"))
                outputs += [result.stdout, result.stderr]
            }
        }
        try await run(["schedule", "--once", "workflows", "--verbose"], expect: [0])
        try await run(["status", "--verbose"], expect: [0])
        try await run(["init", "scaffolded", "--verbose"], expect: [0])
        #expect(outputs.joined().contains("misused"))
        #expect(outputs.joined().contains("keyed"))

        let encoded = h.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        var haystacks = outputs
        let enumerator = FileManager.default.enumerator(atPath: h.directory.path)
        while let relative = enumerator?.nextObject() as? String {
            // The files this test wrote hold the key on purpose.
            guard !["misused.yaml", "named.yaml", "broken.yaml", "unterminated.yaml"].contains(relative) else {
                continue
            }
            if let data = FileManager.default.contents(atPath: h.directory.appendingPathComponent(relative).path) {
                haystacks.append(String(decoding: data, as: UTF8.self))
            }
        }
        for text in haystacks {
            #expect(!text.contains(h.key))
            #expect(!text.contains(encoded))
            #expect(!text.contains("S3cr3t"))
        }
    }
}
