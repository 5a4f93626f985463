import Foundation
import MultiCartSandbox

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A tiny HTTP client for the sandbox tests: never follows redirects, so a test sees exactly what the server said.
struct TestClient {
    let base: URL
    let key: String?
    let session: URLSession

    init(_ base: URL, key: String? = "test-key") {
        self.base = base
        self.key = key
        self.session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
    }

    struct Answer {
        var status: Int
        var headers: [String: String]
        var data: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }
        var code: Int? { json["code"] as? Int }
        var envelopeStatus: Int? { json["status"] as? Int }
        var payload: Any? { json["data"] }
        var text: String { String(decoding: data, as: UTF8.self) }
    }

    /// POSTs a JSON body to `path` under the base URL (the path as the docs spell it, with its trailing slash).
    func post(_ path: String, _ body: [String: Any] = [:], key overrideKey: String?? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: base.absoluteString + path)!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = overrideKey ?? key { request.setValue(key, forHTTPHeaderField: "x-api-key") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        return try await send(request)
    }

    /// GETs an absolute link as the API writes it (raw spaces), percent-encoding it first.
    func get(link: String, key sendKey: String? = nil) async throws -> Answer {
        let encoded = link.addingPercentEncoding(
            withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "?#")))!
        var request = URLRequest(url: URL(string: encoded)!)
        if let sendKey { request.setValue(sendKey, forHTTPHeaderField: "x-api-key") }
        return try await send(request)
    }

    func send(_ request: URLRequest) async throws -> Answer {
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headers[String(describing: name).lowercased()] = String(describing: value)
        }
        return Answer(status: http.statusCode, headers: headers, data: data)
    }

    func history(_ collection: Int, skip: Int = 0, limit: Int = 5) async throws -> [[String: Any]] {
        let answer = try await post(
            "/schedules/collections/results/download/", ["collection_id": collection, "skip": skip, "limit": limit])
        return answer.payload as? [[String: Any]] ?? []
    }
}

final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// Starts a sandbox on an ephemeral loopback port with the test key and one 250-item collection unless told otherwise.
func startSandbox(
    credits: Int = 10_000,
    collections: [SandboxCollection] = [SandboxCollection(id: 101, name: "AU Laptops", items: 250)],
    completion: RunnerCompletion = .afterHistoryReads(1), pageSize: Int = 100, seed: UInt64 = 7,
    logPath: String? = nil, faults: SandboxFaults = .none, existingRunners: Int = 1
) throws -> (SandboxServer, TestClient) {
    let server = SandboxServer(
        configuration: SandboxConfiguration(
            apiKey: "test-key", availableCredits: credits, collections: collections, completion: completion,
            pageSize: pageSize, seed: seed, logPath: logPath, faults: faults, existingRunners: existingRunners))
    let base = try server.start()
    return (server, TestClient(base))
}
