import CartflowArchive
import CartflowCore
import Foundation
import MultiCart

/// Downloads a runner's result files: page files with bounded concurrency, or the ZIP. Every file is checked
/// (JSON parses, ZIP entries are safe) before it is written atomically under a sanitised local name, and its
/// size and SHA-256 are recorded. Files already recorded with a matching size and hash are not fetched again.
struct Fetcher: Sendable {
    let client: MultiCartClient
    let concurrency: Int
    let progress: @Sendable (String) -> Void
    /// Hosts (`host` or `host:port`, lower case) that links, and redirects of downloads, may point at besides the
    /// API's own origin (`api.allow_download_hosts`). The key is never sent to them.
    var allowedHosts: [String] = []
    /// Attempts per file when the body arrives whole by its length but does not parse (cut short without a
    /// Content-Length, or garbled); network-level retries happen below, in the client.
    var attemptsPerFile = 3
    /// What a result archive may hold (docs/running.md): it is streamed to disk, so memory does not grow with it.
    var zipLimits = ZipLimits.resultArchive

    /// What one task of `fetchPages` produced. A download slot is held from the request until the body is
    /// checked; hashing, writing and syncing the file happen after the slot is given to the next link.
    private enum Stage: Sendable {
        case downloaded(link: String, name: String, data: Data)
        case reused(FileRecord)
        case saved(FileRecord)
    }

    /// Fetches page links into `directory` with at most `concurrency` downloads in flight. Each file is recorded
    /// (in batches, through `record`) once it is safely on disk; all are recorded when this returns or throws.
    func fetchPages(
        _ links: [String], into directory: String, known: [String: FileRecord],
        record: @escaping @Sendable ([FileRecord]) throws -> Void
    ) async throws -> [FileRecord] {
        let named = try Self.uniqueLocalNames(links, apiBase: client.baseURL)
        for link in links { try checkHost(link) }
        let recorder = FileRecorder(write: record)
        do {
            let results = try await withThrowingTaskGroup(of: Stage.self) { group in
                var results: [FileRecord] = []
                var next = 0
                func addNext() {
                    guard next < named.count else { return }
                    let (link, name) = named[next]
                    next += 1
                    group.addTask {
                        let path = (directory as NSString).appendingPathComponent(name)
                        if let existing = known[name], Self.verify(existing, at: path) {
                            progress("\(name): already downloaded and verified")
                            return .reused(existing)
                        }
                        let data = try await downloadChecked(link) { try Self.checkPage($0, name: name) }
                        return .downloaded(link: link, name: name, data: data)
                    }
                }
                for _ in 0..<max(1, concurrency) { addNext() }
                while let stage = try await group.next() {
                    switch stage {
                    case .downloaded(let link, let name, let data):
                        addNext()
                        group.addTask {
                            let path = (directory as NSString).appendingPathComponent(name)
                            let file = FileRecord(
                                name: name, link: link, localPath: path, size: data.count, sha256: SHA256.hex(data))
                            try AtomicFile.write(data, to: path)
                            recorder.add(file)
                            progress("\(name): \(data.count) bytes")
                            return .saved(file)
                        }
                    case .reused(let file):
                        addNext()
                        results.append(file)
                    case .saved(let file):
                        results.append(file)
                    }
                }
                return results
            }
            try await recorder.finish()
            return results
        } catch {
            // Whatever reached the disk is recorded before the error goes up, so a resume need not fetch it again.
            try? await recorder.finish()
            throw error
        }
    }

    /// Fetches the ZIP and writes each page file it holds, or none. The archive is read one entry at a time into
    /// temporary files (memory stays bounded by a chunk and the one entry being checked); each entry must be safe,
    /// within `zipLimits` and, for `.json` names, valid JSON. Any problem refuses the archive whole before a file
    /// appears under its final name, and is final: only a download that does not read as a ZIP at all (cut off)
    /// is fetched again.
    func fetchZip(
        _ link: String, into directory: String, known: [String: FileRecord],
        record: @escaping @Sendable ([FileRecord]) throws -> Void
    ) async throws -> [FileRecord] {
        try checkHost(link)
        let limits = zipLimits
        // Headers only: a cut-off download is caught here and fetched again; nothing is decompressed yet.
        let data = try await downloadChecked(link) { _ = try ZipReader.validate(data: $0, limits: limits) }
        let staged = try stage(data, link: link, into: directory)
        var results: [FileRecord] = []
        var remaining = staged[...]
        do {
            while let entry = remaining.popFirst() {
                if let existing = known[entry.file.name], Self.verify(existing, at: entry.file.localPath),
                    existing.sha256 == entry.file.sha256
                {
                    entry.writer.discard()
                    results.append(existing)
                    continue
                }
                try entry.writer.commit()
                try record([entry.file])
                results.append(entry.file)
            }
        } catch {
            for entry in remaining { entry.writer.discard() }
            throw error
        }
        progress("\((link as NSString).lastPathComponent): \(data.count) bytes, \(results.count) page files")
        return results
    }

    /// One archive entry checked and waiting in its sealed temporary file for the whole archive's verdict.
    private struct StagedEntry {
        let writer: AtomicFileWriter
        let file: FileRecord
    }

    /// Streams every entry of the archive to a temporary file next to its final name and checks it there; on any
    /// problem every temporary file is removed and the error thrown.
    private func stage(_ archive: Data, link: String, into directory: String) throws -> [StagedEntry] {
        let archiveName =
            (try? MultiCartClient.encodedURL(link, apiBase: client.baseURL)).flatMap(MultiCartClient.fileName)
            ?? "the ZIP"
        var staged: [StagedEntry] = []
        var used: Set<String> = []
        var current: (entry: String, writer: AtomicFileWriter, sniffer: JSONStartSniffer?)?
        do {
            try ZipReader.stream(data: archive, limits: zipLimits) { event in
                switch event {
                case .begin(let header):
                    let name = Self.uniqueName(Self.sanitise((header.name as NSString).lastPathComponent), used: &used)
                    let writer = try AtomicFileWriter(path: (directory as NSString).appendingPathComponent(name))
                    current = (header.name, writer, Self.isJSONName(header.name) ? JSONStartSniffer() : nil)
                case .bytes(let chunk):
                    guard let entry = current?.entry, let writer = current?.writer else { return }
                    // Refused at the first bytes that cannot start JSON (a bomb of zeros), not once all are written.
                    if current?.sniffer?.accepts(chunk) == false {
                        throw Self.entryNotJSON(archive: archiveName, entry: entry)
                    }
                    try writer.write(chunk)
                case .end:
                    guard let (entry, writer, _) = current else { return }
                    try writer.seal()
                    // Mapped, not read into memory: one entry is checked at a time, and its pages stay the file's.
                    let contents =
                        writer.bytesWritten == 0
                        ? Data()
                        : try Data(contentsOf: URL(fileURLWithPath: writer.temporaryPath), options: .alwaysMapped)
                    if Self.isJSONName(entry), !Self.parses(contents) {
                        throw Self.entryNotJSON(archive: archiveName, entry: entry)
                    }
                    let name = (writer.path as NSString).lastPathComponent
                    let file = FileRecord(
                        name: name, link: link + "#" + entry, localPath: writer.path, size: contents.count,
                        sha256: SHA256.hex(contents))
                    staged.append(StagedEntry(writer: writer, file: file))
                    current = nil
                }
            }
        } catch {
            current?.writer.discard()
            for entry in staged { entry.writer.discard() }
            throw error
        }
        return staged
    }

    /// A ZIP entry that should be a page but is not JSON: the archive is refused whole, and not fetched again
    /// (the server would send the same archive).
    static func entryNotJSON(archive: String, entry: String) -> MultiCartError {
        .contractSurprise(
            endpoint: "GET \(archive)",
            detail:
                "ZIP entry '\(ZipError.printable(entry))' is not valid JSON; the archive is refused, no page written")
    }

    static func isJSONName(_ name: String) -> Bool { name.lowercased().hasSuffix(".json") }

    /// Whether the bytes are JSON the exporter's parser accepts, checked without building a value: memory stays
    /// flat however large the page or entry (building a 60 MiB array of numbers took 880 MB).
    static func parses(_ data: Data) -> Bool {
        (try? data.withUnsafeBytes { try JSONParser.validate($0) }) != nil
    }

    /// Downloads a link and runs `check` on the body, downloading again (up to `attemptsPerFile`) when the check
    /// fails: a body that is not what it should be is never accepted, and a cut-off one usually succeeds next time.
    /// All attempts share one time budget (`fetch.timeout`).
    private func downloadChecked(_ link: String, check: (Data) throws -> Void) async throws -> Data {
        var attempt = 1
        let until = client.monotonic() + client.downloadDeadline
        while true {
            let data = try await client.download(link, redirectHosts: allowedHosts, until: until)
            do {
                try check(data)
                return data
            } catch let error as ZipError where !Self.isRetryable(error) {
                throw error
            } catch {
                guard attempt < attemptsPerFile else { throw error }
                progress("\((link as NSString).lastPathComponent): \(error); downloading again")
                attempt += 1
            }
        }
    }

    /// A damaged archive may download whole next time; a hostile or oversized one will not.
    static func isRetryable(_ error: ZipError) -> Bool {
        if case .unreadable = error { return true }
        return false
    }

    /// Refuses a link to another origin unless the workflow allows its host (`api.allow_download_hosts`).
    func checkHost(_ link: String) throws {
        let url = try MultiCartClient.encodedURL(link, apiBase: client.baseURL)
        let origin = Origin(url)
        if origin == Origin(client.baseURL) || origin.isListed(in: allowedHosts) { return }
        throw RunError.foreignLink(
            host: "\(origin.host):\(origin.port)",
            detail: "a download link points at \(origin), not at the API's origin \(Origin(client.baseURL)); "
                + "not fetched (add the host to api.allow_download_hosts to allow it; the key is never sent there)")
    }

    /// A file on disk is trusted only with its recorded size and hash.
    static func verify(_ record: FileRecord, at path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), data.count == record.size else { return false }
        return SHA256.hex(data) == record.sha256
    }

    /// A page must at least be JSON before it is accepted (a partial file usually is not). The exporter's own
    /// parser decides, so a page is accepted exactly when it can be exported (it is also much faster than
    /// JSONSerialization).
    static func checkPage(_ data: Data, name: String) throws {
        guard isJSONName(name), !parses(data) else { return }
        throw MultiCartError.contractSurprise(
            endpoint: "GET \(name)", detail: "the file is not valid JSON (\(data.count) bytes); not saved")
    }

    /// Local names for links: the last path segment (of the link's first reading, see `MultiCartClient.readings`)
    /// decoded once, sanitised and made unique.
    static func uniqueLocalNames(_ links: [String], apiBase: URL) throws -> [(String, String)] {
        var used: Set<String> = []
        return try links.map { link in
            let url = try MultiCartClient.encodedURL(link, apiBase: apiBase)
            return (link, uniqueName(sanitise(MultiCartClient.fileName(url) ?? "file"), used: &used))
        }
    }

    /// A remote name made safe as a local file name: no separators, control characters or leading dots.
    static func sanitise(_ name: String) -> String {
        var text = String(
            name.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "/", "\\", ":", "*", "?", "\"", "<", ">", "|": return "_"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F: return "_"
                default: return Character(scalar)
                }
            })
        while text.hasPrefix(".") { text.removeFirst() }
        if text.utf8.count > maxNameBytes { text = shortened(text) }
        return text.isEmpty ? "file" : text
    }

    /// File names are limited to 255 bytes (not characters); the temporary file adds about 30.
    static let maxNameBytes = 200

    /// A long name cut in the middle, within `maxNameBytes` UTF-8 bytes: the start says which collection, and
    /// the end (`_Page_12.json`) keeps the page number and extension that order and identify the pages.
    static func shortened(_ text: String) -> String {
        let marker = "…"
        var tail: [Character] = []
        var tailBytes = 0
        for character in text.reversed() {
            let bytes = String(character).utf8.count
            if tailBytes + bytes > 60 { break }
            tail.append(character)
            tailBytes += bytes
        }
        var head = ""
        let headBudget = maxNameBytes - tailBytes - marker.utf8.count
        for character in text {
            if head.utf8.count + String(character).utf8.count > headBudget { break }
            head.append(character)
        }
        return head + marker + String(tail.reversed())
    }

    static func uniqueName(_ name: String, used: inout Set<String>) -> String {
        var candidate = name
        var counter = 2
        while used.contains(candidate) {
            let base = (name as NSString).deletingPathExtension
            let ext = (name as NSString).pathExtension
            candidate = "\(base)-\(counter)" + (ext.isEmpty ? "" : ".\(ext)")
            counter += 1
        }
        used.insert(candidate)
        return candidate
    }

    /// Orders page files by their page number (`…_Page_10.json` after `…_Page_9.json`), then by name.
    static func pageOrder(_ a: String, _ b: String) -> Bool {
        let pa = pageNumber(a)
        let pb = pageNumber(b)
        if pa != pb { return (pa ?? Int.max) < (pb ?? Int.max) }
        return a < b
    }

    static func pageNumber(_ name: String) -> Int? {
        guard let range = name.range(of: "_Page_", options: .backwards) else { return nil }
        return Int(name[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Records downloaded files in the state database off the download path: files that arrive while a commit is
/// running go into the next one, so commits (each an fsync) never hold up a download slot. A file on disk that
/// is not recorded yet is simply fetched again after a crash.
final class FileRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [FileRecord] = []
    private var scheduled = false
    private var failure: (any Error)?
    private let queue = DispatchQueue(label: "cartflow.file-recorder")
    private let group = DispatchGroup()
    private let write: @Sendable ([FileRecord]) throws -> Void

    init(write: @escaping @Sendable ([FileRecord]) throws -> Void) { self.write = write }

    func add(_ file: FileRecord) {
        let schedule: Bool = lock.withLock {
            pending.append(file)
            if scheduled { return false }
            scheduled = true
            group.enter()
            return true
        }
        if schedule { queue.async { self.flush() } }
    }

    private func flush() {
        let batch: [FileRecord] = lock.withLock {
            let batch = pending
            pending = []
            scheduled = false
            return batch
        }
        do {
            try write(batch)
        } catch {
            lock.withLock { if failure == nil { failure = error } }
        }
        group.leave()
    }

    /// Waits until every added file is committed; throws the first commit error.
    func finish() async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: queue) { continuation.resume() }
        }
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}

/// Temporary files that a killed cartflow left behind (`.NAME.PID.SUFFIX.tmp`, see AtomicFile): removed when
/// their process is gone, so a crash leaves no litter for the next run to trip over.
enum AbandonedTemporaryFiles {
    /// Removes them in `directory`; with `target`, only those of that final file name. Returns how many.
    @discardableResult
    static func remove(in directory: String, target: String? = nil) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let parts = name.dropFirst().dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { continue }
            if let target, parts.dropLast(2).joined(separator: ".") != target { continue }
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name)))
                != nil
            {
                removed += 1
            }
        }
        return removed
    }
}

/// Decides from an entry's first bytes whether it can be JSON at all, so an archive of zeros or binary is refused
/// at its first chunk. Lenient where it must be: it lets through whatever `JSONParser` accepts before the first
/// value (a UTF-8 byte order mark, whitespace); the whole entry is parsed later anyway.
struct JSONStartSniffer {
    private var bomBytes = 0
    private var started = false
    private var decided = false

    /// False once the bytes so far cannot start a JSON text; true while they can (or once a value has started).
    mutating func accepts(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard !decided else { return true }
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        for byte in chunk {
            if !started, bomBytes < 3, byte == bom[bomBytes] {
                bomBytes += 1
                continue
            }
            started = true
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "\""), UInt8(ascii: "-"), UInt8(ascii: "t"),
                UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                decided = true
                return true
            default:
                return false
            }
        }
        return true
    }
}
