import CartflowArchive
import Foundation
import Testing

@Suite struct ZipTests {
    let pages = [
        ZipWriter.Entry(name: "AU Laptops_88_Results_Page_1.json", data: Data("[{\"a\":1}]".utf8)),
        ZipWriter.Entry(name: "AU Laptops_88_Results_Page_2.json", data: Data("[]".utf8)),
        ZipWriter.Entry(name: "nested/dir/file.json", data: Data()),
    ]

    @Test func roundTripInMemoryAndOnDisk() throws {
        let data = try ZipWriter.archive(pages)
        #expect(data.prefix(2) == Data("PK".utf8))
        let entries = try ZipReader.readAll(data: data)
        #expect(entries == pages.map { ZipEntry(name: $0.name, data: $0.data) })
        #expect(try ZipWriter.archive(pages) == data)  // deterministic bytes

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString).zip").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ZipWriter.write(pages, to: path)
        #expect(try ZipReader.readAll(path: path) == entries)
        let headers = try ZipReader.validate(path: path)
        #expect(headers.map(\.name) == pages.map(\.name))
        #expect(headers.first?.declaredSize == 9)
    }

    /// Streaming hands an entry out in chunks of at most 64 KiB, in order, between its begin and end: memory is
    /// bounded by a chunk, not by what the archive holds.
    @Test func streamingHandsOutBoundedChunks() throws {
        let big = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let data = try ZipWriter.archive([ZipWriter.Entry(name: "a.json", data: big), pages[1]])
        var events: [String] = []
        var received = Data()
        var largest = 0
        try ZipReader.stream(data: data) { event in
            switch event {
            case .begin(let header): events.append("begin \(header.name)")
            case .bytes(let chunk):
                largest = max(largest, chunk.count)
                if events.last != "bytes" { events.append("bytes") }
                if received.count < big.count { received.append(contentsOf: chunk) }
            case .end(let header): events.append("end \(header.name)")
            }
        }
        #expect(
            events == [
                "begin a.json", "bytes", "end a.json", "begin \(pages[1].name)", "bytes", "end \(pages[1].name)",
            ])
        #expect(received == big)
        #expect(largest <= 64 * 1024)
    }

    static let hostile: [(ZipWriter.Entry, String)] = [
        (ZipWriter.Entry(name: "../../x.json", data: Data("{}".utf8)), "../../x.json"),
        (ZipWriter.Entry(name: "ok/../../x.json", data: Data("{}".utf8)), "ok/../../x.json"),
        (ZipWriter.Entry(name: "/etc/x", data: Data("{}".utf8)), "/etc/x"),
        (ZipWriter.Entry(name: "link.json", data: Data(), kind: .symlink(target: "/etc/passwd")), "link.json"),
        (ZipWriter.Entry(name: "../up/", data: Data(), kind: .directory), "../up"),
        (ZipWriter.Entry(name: "ok/../../up/", data: Data(), kind: .directory), "ok/../../up"),
        (ZipWriter.Entry(name: "/abs/", data: Data(), kind: .directory), "/abs"),
        (ZipWriter.Entry(name: "dir\u{1B}[2J/", data: Data(), kind: .directory), "dir\u{1B}"),
    ]

    /// An ordinary directory entry (what `zip -r` writes for a folder) is skipped, not a reason to refuse the
    /// archive: the files under it are handed out, by every pass, and the directory counts towards the limit.
    @Test func safeDirectoryEntriesAreSkipped() throws {
        let entries = [
            ZipWriter.Entry(name: "AU Laptops_902/", data: Data(), kind: .directory),
            ZipWriter.Entry(name: "AU Laptops_902/" + pages[0].name, data: pages[0].data),
            ZipWriter.Entry(name: "AU Laptops_902/sub/", data: Data(), kind: .directory),
            ZipWriter.Entry(name: "AU Laptops_902/sub/" + pages[1].name, data: pages[1].data),
        ]
        let data = try ZipWriter.archive(entries)
        let names = ["AU Laptops_902/" + pages[0].name, "AU Laptops_902/sub/" + pages[1].name]
        #expect(try ZipReader.validate(data: data).map(\.name) == names)
        #expect(
            try ZipReader.readAll(data: data) == [
                ZipEntry(name: names[0], data: pages[0].data), ZipEntry(name: names[1], data: pages[1].data),
            ])
        var streamed: [String] = []
        try ZipReader.stream(data: data) { event in
            if case .begin(let header) = event { streamed.append(header.name) }
        }
        #expect(streamed == names)
        #expect(throws: ZipError.tooManyEntries(limit: 3)) {
            try ZipReader.validate(data: data, limits: ZipLimits(maxEntries: 3))
        }
    }

    @Test(arguments: 0..<hostile.count)
    func hostileEntryRefusesTheWholeArchive(index: Int) throws {
        let (bad, name) = Self.hostile[index]
        // The hostile entry comes last: nothing before it may be handed out.
        let data = try ZipWriter.archive([pages[0], bad])
        var handedOut = 0
        do {
            try ZipReader.forEachEntry(data: data) { _, _ in handedOut += 1 }
            Issue.record("archive with '\(name)' was accepted")
        } catch let error as ZipError {
            switch error {
            case let .unsafeEntryName(entry, _), let .notARegularFile(entry, _):
                #expect(entry.hasPrefix(name))
            default:
                Issue.record("unexpected error \(error)")
            }
            #expect(error.description.contains("refused"))
        }
        #expect(handedOut == 0)
    }

    @Test func tooManyEntries() throws {
        let data = try ZipWriter.archive((1...5).map { ZipWriter.Entry(name: "p\($0).json", data: Data("[]".utf8)) })
        #expect(throws: ZipError.tooManyEntries(limit: 4)) {
            try ZipReader.readAll(data: data, limits: ZipLimits(maxEntries: 4))
        }
        #expect(try ZipReader.readAll(data: data, limits: ZipLimits(maxEntries: 5)).count == 5)
    }

    @Test func zipBombIsRefusedByItsUncompressedSize() throws {
        let bomb = Data(count: 8 << 20)  // 8 MiB of zeros compresses to a few KiB
        let data = try ZipWriter.archive([ZipWriter.Entry(name: "bomb.json", data: bomb)])
        #expect(data.count < 64 * 1024)
        #expect(throws: ZipError.entryTooLarge(entry: "bomb.json", limit: 1 << 20)) {
            try ZipReader.readAll(data: data, limits: ZipLimits(maxEntryBytes: 1 << 20))
        }
        let two = try ZipWriter.archive([
            ZipWriter.Entry(name: "a.json", data: Data(count: 600_000)),
            ZipWriter.Entry(name: "b.json", data: Data(count: 600_000)),
        ])
        #expect(throws: ZipError.totalTooLarge(entry: "b.json", limit: 1_000_000)) {
            try ZipReader.readAll(data: two, limits: ZipLimits(maxTotalBytes: 1_000_000))
        }
    }

    @Test func duplicateNamesAndGarbageAreRefused() throws {
        let duplicate = try ZipWriter.archive([pages[0], pages[0]])
        #expect(throws: ZipError.duplicateEntry(entry: pages[0].name)) { try ZipReader.readAll(data: duplicate) }
        #expect(throws: ZipError.self) { try ZipReader.readAll(data: Data("not a zip".utf8)) }
        #expect(throws: ZipError.self) { try ZipReader.readAll(data: Data()) }
        let whole = try ZipWriter.archive(pages)
        #expect(throws: ZipError.self) { try ZipReader.readAll(data: whole.prefix(whole.count - 10)) }
        #expect(throws: ZipError.self) { try ZipReader.readAll(data: whole.prefix(whole.count / 2)) }
    }

    @Test func entryNameRules() {
        #expect(ZipReader.problem(withEntryName: "a/b.json") == nil)
        #expect(ZipReader.problem(withEntryName: "AU Laptops_1_Results_Page_1.json") == nil)
        #expect(ZipReader.problem(withEntryName: "..foo") == nil)
        #expect(ZipReader.problem(withEntryName: "") != nil)
        #expect(ZipReader.problem(withEntryName: "a\\..\\b") != nil)
        #expect(ZipReader.problem(withEntryName: "C:evil") != nil)
        #expect(ZipReader.problem(withEntryName: "a\u{0}b") != nil)
        #expect(ZipReader.problem(withEntryName: "\\server\\x") != nil)
    }
}
