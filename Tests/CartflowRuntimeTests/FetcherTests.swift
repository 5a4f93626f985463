import CartflowArchive
import CartflowTestSupport
import Foundation
import MultiCart
import Testing

@testable import CartflowRuntime

/// The fetcher's local rules: names, hosts, checks before acceptance, batched recording.
@Suite struct FetcherTests {
    let base = URL(string: "https://api.example/api/v1")!

    func fetcher(_ replies: [MockTransport.Reply], allowed: [String] = []) -> (Fetcher, MockTransport) {
        let transport = MockTransport(replies)
        let client = MultiCartClient(
            baseURL: base, apiKey: "k", transport: transport, retry: RetryPolicy(maxAttempts: 1), sleep: { _ in })
        var fetcher = Fetcher(client: client, concurrency: 2, progress: { _ in })
        fetcher.allowedHosts = allowed
        return (fetcher, transport)
    }

    @Test func remoteNamesBecomeSafeUniqueLocalNames() throws {
        #expect(Fetcher.sanitise("../../etc/passwd") == "_.._etc_passwd")
        #expect(Fetcher.sanitise("a\u{1}b?c*.json") == "a_b_c_.json")
        #expect(Fetcher.sanitise("..") == "file")
        let names = try Fetcher.uniqueLocalNames(
            [
                "https://api.example/r/1/2/AU Laptops_2_Results_Page_1.json",
                "https://api.example/r/1/3/AU Laptops_2_Results_Page_1.json",
                "https://api.example/r/1/2/AU%20Laptops%3F_Page_2.json",
                "https://api.example/r/1/2/Promo %41 #1? Deals_2_Results_Page_3.json",
                "https://cdn.example/r/a%2Fb_Page_4.json?sig=x%2Fy",
                // The API's own result links hold raw names, whatever they look like.
                "https://api.example/api/v1/results/1/2/Promo%41Deals_2_Results_Page_5.json",
            ], apiBase: URL(string: "https://api.example/api/v1")!
        ).map(\.1)
        #expect(
            names == [
                "AU Laptops_2_Results_Page_1.json", "AU Laptops_2_Results_Page_1-2.json", "AU Laptops__Page_2.json",
                "Promo %41 #1_ Deals_2_Results_Page_3.json", "a_b_Page_4.json", "Promo%41Deals_2_Results_Page_5.json",
            ])
    }

    /// C21: a long collection name (CJK is 3 bytes a character) must still give a file name the file system
    /// takes (255 bytes, with room for the temporary file's suffix), and the page number must survive, or a
    /// paid run could never be fetched and the pages would export out of order.
    @Test func longNamesFitTheFileSystemAndKeepTheirPageNumber() throws {
        let collection = String(repeating: "笔记本电脑", count: 24)
        for name in [collection + "_904_Results_Page_12.json", String(repeating: "a", count: 400) + "_Page_3.json"] {
            let local = Fetcher.sanitise(name)
            #expect(local.utf8.count <= 200)
            #expect(local.hasSuffix(name.hasSuffix("12.json") ? "_Page_12.json" : "_Page_3.json"))
            #expect(local.hasPrefix(String(name.prefix(10))))
        }
        let links = (1...12).map { "https://api.example/r/1/2/\(collection)_904_Results_Page_\($0).json" }
        let names = try Fetcher.uniqueLocalNames(links, apiBase: URL(string: "https://api.example/api/v1")!).map(\.1)
        #expect(Set(names).count == 12)
        #expect(names.sorted(by: Fetcher.pageOrder).map { Fetcher.pageNumber($0) } == Array(1...12))
    }

    @Test func linksToAnotherOriginNeedTheHostListed() throws {
        let (plain, _) = fetcher([])
        try plain.checkHost("https://api.example/api/v1/results/1/2/a.json")
        #expect(throws: RunError.self) { try plain.checkHost("https://cdn.example/results/a.json") }
        #expect(throws: RunError.self) { try plain.checkHost("http://api.example/api/v1/results/a.json") }
        #expect(throws: RunError.self) { try plain.checkHost("https://api.example:8443/results/a.json") }
        let (allowed, _) = fetcher([], allowed: ["cdn.example", "files.example:8080"])
        try allowed.checkHost("https://cdn.example/results/a.json")
        try allowed.checkHost("http://files.example:8080/a.json")
        #expect(throws: RunError.self) { try allowed.checkHost("http://files.example:9090/a.json") }
    }

    /// A body that arrives "whole" (no Content-Length to say otherwise) but does not parse is downloaded again;
    /// it is never written.
    @Test func pageThatDoesNotParseIsFetchedAgainAndNeverWritten() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher")
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = Data("[{\"asin\":\"B1\"}]".utf8)
        let (fetcher, transport) = fetcher(
            [
                .response(HTTPResponse(status: 200, body: Data("[{\"asin\":\"B".utf8))),
                .response(HTTPResponse(status: 200, body: good)),
            ], allowed: ["cdn.example"])
        let recorded = LineLog()
        let files = try await fetcher.fetchPages(
            ["https://api.example/api/v1/results/1/2/p_Page_1.json"], into: directory.path, known: [:]
        ) { batch in for file in batch { recorded.append(file.name) } }
        #expect(transport.requests.count == 2)
        // Redirects of downloads may go to the listed hosts only, and never with the key.
        #expect(
            transport.requests.allSatisfy { $0.redirects == .allowedHosts(["cdn.example"], removing: ["x-api-key"]) })
        #expect(files.count == 1)
        #expect(recorded.all == ["p_Page_1.json"])
        #expect(FileManager.default.contents(atPath: files[0].localPath) == good)
        #expect(files[0].sha256 == SHA256.hex(good))
    }

    @Test func pageThatNeverParsesFailsWithoutAFile() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = MockTransport.Reply.response(HTTPResponse(status: 200, body: Data("<html>".utf8)))
        let (fetcher, transport) = fetcher([bad, bad, bad])
        await #expect(throws: MultiCartError.self) {
            _ = try await fetcher.fetchPages(
                ["https://api.example/api/v1/results/1/2/p_Page_1.json"], into: directory.path, known: [:]
            ) { _ in }
        }
        #expect(transport.requests.count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// Downloading again after a body that does not parse spends the same budget (`fetch.timeout`): a slow
    /// server sending garbage cannot hold a file for a budget per attempt.
    @Test func downloadsAgainShareTheFileBudget() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher")
        defer { try? FileManager.default.removeItem(at: directory) }
        let time = VirtualTime()
        let bad = MockTransport.Reply.response(HTTPResponse(status: 200, body: Data("<html>".utf8)))
        let transport = TimedTransport([bad, bad, bad], cost: .seconds(200), time: time)
        var client = MultiCartClient(
            baseURL: base, apiKey: "k", transport: transport, retry: RetryPolicy(maxAttempts: 1), sleep: { _ in },
            monotonic: { time.now() })
        client.downloadDeadline = .seconds(300)
        let fetcher = Fetcher(client: client, concurrency: 1, progress: { _ in })
        await #expect(throws: MultiCartError.self) {
            _ = try await fetcher.fetchPages(
                ["https://api.example/api/v1/results/1/2/p_Page_1.json"], into: directory.path, known: [:]
            ) { _ in }
        }
        #expect(transport.requests.map(\.deadline) == [.seconds(300), .seconds(100)])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    // MARK: ZIP

    let zipLink = "https://api.example/api/v1/results/1/2/P_2_Results_All_Pages.zip"

    func zip(_ entries: [(String, Data)]) throws -> MockTransport.Reply {
        .response(HTTPResponse(status: 200, body: try ZipWriter.archive(entries.map { (name: $0.0, data: $0.1) })))
    }

    func page(_ n: Int) -> (String, Data) { ("P_2_Results_Page_\(n).json", Data("[{\"asin\":\"B\(n)\"}]".utf8)) }

    /// Nothing at all in the folder: no final file and no temporary file left behind.
    func expectEmpty(_ directory: URL) throws {
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [])
    }

    @Test func zipPagesAreWrittenAndRecorded() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher-zip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (fetcher, transport) = fetcher([try zip([page(1), page(2), ("notes.txt", Data())])])
        let recorded = LineLog()
        let files = try await fetcher.fetchZip(zipLink, into: directory.path, known: [:]) { batch in
            for file in batch { recorded.append(file.name) }
        }
        #expect(transport.requests.count == 1)
        #expect(files.map(\.name) == [page(1).0, page(2).0, "notes.txt"])
        #expect(recorded.all == files.map(\.name))
        for (file, expected) in Swift.zip(files, [page(1).1, page(2).1, Data()]) {
            #expect(FileManager.default.contents(atPath: file.localPath) == expected)
            #expect(file.size == expected.count && file.sha256 == SHA256.hex(expected))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == files.map(\.name))
    }

    /// A ZIP whose pages sit in a folder, with an entry for the folder itself, is fetched: the directory entry is
    /// skipped (it used to refuse the whole archive) and each page is written under its own name.
    @Test func zipWithADirectoryEntryIsFetched() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher-zip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = try ZipWriter.archive([
            ZipWriter.Entry(name: "AU Laptops_902/", data: Data(), kind: .directory),
            ZipWriter.Entry(name: "AU Laptops_902/" + page(1).0, data: page(1).1),
            ZipWriter.Entry(name: "AU Laptops_902/" + page(2).0, data: page(2).1),
        ])
        let (fetcher, _) = fetcher([.response(HTTPResponse(status: 200, body: archive))])
        let files = try await fetcher.fetchZip(zipLink, into: directory.path, known: [:]) { _ in }
        #expect(files.map(\.name) == [page(1).0, page(2).0])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == files.map(\.name))
        #expect(FileManager.default.contents(atPath: files[0].localPath) == page(1).1)
    }

    /// The audit's bomb, scaled down: entries of zeros inside every limit are not pages. The archive is refused at
    /// its first entry, whole and for good: one download, not three, and no file of it on disk.
    @Test func zipOfZerosIsRefusedOnceAndLeavesNothing() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher-zip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let zeros = Data(count: 4 << 20)
        let bomb = try zip((1...4).map { ("P_2_Results_Page_\($0).json", zeros) })
        let (fetcher, transport) = fetcher([bomb, bomb, bomb])
        do {
            _ = try await fetcher.fetchZip(zipLink, into: directory.path, known: [:]) { _ in }
            Issue.record("an archive of zeros must be refused")
        } catch let error as MultiCartError {
            #expect(
                error.description
                    == "unexpected answer from GET P_2_Results_All_Pages.zip: ZIP entry 'P_2_Results_Page_1.json' is "
                    + "not valid JSON; the archive is refused, no page written")
            #expect(!error.isTransient)
        }
        #expect(transport.requests.count == 1)
        try expectEmpty(directory)
    }

    /// One bad page after good ones refuses the archive before any good page appears under its name.
    @Test func zipWithOneBadPageWritesNoPage() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher-zip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = ("P_2_Results_Page_3.json", Data("[{\"asin\":".utf8))
        let archive = try zip([page(1), page(2), bad])
        let (fetcher, transport) = fetcher([archive, archive, archive])
        let recorded = LineLog()
        await #expect(throws: MultiCartError.self) {
            _ = try await fetcher.fetchZip(zipLink, into: directory.path, known: [:]) { batch in
                for file in batch { recorded.append(file.name) }
            }
        }
        #expect(transport.requests.count == 1)
        #expect(recorded.all.isEmpty)
        try expectEmpty(directory)
    }

    /// The documented limits hold: an entry over 64 MiB is refused by its size (declared here) and never
    /// decompressed; a total over the cap is refused while streaming. Neither is fetched again.
    @Test func zipOverItsLimitsIsRefusedOnce() async throws {
        #expect(
            ZipLimits.resultArchive == ZipLimits(maxEntries: 10_000, maxEntryBytes: 64 << 20, maxTotalBytes: 1 << 30))
        let directory = try CartflowProcess.temporaryDirectory("fetcher-zip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let big = try zip([page(1), ("P_2_Results_Page_2.json", Data(count: (64 << 20) + 1))])
        let (plain, transport) = fetcher([big, big])
        await #expect(throws: ZipError.entryTooLarge(entry: "P_2_Results_Page_2.json", limit: 64 << 20)) {
            _ = try await plain.fetchZip(zipLink, into: directory.path, known: [:]) { _ in }
        }
        #expect(transport.requests.count == 1)
        try expectEmpty(directory)

        let spaces = Data("[".utf8) + Data(repeating: 0x20, count: 1 << 20) + Data("]".utf8)
        let many = try zip((1...4).map { ("P_2_Results_Page_\($0).json", spaces) })
        var (small, smallTransport) = fetcher([many, many])
        small.zipLimits = ZipLimits(maxEntries: 10, maxEntryBytes: 2 << 20, maxTotalBytes: 3 << 20)
        await #expect(throws: ZipError.totalTooLarge(entry: "P_2_Results_Page_3.json", limit: 3 << 20)) {
            _ = try await small.fetchZip(zipLink, into: directory.path, known: [:]) { _ in }
        }
        #expect(smallTransport.requests.count == 1)
        try expectEmpty(directory)
    }

    /// Only an archive that does not read as a ZIP at all (cut off on the way) is downloaded again.
    @Test func truncatedZipIsFetchedAgain() async throws {
        let directory = try CartflowProcess.temporaryDirectory("fetcher-zip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try ZipWriter.archive([(name: page(1).0, data: page(1).1)])
        let (fetcher, transport) = fetcher([
            .response(HTTPResponse(status: 200, body: whole.prefix(whole.count / 2))),
            .response(HTTPResponse(status: 200, body: whole)),
        ])
        let files = try await fetcher.fetchZip(zipLink, into: directory.path, known: [:]) { _ in }
        #expect(transport.requests.count == 2)
        #expect(files.map(\.name) == [page(1).0])
    }

    @Test func jsonStartSnifferRefusesOnlyWhatCannotBeJSON() {
        func sniff(_ bytes: [UInt8]) -> Bool {
            var sniffer = JSONStartSniffer()
            return bytes.withUnsafeBytes { sniffer.accepts($0) }
        }
        #expect(!sniff([0, 0, 0]))
        #expect(!sniff(Array("<html>".utf8)))
        #expect(!sniff([0xEF, 0xBB, 0xBF, 0xBF]))
        for text in ["[]", "  {\"a\":1}", "\"x\"", "-1", "7", "true", "null", "\u{FEFF}[1]", " \n\t"] {
            #expect(sniff(Array(text.utf8)), "\(text)")
        }
    }

    /// Files that arrive while a commit is running go into one next commit.
    @Test func recorderBatchesFilesThatArriveDuringACommit() async throws {
        let gate = DispatchSemaphore(value: 0)
        let batches = LineLog()
        let recorder = FileRecorder { batch in
            if batches.all.isEmpty { gate.wait() }
            batches.append(batch.map(\.name).joined(separator: ","))
        }
        func file(_ n: Int) -> FileRecord { FileRecord(name: "f\(n)", link: "", localPath: "", size: 0, sha256: "") }
        recorder.add(file(0))
        for n in 1...50 { recorder.add(file(n)) }
        gate.signal()
        try await recorder.finish()
        let all = batches.all.flatMap { $0.split(separator: ",").map(String.init) }
        #expect(all == (0...50).map { "f\($0)" })
        #expect(batches.all.count <= 2)
    }

    @Test func recorderReportsTheFirstCommitError() async throws {
        struct Boom: Error {}
        let recorder = FileRecorder { _ in throw Boom() }
        recorder.add(FileRecord(name: "a", link: "", localPath: "", size: 0, sha256: ""))
        await #expect(throws: Boom.self) { try await recorder.finish() }
    }

    @Test func temporaryFilesOfDeadProcessesAreRemoved() throws {
        let directory = try CartflowProcess.temporaryDirectory("tmpfiles")
        defer { try? FileManager.default.removeItem(at: directory) }
        let names = [
            ".out.csv.2000000000.ab12.tmp",  // dead process: removed
            ".out.csv.\(getpid()).cd34.tmp",  // this process, alive: kept
            ".other.csv.2000000000.ef56.tmp",  // another target: kept when a target is named
            "out.csv",
        ]
        for name in names { try Data().write(to: directory.appendingPathComponent(name)) }
        #expect(AbandonedTemporaryFiles.remove(in: directory.path, target: "out.csv") == 1)
        #expect(AbandonedTemporaryFiles.remove(in: directory.path) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [names[1], "out.csv"])
    }
}
