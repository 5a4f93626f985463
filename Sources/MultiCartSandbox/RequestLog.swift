import Foundation

/// One request the sandbox answered: enough to count triggers and prove where a key went, never the key itself.
public struct SandboxRequestRecord: Sendable, Equatable, Codable {
    public var time: Date
    public var method: String
    /// The percent-decoded request path.
    public var path: String
    public var endpoint: SandboxEndpoint
    /// Whether an `x-api-key` header came (its value is never recorded).
    public var keyPresent: Bool
    /// The status sent; 0 when the connection was closed without an answer (the drop fault).
    public var httpStatus: Int
    /// The envelope's `code` for JSON answers, nil otherwise.
    public var envelopeCode: Int?
    /// `api` for the API listener, `other` for the second listener (foreign links and redirect targets).
    public var listener: String
    /// The injected fault that shaped this answer, if any (`http-error`, `rate-limit`, `envelope-error`,
    /// `redirect`, `truncate`, `trickle`, `trigger-delay`, `latency`, `drop`).
    public var fault: String?
    public var collectionID: Int?
    /// For a trigger, the runner it created; for a download, the runner whose file it was.
    public var runnerID: Int?
}

/// Appends request records as JSON lines with one `write(2)` each, so the file is complete up to the last answered
/// request even if the process is killed with SIGKILL.
final class RequestLogFile: @unchecked Sendable {
    private let descriptor: Int32
    private let encoder: JSONEncoder

    init(path: String) throws {
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SandboxConfigurationError(
                "cannot open the request log '\(path)': \(String(cString: strerror(errno)))")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
    }

    deinit { close(descriptor) }

    /// Called with the engine's lock held, so lines never interleave.
    func append(_ record: SandboxRequestRecord) {
        guard var line = try? encoder.encode(record) else { return }
        line.append(0x0A)
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }
}
