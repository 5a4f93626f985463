import CartflowCore
import Foundation

/// Everything that can go wrong talking to MultiCart, with the context a user needs and never the API key.
public enum MultiCartError: Error, Sendable, Equatable {
    /// The credit gate refused a run (envelope code 402): nothing was queued or deducted.
    case creditGate(endpoint: String, message: String)
    /// The key was refused (envelope or HTTP 401/403). Never retried.
    case authentication(endpoint: String, detail: String)
    /// Envelope or HTTP 404: an unknown collection, or a file that is not there (yet). `httpStatus` tells a real
    /// HTTP 404 (a base URL that is not the API's, a proxy) from the API's own envelope code.
    case notFound(endpoint: String, message: String, httpStatus: Bool = false)
    /// Envelope code 409: e.g. the collection is already processing.
    case conflict(endpoint: String, message: String)
    /// Any other envelope failure (`status` 0), with its code and message.
    case api(endpoint: String, code: Int, message: String)
    /// A real HTTP error status (5xx from a proxy, 429, …) with a short excerpt of the body.
    case httpStatus(endpoint: String, status: Int, excerpt: String, retryAfter: Duration?)
    /// The answer does not fit the contract: not JSON, no `status`, a wrong type, an unexpected shape.
    case contractSurprise(endpoint: String, detail: String)
    /// No answer at all (connection, deadline, size cap, redirect refused).
    case transport(endpoint: String, failure: TransportFailure)

    /// The endpoint or file the error is about.
    public var endpoint: String {
        switch self {
        case .creditGate(let endpoint, _), .authentication(let endpoint, _), .notFound(let endpoint, _, _),
            .conflict(let endpoint, _), .api(let endpoint, _, _), .httpStatus(let endpoint, _, _, _),
            .contractSurprise(let endpoint, _), .transport(let endpoint, _):
            return endpoint
        }
    }

    /// Whether a read-only call may be tried again after this error.
    public var isTransient: Bool {
        switch self {
        case .httpStatus(_, let status, _, _):
            // 501 and 505: the server does not support the request at all, and will not next time.
            return status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505)
        case .api(_, let code, _): return code >= 500 || code == 429
        case .transport(_, let failure):
            switch failure {
            case .deadlineExceeded, .connection, .truncated: return true
            case .responseTooLarge, .crossOriginRedirect: return false
            }
        case .creditGate, .authentication, .notFound, .conflict, .contractSurprise: return false
        }
    }

    /// For the trigger: whether the request certainly did not create a runner (so no history check is needed).
    /// Only a documented refusal says so — the credit gate (envelope 402), the key refused (401/403, envelope or
    /// HTTP), the envelope's 400, 404 and 409 — or a connection that failed before the request could leave.
    /// Anything else may have queued a paid runner and only the run history can tell: an envelope 500 (or any
    /// other code), HTTP 408, 429, 5xx or a 4xx from something in between, an answer that is not a well-formed
    /// envelope (HTML from a proxy, no `status`, `status` 1 with an error code), a timeout or a reset.
    public var certainlyNotApplied: Bool {
        switch self {
        case .creditGate, .authentication, .conflict: return true
        case .notFound(_, _, let httpStatus): return !httpStatus
        case .api(_, let code, _): return code == 400
        case .contractSurprise, .httpStatus: return false
        case .transport(_, let failure):
            if case .connection(_, let maybeSent) = failure { return !maybeSent }
            return false
        }
    }
}

extension MultiCartError: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .creditGate(let endpoint, let message):
            return "the credit gate refused the run (\(endpoint)): \(message)"
        case .authentication(let endpoint, let detail):
            let sentence = detail.hasSuffix(".") ? detail : detail + "."
            return "the API key was refused by \(endpoint): \(sentence) Check MULTICART_API_KEY."
        case .notFound(let endpoint, let message, _):
            return "not found at \(endpoint): \(message)"
        case .conflict(let endpoint, let message):
            return "conflict at \(endpoint): \(message)"
        case .api(let endpoint, let code, let message):
            return "\(endpoint) answered with error code \(code): \(message)"
        case .httpStatus(let endpoint, let status, let excerpt, _):
            return "\(endpoint) answered HTTP \(status)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
        case .contractSurprise(let endpoint, let detail):
            return "unexpected answer from \(endpoint): \(detail)"
        case .transport(let endpoint, let failure):
            switch failure {
            case .deadlineExceeded: return "\(endpoint) did not answer in time"
            case .responseTooLarge(let limit): return "the answer from \(endpoint) is larger than \(limit) bytes"
            case .crossOriginRedirect(let status, let location) where endpoint == MultiCartClient.triggerPath:
                return
                    "\(endpoint) redirected (HTTP \(status)) to \(location); not followed: a redirected paid call would be sent a second time"
            case .crossOriginRedirect(let status, let location):
                return
                    "\(endpoint) redirected (HTTP \(status)) to another origin \(location); not followed, so the key stays with the API host"
            case .truncated(let expected, let received) where received > expected:
                return
                    "the answer from \(endpoint) was longer than its Content-Length: \(received) bytes, \(expected) declared"
            case .truncated(let expected, let received):
                return "the answer from \(endpoint) was cut short: \(received) of \(expected) bytes"
            case .connection(let detail, _): return "could not reach \(endpoint): \(detail)"
            }
        }
    }
}

/// Removes a secret from text that will be shown, logged or stored, in whatever encoding an echo of it took.
///
/// One matcher covers every encoding instead of a list of forms: each byte of the key may appear as itself, as a
/// percent escape `%XX` of that byte (either hex case), as `+` when it is a space (form encoding), or as a JSON
/// escape (`\/`, `\"`, `\\`, `\u00XX` for an ASCII byte), and every byte chooses on its own. So the key echoed
/// by Python's `quote(safe='')` or JavaScript's `encodeURIComponent` (which keep `-._~` raw), by Foundation's
/// `.alphanumerics` (which escapes them), by a form encoder, by a JSON writer, or by anything that escapes some bytes
/// and not others, is found all the same.
public struct Redactor: Sendable {
    private let secret: SecretText

    public init(secret: String?) {
        self.secret = SecretText(secret ?? "")
    }

    /// Real keys are `<prefix>.<secret>`, far longer; a shorter string is a made-up key for a test or a sandbox.
    public static let minimumRawLength = 8

    /// `text` with the key replaced in any of its forms (`SecretText`: raw, percent-encoded, JSON-escaped).
    public func redact(_ text: String) -> String {
        secret.isEmpty ? text : secret.redact(text)
    }

    /// `text` redacted, also where it holds the key lowercased (a host name as `Origin` writes it).
    public func redact(_ text: String, ignoringCase: Bool) -> String {
        let once = redact(text)
        guard ignoringCase, !secret.isEmpty else { return once }
        return SecretText(secret.secret.lowercased()).redact(once)
    }

    /// Removes the key from raw answer bytes before anything is decoded from them, so no text derived from
    /// the answer (a value cut short in an error message included) can carry it. Keys shorter than
    /// `minimumRawLength` bytes are left to the text redaction: a one-letter test key would otherwise be cut out
    /// of every field name (`download_links` losing its `k`s) and no answer would decode.
    public func redact(_ data: Data) -> Data {
        secret.byteCount >= Self.minimumRawLength ? secret.redact(data) : data
    }
}
