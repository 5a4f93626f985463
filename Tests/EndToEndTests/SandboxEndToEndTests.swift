import CartflowTestSupport
import Foundation
import Testing

/// `cartflow sandbox` as a process.
@Suite struct SandboxEndToEndTests {
    /// A process holding more than FD_SETSIZE (1,024) descriptors: with select() the emulator could not watch its
    /// socket and refused to start, or dropped connections at once. It polls instead. A shell opens the
    /// descriptors and becomes `cartflow sandbox`; another asks it for the balance with curl. Everything runs in
    /// child processes, bounded by `timeout`, so this test process neither holds the descriptors nor blocks.
    @Test func servesWhenItHoldsMoreThanFDSetSizeDescriptors() async throws {
        let script = #"""
            exec 3< <(exec bash -c 'for i in $(seq 10 1110); do eval "exec $i</dev/null"; done
                exec "$1" sandbox --port 0 --credits 7 --key fd-test-key 2>/dev/null' _ "$0")
            pid=$!
            read -r -t 20 url <&3
            timeout 10 curl -s -X POST -H 'x-api-key: fd-test-key' -H 'Content-Type: application/json' -d '{}' \
                "$url/users/credits/"
            status=$?
            kill "$pid" 2>/dev/null
            exit $status
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["60", "/bin/bash", "-c", script, CartflowProcess.executable.path]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let result = await CartflowProcess.finish(process, out, err)
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")
        let envelope = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            "stdout: \(result.stdout)")
        #expect((envelope["data"] as? [String: Any])?["available_credits"] as? Int == 7)
    }
}
