internal import CArchive
import Foundation

/// Bounds on what reading one ZIP may cost, so a hostile archive (a zip bomb, a million entries) fails fast.
public struct ZipLimits: Sendable, Equatable {
    /// At most this many entries.
    public var maxEntries: Int
    /// At most this many uncompressed bytes in one entry.
    public var maxEntryBytes: Int64
    /// At most this many uncompressed bytes in all entries together.
    public var maxTotalBytes: Int64

    public init(maxEntries: Int = 10_000, maxEntryBytes: Int64 = 256 << 20, maxTotalBytes: Int64 = 2 << 30) {
        self.maxEntries = maxEntries
        self.maxEntryBytes = maxEntryBytes
        self.maxTotalBytes = maxTotalBytes
    }

    /// Generous defaults for reading into memory: 10,000 entries, 256 MiB per entry, 2 GiB in total.
    public static let standard = ZipLimits()

    /// What cartflow accepts in a result archive, streamed to disk one entry at a time: 10,000 entries, 64 MiB per
    /// entry (a page must later fit in memory to be checked and exported), 1 GiB in total (temporary disk space).
    public static let resultArchive = ZipLimits(maxEntries: 10_000, maxEntryBytes: 64 << 20, maxTotalBytes: 1 << 30)
}

/// One step of streaming an archive's entries (`ZipReader.stream`).
public enum ZipStreamEvent {
    /// A regular-file entry starts; its header has been validated with all the others.
    case begin(ZipEntryHeader)
    /// The next uncompressed bytes of the current entry; valid only during the call.
    case bytes(UnsafeRawBufferPointer)
    /// The current entry ended, whole and within the limits.
    case end(ZipEntryHeader)
}

/// What the validation pass learns of one entry before any data is handed out.
public struct ZipEntryHeader: Sendable, Equatable {
    public var name: String
    /// The uncompressed size the archive declares, if it declares one.
    public var declaredSize: Int64?
}

/// One regular-file entry with its uncompressed bytes.
public struct ZipEntry: Sendable, Equatable {
    public var name: String
    public var data: Data

    public init(name: String, data: Data) {
        self.name = name
        self.data = data
    }
}

/// Reads ZIP archives safely: a first pass validates every header (names, kinds, counts, declared sizes) and refuses
/// the whole archive on any problem; only then does a second pass hand out data, still counting real bytes.
/// Directory entries (`AU Laptops_902/`, which many zip tools add for the files under them) are skipped when their
/// names are as safe as a file's; they count towards `maxEntries` and are never handed out.
public enum ZipReader {
    /// Validates every entry header of an in-memory ZIP without decompressing anything.
    public static func validate(data: Data, limits: ZipLimits = .standard) throws -> [ZipEntryHeader] {
        try withSource(data) { try headers(of: $0, limits: limits) }
    }

    /// Validates every entry header of a ZIP file without decompressing anything.
    public static func validate(path: String, limits: ZipLimits = .standard) throws -> [ZipEntryHeader] {
        try headers(of: .file(path), limits: limits)
    }

    /// Validates, then returns every entry of an in-memory ZIP.
    public static func readAll(data: Data, limits: ZipLimits = .standard) throws -> [ZipEntry] {
        var entries: [ZipEntry] = []
        try forEachEntry(data: data, limits: limits) { header, bytes in
            entries.append(ZipEntry(name: header.name, data: bytes))
        }
        return entries
    }

    /// Validates, then returns every entry of a ZIP file.
    public static func readAll(path: String, limits: ZipLimits = .standard) throws -> [ZipEntry] {
        var entries: [ZipEntry] = []
        try forEachEntry(path: path, limits: limits) { header, bytes in
            entries.append(ZipEntry(name: header.name, data: bytes))
        }
        return entries
    }

    /// Validates, then calls `body` with each entry in archive order; memory is bounded by one entry.
    public static func forEachEntry(
        path: String, limits: ZipLimits = .standard, _ body: (ZipEntryHeader, Data) throws -> Void
    ) throws {
        _ = try headers(of: .file(path), limits: limits)
        try entries(of: .file(path), limits: limits, body)
    }

    /// Validates, then calls `body` with each entry of an in-memory ZIP in archive order.
    public static func forEachEntry(
        data: Data, limits: ZipLimits = .standard, _ body: (ZipEntryHeader, Data) throws -> Void
    ) throws {
        try withSource(data) { source in
            _ = try headers(of: source, limits: limits)
            try entries(of: source, limits: limits, body)
        }
    }

    /// Validates every header, then streams each entry's uncompressed bytes in chunks of at most 64 KiB, counting
    /// real bytes against the limits as they arrive: memory stays bounded by one chunk whatever the archive
    /// declares or holds, so an entry can go to a file instead of to memory.
    public static func stream(data: Data, limits: ZipLimits = .standard, _ body: (ZipStreamEvent) throws -> Void)
        throws
    {
        try withSource(data) { source in
            _ = try headers(of: source, limits: limits)
            try chunks(of: source, limits: limits, body)
        }
    }

    /// The same for a ZIP file.
    public static func stream(path: String, limits: ZipLimits = .standard, _ body: (ZipStreamEvent) throws -> Void)
        throws
    {
        _ = try headers(of: .file(path), limits: limits)
        try chunks(of: .file(path), limits: limits, body)
    }

    /// Why `name` is unsafe as a relative path inside an extraction folder, or nil when it is safe.
    public static func problem(withEntryName name: String) -> String? {
        if name.isEmpty { return "the name is empty" }
        if name.contains("\0") { return "the name contains a NUL byte" }
        if name.hasPrefix("/") || name.hasPrefix("\\") { return "the name is an absolute path" }
        let scalars = Array(name.unicodeScalars.prefix(2))
        if scalars.count == 2, scalars[1] == ":",
            scalars[0].properties.isASCIIHexDigit || scalars[0].properties.isAlphabetic
        {
            return "the name starts with a drive letter"
        }
        let segments = name.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "/" || $0 == "\\" })
        if segments.contains("..") { return "the name contains a '..' segment" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "the name contains a control character"
        }
        return nil
    }

    // MARK: - Passes

    private static func headers(of source: Source, limits: ZipLimits) throws -> [ZipEntryHeader] {
        try checkEndRecord(source)
        let reader = try ArchiveReadHandle(source)
        var result: [ZipEntryHeader] = []
        var seen: Set<String> = []
        var total: Int64 = 0
        try eachFile(reader, limits: limits) { header in
            guard seen.insert(header.name).inserted else { throw ZipError.duplicateEntry(entry: header.name) }
            if let size = header.declaredSize {
                if size > limits.maxEntryBytes {
                    throw ZipError.entryTooLarge(entry: header.name, limit: limits.maxEntryBytes)
                }
                total += size
                if total > limits.maxTotalBytes {
                    throw ZipError.totalTooLarge(entry: header.name, limit: limits.maxTotalBytes)
                }
            }
            result.append(header)
            try reader.skipData()
        }
        return result
    }

    /// Calls `body` with the header of each regular-file entry, which must read or skip its data; every entry
    /// counts against `limits.maxEntries`, and safe directories are skipped.
    private static func eachFile(
        _ reader: ArchiveReadHandle, limits: ZipLimits, _ body: (ZipEntryHeader) throws -> Void
    ) throws {
        var count = 0
        while let entry = try reader.nextHeader() {
            let checked = try validated(entry, reader: reader)
            count += 1
            if count > limits.maxEntries { throw ZipError.tooManyEntries(limit: limits.maxEntries) }
            guard let header = checked else {
                try reader.skipData()
                continue
            }
            try body(header)
        }
    }

    /// Each entry whole: the stream of `chunks`, gathered per entry.
    private static func entries(
        of source: Source, limits: ZipLimits, _ body: (ZipEntryHeader, Data) throws -> Void
    ) throws {
        var data = Data()
        try chunks(of: source, limits: limits) { event in
            switch event {
            case .begin: data = Data()
            case .bytes(let chunk): data.append(contentsOf: chunk)
            case .end(let header): try body(header, data)
            }
        }
    }

    private static func chunks(of source: Source, limits: ZipLimits, _ body: (ZipStreamEvent) throws -> Void) throws {
        let reader = try ArchiveReadHandle(source)
        var total: Int64 = 0
        try eachFile(reader, limits: limits) { header in
            try body(.begin(header))
            try reader.readChunks(name: header.name, limits: limits, total: &total) { try body(.bytes($0)) }
            try body(.end(header))
        }
    }

    /// The header of a regular file, nil for a directory to skip, or an error for anything unsafe. A directory's
    /// name passes the same checks as a file's (no `..`, not absolute, no control characters), and a link is
    /// refused whatever its name.
    private static func validated(_ entry: OpaquePointer, reader: ArchiveReadHandle) throws -> ZipEntryHeader? {
        guard let raw = archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry) else {
            throw ZipError.unsafeEntryName(entry: "?", reason: "the name is not readable text")
        }
        let name = String(cString: raw)
        if let problem = problem(withEntryName: name) { throw ZipError.unsafeEntryName(entry: name, reason: problem) }
        if archive_entry_hardlink(entry) != nil { throw ZipError.notARegularFile(entry: name, kind: "hard link") }
        if archive_entry_symlink(entry) != nil { throw ZipError.notARegularFile(entry: name, kind: "symbolic link") }
        let type = archive_entry_filetype(entry)
        if type == FileType.directory { return nil }
        if type != FileType.regular {
            let kind: String =
                switch type {
                case FileType.symlink: "symbolic link"
                case FileType.characterDevice, FileType.blockDevice: "device"
                case FileType.fifo: "named pipe"
                case FileType.socket: "socket"
                default: "special file"
                }
            throw ZipError.notARegularFile(entry: name, kind: kind)
        }
        let size: Int64? = archive_entry_size_is_set(entry) != 0 ? Int64(archive_entry_size(entry)) : nil
        return ZipEntryHeader(name: name, declaredSize: size)
    }

    /// Refuses an archive whose end-of-central-directory record is missing or inconsistent: libarchive otherwise
    /// reads a truncated download's local entries and reports success.
    private static func checkEndRecord(_ source: Source) throws {
        let tail: [UInt8]
        let total: Int
        switch source {
        case let .memory(buffer):
            total = buffer.count
            tail = Array(buffer.suffix(65_557))
        case let .file(path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ZipError.unreadable("cannot open '\(path)'")
            }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            total = Int(size)
            try? handle.seek(toOffset: size > 65_557 ? size - 65_557 : 0)
            tail = [UInt8]((try? handle.readToEnd()) ?? Data())
        }
        func little(_ at: Int, _ count: Int) -> Int {
            (0..<count).reduce(0) { $0 | Int(tail[at + $1]) << (8 * $1) }
        }
        var index = tail.count - 22
        while index >= 0 {
            if tail[index] == 0x50, tail[index + 1] == 0x4B, tail[index + 2] == 0x05, tail[index + 3] == 0x06,
                index + 22 + little(index + 20, 2) == tail.count
            {
                let position = total - tail.count + index
                let size = little(index + 12, 4)
                let offset = little(index + 16, 4)
                // 0xFFFFFFFF means ZIP64: the real numbers live in another record that libarchive checks.
                if offset == 0xFFFF_FFFF || size == 0xFFFF_FFFF || offset + size <= position { return }
                throw ZipError.unreadable("the central directory lies beyond the end record (truncated or corrupt)")
            }
            index -= 1
        }
        throw ZipError.unreadable("no end-of-central-directory record (truncated, or not a ZIP)")
    }

    // MARK: - Sources

    fileprivate enum Source {
        case memory(UnsafeRawBufferPointer)
        case file(String)
    }

    /// Keeps the bytes pinned for the whole read; no pointer escapes this scope.
    private static func withSource<T>(_ data: Data, _ body: (Source) throws -> T) throws -> T {
        guard !data.isEmpty else { throw ZipError.unreadable("the archive is empty (0 bytes)") }
        return try data.withUnsafeBytes { try body(.memory($0)) }
    }

    /// Owns one libarchive read handle set up for ZIP only.
    private final class ArchiveReadHandle {
        let handle: OpaquePointer
        private var entry: OpaquePointer?

        init(_ source: Source) throws {
            guard let handle = archive_read_new() else { throw ZipError.unreadable("out of memory") }
            self.handle = handle
            // The seekable reader trusts the central directory, so a truncated download (no directory at the end)
            // is refused instead of yielding whatever local entries came through.
            archive_read_support_format_zip_seekable(handle)
            let status: Int32
            switch source {
            case let .memory(buffer): status = archive_read_open_memory(handle, buffer.baseAddress, buffer.count)
            case let .file(path): status = archive_read_open_filename(handle, path, 64 * 1024)
            }
            guard status == ARCHIVE_OK else { throw ZipError.unreadable(message()) }
        }

        deinit {
            archive_read_free(handle)
        }

        func message() -> String {
            archive_error_string(handle).map { String(cString: $0) } ?? "unknown libarchive error"
        }

        func nextHeader() throws -> OpaquePointer? {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { return nil }
            guard status >= ARCHIVE_WARN, let entry else { throw ZipError.unreadable(message()) }
            return entry
        }

        func skipData() throws {
            guard archive_read_data_skip(handle) >= ARCHIVE_WARN else { throw ZipError.unreadable(message()) }
        }

        /// Hands the current entry's data to `body` 64 KiB at a time, counting real bytes against the limits as
        /// they arrive; a chunk that goes over a limit is refused before `body` sees it.
        func readChunks(
            name: String, limits: ZipLimits, total: inout Int64, _ body: (UnsafeRawBufferPointer) throws -> Void
        ) throws {
            var entryBytes: Int64 = 0
            let chunk = 64 * 1024
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 1)
            defer { buffer.deallocate() }
            while true {
                let count = archive_read_data(handle, buffer, chunk)
                if count == 0 { break }
                guard count > 0 else { throw ZipError.unreadable("entry '\(ZipError.printable(name))': \(message())") }
                total += Int64(count)
                entryBytes += Int64(count)
                if entryBytes > limits.maxEntryBytes {
                    throw ZipError.entryTooLarge(entry: name, limit: limits.maxEntryBytes)
                }
                if total > limits.maxTotalBytes {
                    throw ZipError.totalTooLarge(entry: name, limit: limits.maxTotalBytes)
                }
                try body(UnsafeRawBufferPointer(start: buffer, count: count))
            }
        }
    }
}
