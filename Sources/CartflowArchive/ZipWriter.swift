internal import CArchive
import Foundation

/// Writes ZIP archives (deflate) from named byte blobs, in memory or to a file, with libarchive.
public enum ZipWriter {
    /// One thing to put in an archive. Only `.file` is normal; the other kinds exist so tests can build hostile archives
    /// (ZIP has no hard links, so there is no kind for them; the reader still refuses one should libarchive report it).
    public struct Entry: Sendable {
        public enum Kind: Sendable, Equatable {
            case file
            case symlink(target: String)
            case directory
        }
        public var name: String
        public var data: Data
        public var kind: Kind

        public init(name: String, data: Data, kind: Kind = .file) {
            self.name = name
            self.data = data
            self.kind = kind
        }
    }

    /// Builds a ZIP in memory. `modificationDate` is stamped on every entry, so equal input gives equal bytes.
    public static func archive(_ entries: [Entry], modificationDate: Date = Date(timeIntervalSince1970: 1_750_000_000))
        throws -> Data
    {
        let writer = try ArchiveWriteHandle()
        let sink = MemorySink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        let status = archive_write_open2(
            writer.handle, unmanaged.toOpaque(), nil,
            { _, clientData, buffer, length in
                guard let clientData, let buffer else { return -1 }
                let sink = Unmanaged<MemorySink>.fromOpaque(clientData).takeUnretainedValue()
                sink.data.append(buffer.assumingMemoryBound(to: UInt8.self), count: length)
                return length
            }, nil, nil)
        try writer.check(status)
        try writer.writeAll(entries, date: modificationDate)
        return sink.data
    }

    /// Convenience for plain files given as (name, bytes) pairs.
    public static func archive(_ files: [(name: String, data: Data)]) throws -> Data {
        try archive(files.map { Entry(name: $0.name, data: $0.data) })
    }

    /// Writes a ZIP to `path` (created or replaced; callers wanting atomicity write to a temporary name and rename).
    public static func write(
        _ entries: [Entry], to path: String, modificationDate: Date = Date(timeIntervalSince1970: 1_750_000_000)
    ) throws {
        let writer = try ArchiveWriteHandle()
        try writer.check(archive_write_open_filename(writer.handle, path))
        try writer.writeAll(entries, date: modificationDate)
    }
}

/// Collects the bytes libarchive writes; a class so the C callback can reach it through an opaque pointer.
private final class MemorySink {
    var data = Data()
}

/// Owns one libarchive write handle configured for ZIP.
private final class ArchiveWriteHandle {
    let handle: OpaquePointer
    private var closed = false

    init() throws {
        guard let handle = archive_write_new() else { throw ZipError.writeFailed("out of memory") }
        self.handle = handle
        guard archive_write_set_format_zip(handle) == ARCHIVE_OK else {
            throw ZipError.writeFailed(String(cString: archive_error_string(handle)))
        }
        // libarchive pads the last block with zeros (a tar habit); a ZIP must end with its end record.
        archive_write_set_bytes_in_last_block(handle, 1)
        // Deflate if libarchive has zlib; stored otherwise (still a valid ZIP).
        _ = archive_write_set_options(handle, "zip:compression=deflate")
    }

    deinit {
        if !closed { archive_write_close(handle) }
        archive_write_free(handle)
    }

    func check(_ status: Int32) throws {
        guard status >= ARCHIVE_WARN else {
            let message = archive_error_string(handle).map { String(cString: $0) } ?? "error \(status)"
            throw ZipError.writeFailed(message)
        }
    }

    func writeAll(_ entries: [ZipWriter.Entry], date: Date) throws {
        guard let entry = archive_entry_new() else { throw ZipError.writeFailed("out of memory") }
        defer { archive_entry_free(entry) }
        let seconds = time_t(date.timeIntervalSince1970)
        for item in entries {
            archive_entry_clear(entry)
            archive_entry_set_pathname_utf8(entry, item.name)
            archive_entry_set_mtime(entry, seconds, 0)
            switch item.kind {
            case .file:
                archive_entry_set_filetype(entry, FileType.regular)
                archive_entry_set_perm(entry, 0o644)
                archive_entry_set_size(entry, la_int64_t(item.data.count))
            case let .symlink(target):
                archive_entry_set_filetype(entry, FileType.symlink)
                archive_entry_set_perm(entry, 0o777)
                archive_entry_set_symlink_utf8(entry, target)
                archive_entry_set_size(entry, 0)
            case .directory:
                archive_entry_set_filetype(entry, FileType.directory)
                archive_entry_set_perm(entry, 0o755)
                archive_entry_set_size(entry, 0)
            }
            try check(archive_write_header(handle, entry))
            if item.kind == .file, !item.data.isEmpty {
                let written = item.data.withUnsafeBytes { raw in
                    archive_write_data(handle, raw.baseAddress, raw.count)
                }
                guard written == item.data.count else {
                    throw ZipError.writeFailed(
                        archive_error_string(handle).map { String(cString: $0) } ?? "short write for '\(item.name)'")
                }
            }
        }
        closed = true
        try check(archive_write_close(handle))
    }
}
