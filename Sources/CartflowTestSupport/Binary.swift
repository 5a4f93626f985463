import Foundation

/// Runs the built `cartflow` binary for end-to-end tests and captures what it did.
public struct CartflowProcess {
    public struct Result: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The `cartflow` executable next to the test bundle (`.build/<config>/cartflow`).
    public static var executable: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("cartflow")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue
            {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
            ".build/debug/cartflow")
    }

    /// Starts `cartflow` with arguments in `directory`; returns the running process and its output pipes.
    public static func start(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:]
    ) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["MULTICART_API_KEY"] = nil
        env["MULTICART_BASE_URL"] = nil
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    /// Runs `cartflow` to completion without blocking a thread of the concurrency pool.
    public static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:]
    ) async throws -> Result {
        let (process, out, err) = try start(arguments, in: directory, environment: environment)
        return await finish(process, out, err)
    }

    /// Waits for a started process and collects its output; pipes are drained on dispatch threads so a full
    /// pipe never blocks the child.
    public static func finish(_ process: Process, _ out: Pipe, _ err: Pipe) async -> Result {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let box = OutputBox()
                let group = DispatchGroup()
                group.enter()
                DispatchQueue.global().async {
                    box.stderr = err.fileHandleForReading.readDataToEndOfFile()
                    group.leave()
                }
                box.stdout = out.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(
                    returning: Result(
                        exitCode: process.terminationStatus, stdout: String(decoding: box.stdout, as: UTF8.self),
                        stderr: String(decoding: box.stderr, as: UTF8.self)))
            }
        }
    }

    /// A fresh empty directory for one test.
    public static func temporaryDirectory(_ label: String = "cartflow") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

private final class OutputBox: @unchecked Sendable {
    var stdout = Data()
    var stderr = Data()
}
