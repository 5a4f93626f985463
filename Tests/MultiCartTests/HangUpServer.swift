import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A bare HTTP/1.1 server on 127.0.0.1 that keeps connections alive, answers the read-only API calls with fixed
/// envelopes, and hangs up on every trigger after reading its headers — without a byte of answer, or after the raw
/// bytes of `triggerReply` (an answer that is not HTTP, a redirect). It counts the
/// triggers that arrive — at their headers, before any body — so a replay on another connection is seen even when
/// the client could not send the body again.
final class HangUpServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var triggerCount = 0
    private var connections: Set<Int32> = []
    private var stopped = false
    private let triggerReply: [UInt8]?

    init(triggerReply: String? = nil) throws {
        self.triggerReply = triggerReply.map { Array($0.utf8) }
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/api/v1")! }

    /// Triggers received so far, on any connection.
    var triggers: Int { lock.withLock { triggerCount } }

    /// Wakes the accept loop and every connection; each descriptor is closed by the thread that uses it, once.
    /// Idempotent (the deinit calls it too). It used to close the listener here, and again from the deinit after a
    /// `defer { stop() }`: the second close hit whatever descriptor had reused the number — a sandbox's socket in a
    /// test running beside it, which libmicrohttpd then failed to close and aborted the whole test process on — and
    /// the accept loop, still blocked on the old number, took that socket's connections and hung up on them
    /// ("Empty reply from server").
    func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            // Under the lock: a connection's thread closes it under the lock too, so no number shut down here can
            // have been closed and reused already.
            for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) }
            shutdown(listener, Int32(SHUT_RDWR))
        }
    }

    deinit { stop() }

    private func acceptLoop() {
        // The listener is closed here, after its last use, never while `accept` may still be waiting on it.
        defer { close(listener) }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let keep: Bool = lock.withLock {
                guard !stopped else { return false }
                connections.insert(connection)
                return true
            }
            guard keep else {
                close(connection)
                return
            }
            Thread.detachNewThread { [self] in
                serve(connection)
                lock.withLock {
                    _ = connections.remove(connection)
                    close(connection)
                }
            }
        }
    }

    /// Answers requests on one connection until the client closes it or a trigger arrives.
    private func serve(_ connection: Int32) {
        var buffer: [UInt8] = []
        while true {
            guard let headerEnd = readHeaders(connection, into: &buffer) else { return }
            let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
            buffer.removeFirst(headerEnd + 4)
            let lines = head.split(separator: "\r\n")
            let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            if path.hasSuffix("/schedules/run/result/") {
                lock.withLock { triggerCount += 1 }
                if let reply = triggerReply {
                    _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
                }
                shutdown(connection, Int32(SHUT_RDWR))
                return
            }
            let length =
                lines.dropFirst().compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
            while buffer.count < length {
                guard read(connection, into: &buffer) else { return }
            }
            buffer.removeFirst(length)
            let data: String
            if path.hasSuffix("/users/credits/") {
                data = #"{"available_credits":10000,"used_credits":0,"frozen_credits":0}"#
            } else if path.hasSuffix("/results/download/") {
                data = #"[{"id":901,"collection":101,"is_download_generated":true,"download_links":null}]"#
            } else {
                data = #"{"total_count":10,"asin_list":[]}"#
            }
            let body = #"{"code":200,"data":"# + data + #","status":1}"#
            let answer =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            let bytes = Array(answer.utf8)
            guard bytes.withUnsafeBytes({ send(connection, $0.baseAddress, $0.count, 0) }) == bytes.count else {
                return
            }
        }
    }

    /// Reads until the buffer holds a whole header block; returns the offset of its blank line.
    private func readHeaders(_ connection: Int32, into buffer: inout [UInt8]) -> Int? {
        let marker: [UInt8] = [13, 10, 13, 10]
        while true {
            if buffer.count >= 4 {
                for index in 0...(buffer.count - 4) where Array(buffer[index..<(index + 4)]) == marker {
                    return index
                }
            }
            guard read(connection, into: &buffer) else { return nil }
        }
    }

    private func read(_ connection: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }
}
