import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failure while writing a file atomically; names the file, the operation and the system error.
public struct AtomicFileError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file being written (the target, not the temporary file).
    public let path: String
    /// What was being done: "create a temporary file", "write", "fsync", "rename", ….
    public let operation: String
    /// The `errno` value, or 0 when the failure is not a system error (e.g. use after commit).
    public let code: Int32

    public init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
    }

    public var description: String {
        if code == 0 { return "cannot write '\(path)': \(operation)" }
        return "cannot write '\(path)': \(operation) failed: \(String(cString: strerror(code)))"
    }

    public var errorDescription: String? { description }
}

/// The one way cartflow replaces a file: readers see either the old content or the complete new
/// content, never a partial file, and a failure leaves the old file untouched.
///
/// Bytes go to a uniquely named temporary file in the target's directory (so the final `rename` stays
/// on one file system and is atomic), through a buffer. `commit()` flushes, `fsync`s the file, renames
/// it over the target and `fsync`s the directory so the rename itself survives a crash. `discard()`,
/// any failure, or dropping the writer without committing removes the temporary file.
///
/// The file gets exactly `permissions` (applied with `fchmod`, so the umask does not narrow it);
/// pass `0o600` for private files.
public final class AtomicFileWriter {
    /// The target path.
    public let path: String
    /// Bytes accepted so far (buffered or written).
    public private(set) var bytesWritten: Int = 0

    /// Where the new content is until `commit()`: readable there once `seal()` has returned.
    public let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8]
    private let bufferCapacity: Int
    private var state: State = .open

    private enum State { case open, sealed, committed, discarded }

    /// Creates the temporary file next to `path`. Throws if the directory does not exist or is not writable.
    public init(path: String, permissions: mode_t = 0o644, bufferSize: Int = 1 << 16) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let base = url.lastPathComponent
        self.bufferCapacity = max(bufferSize, 512)
        self.buffer = []
        self.buffer.reserveCapacity(bufferCapacity)

        // A leading dot keeps the temporary file out of casual listings and globs like `*.csv`.
        var attempts = 0
        var fd: Int32 = -1
        var candidate = ""
        repeat {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            candidate = (directory as NSString).appendingPathComponent(".\(base).\(getpid()).\(suffix).tmp")
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
            attempts += 1
        } while fd < 0 && errno == EEXIST && attempts < 16
        guard fd >= 0 else {
            throw AtomicFileError(path: path, operation: "create a temporary file in '\(directory)'", code: errno)
        }
        self.descriptor = fd
        self.temporaryPath = candidate
        if fchmod(fd, permissions) != 0 {
            let code = errno
            // Through `abandon()`, which marks the file discarded: the instance is whole, so its deinit runs after
            // the throw, and closing here by hand closed the descriptor's number a second time there — whichever
            // file or socket had reused it by then.
            abandon()
            throw AtomicFileError(path: path, operation: "set permissions", code: code)
        }
    }

    deinit {
        if state == .open || state == .sealed { abandon() }
    }

    /// Appends raw bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try checkOpen()
        guard bytes.count > 0 else { return }
        bytesWritten += bytes.count
        if buffer.count + bytes.count > bufferCapacity {
            try flush()
            // A chunk at least as large as the buffer goes straight to the file: no point copying it.
            if bytes.count >= bufferCapacity {
                try writeFully(bytes)
                return
            }
        }
        buffer.append(contentsOf: bytes)
    }

    /// Appends the bytes of `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Appends the UTF-8 bytes of `string`.
    public func write(_ string: String) throws {
        var string = string
        try string.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a byte array (the exporters' own buffers).
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends any sequence of bytes.
    public func write<S: Sequence<UInt8>>(_ bytes: S) throws {
        if let done = try bytes.withContiguousStorageIfAvailable({ try write(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        try write(Array(bytes))
    }

    /// Makes the new content visible at `path`: flush, fsync, rename over the target, fsync the directory.
    /// On failure the temporary file is removed and the previous file (if any) is untouched.
    public func commit() throws {
        switch state {
        case .open: try seal()
        case .sealed: break
        case .committed, .discarded: try checkOpen()
        }
        if rename(temporaryPath, path) != 0 {
            let code = errno
            abandon()
            throw AtomicFileError(path: path, operation: "rename", code: code)
        }
        state = .committed
        try Self.syncDirectory(of: path)
    }

    /// Flushes, fsyncs and closes the temporary file without making it visible: many files can wait for one
    /// decision (a whole archive checked before any entry appears) without a descriptor each. `commit()` then
    /// only renames; `discard()` still removes it.
    public func seal() throws {
        try checkOpen()
        do {
            try flush()
            if fsync(descriptor) != 0 { throw AtomicFileError(path: path, operation: "fsync", code: errno) }
            let fd = descriptor
            descriptor = -1
            if close(fd) != 0 { throw AtomicFileError(path: path, operation: "close", code: errno) }
        } catch {
            abandon()
            throw error
        }
        state = .sealed
    }

    /// Throws the new content away; the previous file stays as it was. Safe to call more than once.
    public func discard() {
        if state == .open || state == .sealed { abandon() }
    }

    private func abandon() {
        state = .discarded
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(temporaryPath)
        buffer.removeAll(keepingCapacity: false)
    }

    private func checkOpen() throws {
        switch state {
        case .open: return
        case .sealed: throw AtomicFileError(path: path, operation: "the file was already sealed", code: 0)
        case .committed: throw AtomicFileError(path: path, operation: "the file was already committed", code: 0)
        case .discarded: throw AtomicFileError(path: path, operation: "the file was discarded", code: 0)
        }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeFully($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeFully(_ bytes: UnsafeRawBufferPointer) throws {
        guard var address = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(descriptor, address, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                let code = errno
                abandon()
                throw AtomicFileError(path: path, operation: "write", code: code)
            }
            remaining -= written
            address += written
        }
    }

    /// Makes a rename in the file's directory durable. Some file systems refuse `fsync` on a
    /// directory (EINVAL); the rename has happened, so that is not an error.
    private static func syncDirectory(of path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL && errno != EROFS {
            throw AtomicFileError(path: path, operation: "fsync the directory", code: errno)
        }
    }
}

/// Whole-file helpers over `AtomicFileWriter`.
public enum AtomicFile {
    /// Replaces the file at `path` with `data`, atomically.
    public static func write(_ data: Data, to path: String, permissions: mode_t = 0o644) throws {
        try write(to: path, permissions: permissions) { try $0.write(data) }
    }

    /// Replaces the file at `path` with whatever `body` writes; commits when `body` returns and discards
    /// (leaving the previous file untouched) when it throws. Returns `body`'s result.
    @discardableResult
    public static func write<T>(
        to path: String, permissions: mode_t = 0o644, _ body: (AtomicFileWriter) throws -> T
    ) throws -> T {
        let writer = try AtomicFileWriter(path: path, permissions: permissions)
        do {
            let result = try body(writer)
            try writer.commit()
            return result
        } catch {
            writer.discard()
            throw error
        }
    }
}

/// The C `write`, reachable under a name that the writer's own `write` methods do not shadow.
private func systemWrite(_ fd: Int32, _ address: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, address, count)
    #else
        return Darwin.write(fd, address, count)
    #endif
}
