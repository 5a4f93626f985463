import CartflowTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `cartflow sandbox` as a process.
@Suite struct SandboxEndToEndTests {
    /// A process holding more than FD_SETSIZE (1,024) descriptors: with select() the emulator could not watch its
    /// socket and refused to start, or dropped connections at once. It polls instead. The descriptors are opened
    /// by a shell that then becomes `cartflow sandbox`, so this test process itself stays small.
    @Test func servesWhenItHoldsMoreThanFDSetSizeDescriptors() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c",
            #"for i in $(seq 10 1110); do eval "exec $i</dev/null"; done; exec "$0" sandbox --port 0 --credits 7 --key fd-test-key"#,
            CartflowProcess.executable.path,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        // The base URL is the first line on stdout (or nothing, if the emulator could not start).
        let line: String = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes = Data()
                while !bytes.contains(0x0A) {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    bytes.append(chunk)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        let base = try #require(
            line.split(separator: "\n").first.map(String.init).flatMap(URL.init(string:)), "stdout: \(line)")
        var request = URLRequest(url: base.appendingPathComponent("users/credits/"))
        request.httpMethod = "POST"
        request.setValue("fd-test-key", forHTTPHeaderField: "x-api-key")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("{}".utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let envelope = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((envelope["data"] as? [String: Any])?["available_credits"] as? Int == 7)
    }
}
