import CartflowRuntime
import Foundation
import Testing

/// A fresh directory under the system temporary directory, removed when the value is dropped.
final class ScratchDirectory {
    let path: String

    init() throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("cartflow-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Every entry, hidden ones included (a leftover temporary file starts with a dot).
    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    func read(_ name: String) throws -> String { try String(contentsOfFile: file(name), encoding: .utf8) }

    func permissions(_ name: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: file(name))
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}

private struct Boom: Error {}

@Suite struct AtomicFileTests {
    /// A sealed file is on disk and closed but not visible under its name until commit; discard still removes it.
    @Test func sealedFilesWaitForCommitOrDiscard() throws {
        let dir = try ScratchDirectory()
        let kept = try AtomicFileWriter(path: dir.file("a.json"))
        try kept.write("[1]")
        try kept.seal()
        #expect(FileManager.default.contents(atPath: kept.temporaryPath) == Data("[1]".utf8))
        #expect(!FileManager.default.fileExists(atPath: dir.file("a.json")))
        #expect(throws: AtomicFileError.self) { try kept.write("more") }
        let dropped = try AtomicFileWriter(path: dir.file("b.json"))
        try dropped.write("[2]")
        try dropped.seal()
        dropped.discard()
        try kept.commit()
        #expect(try dir.entries() == ["a.json"])
        #expect(try dir.read("a.json") == "[1]")
    }

    @Test func writesANewFileWithTheGivenPermissions() throws {
        let dir = try ScratchDirectory()
        try AtomicFile.write(Data("hello\n".utf8), to: dir.file("a.txt"))
        #expect(try dir.read("a.txt") == "hello\n")
        #expect(try dir.permissions("a.txt") == 0o644)
        try AtomicFile.write(Data("secret".utf8), to: dir.file("b.txt"), permissions: 0o600)
        #expect(try dir.permissions("b.txt") == 0o600)
        #expect(try dir.entries() == ["a.txt", "b.txt"])
    }

    @Test func replacesAnExistingFile() throws {
        let dir = try ScratchDirectory()
        try AtomicFile.write(Data("old content that is longer".utf8), to: dir.file("a.txt"))
        try AtomicFile.write(Data("new".utf8), to: dir.file("a.txt"))
        #expect(try dir.read("a.txt") == "new")
        #expect(try dir.entries() == ["a.txt"])
    }

    @Test func streamsMoreThanTheBufferInMixedChunks() throws {
        let dir = try ScratchDirectory()
        let writer = try AtomicFileWriter(path: dir.file("big.bin"), bufferSize: 1024)
        var expected: [UInt8] = []
        for index in 0..<2_000 {
            // Chunks smaller than, equal to and larger than the buffer.
            let size = [1, 7, 1023, 1024, 3000][index % 5]
            let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
            expected += chunk
            try writer.write(chunk)
        }
        try writer.write("tail")
        expected += Array("tail".utf8)
        // Nothing is visible before commit.
        #expect(!FileManager.default.fileExists(atPath: dir.file("big.bin")))
        try writer.commit()
        #expect(writer.bytesWritten == expected.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("big.bin"))) == Data(expected))
        #expect(try dir.entries() == ["big.bin"])
    }

    @Test func discardLeavesThePreviousFileAndNoTemporaryFile() throws {
        let dir = try ScratchDirectory()
        try AtomicFile.write(Data("previous".utf8), to: dir.file("a.csv"))
        let writer = try AtomicFileWriter(path: dir.file("a.csv"))
        try writer.write(String(repeating: "x", count: 200_000))
        #expect(try dir.entries().count == 2)  // the temporary file exists while writing
        writer.discard()
        writer.discard()
        #expect(try dir.read("a.csv") == "previous")
        #expect(try dir.entries() == ["a.csv"])
        #expect(throws: AtomicFileError.self) { try writer.commit() }
    }

    @Test func aThrowingBodyLeavesThePreviousFile() throws {
        let dir = try ScratchDirectory()
        try AtomicFile.write(Data("previous".utf8), to: dir.file("a.csv"))
        #expect(throws: Boom.self) {
            try AtomicFile.write(to: dir.file("a.csv")) { writer in
                try writer.write("half a file")
                throw Boom()
            }
        }
        #expect(try dir.read("a.csv") == "previous")
        #expect(try dir.entries() == ["a.csv"])
    }

    @Test func droppingAnUncommittedWriterRemovesItsTemporaryFile() throws {
        let dir = try ScratchDirectory()
        do {
            let writer = try AtomicFileWriter(path: dir.file("a.csv"))
            try writer.write("never committed")
        }
        #expect(try dir.entries() == [])
    }

    @Test func aMissingDirectoryIsAClearError() throws {
        let dir = try ScratchDirectory()
        let target = dir.file("no/such/dir/a.csv")
        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data(), to: target) }
        #expect(error?.path == target)
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test func aFailedRenameLeavesTheTargetAndRemovesTheTemporaryFile() throws {
        let dir = try ScratchDirectory()
        // A non-empty directory at the target path makes rename(2) fail after all bytes were written.
        try FileManager.default.createDirectory(atPath: dir.file("out.csv/inside"), withIntermediateDirectories: true)
        let error = #expect(throws: AtomicFileError.self) {
            try AtomicFile.write(Data("x".utf8), to: dir.file("out.csv"))
        }
        #expect(error?.operation == "rename")
        #expect(try dir.entries() == ["out.csv"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("out.csv")) == ["inside"])
    }

    @Test func writingAfterCommitIsRefused() throws {
        let dir = try ScratchDirectory()
        let writer = try AtomicFileWriter(path: dir.file("a.txt"))
        try writer.write([UInt8]("a".utf8))
        try writer.commit()
        #expect(throws: AtomicFileError.self) { try writer.write("b") }
        #expect(try dir.read("a.txt") == "a")
    }
}
