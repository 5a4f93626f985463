internal import CArchive
import Foundation

/// gzip (RFC 1952) compression with libarchive's raw format, for the sandbox's compressed answers
/// (`Content-Encoding: gzip`): a client must accept bodies that arrive longer or shorter than they went out.
public enum Gzip {
    /// The gzip stream of `data`; equal input gives equal bytes.
    public static func compress(_ data: Data) throws -> Data {
        guard let handle = archive_write_new() else { throw ZipError.writeFailed("out of memory") }
        defer { archive_write_free(handle) }
        func check(_ status: Int32) throws {
            guard status >= ARCHIVE_WARN else {
                throw ZipError.writeFailed(archive_error_string(handle).map { String(cString: $0) } ?? "gzip failed")
            }
        }
        try check(archive_write_add_filter_gzip(handle))
        try check(archive_write_set_format_raw(handle))
        archive_write_set_bytes_in_last_block(handle, 1)
        // No modification time in the header, so equal input gives equal bytes (older libarchives lack the option).
        _ = archive_write_set_options(handle, "gzip:!timestamp")
        let sink = GzipSink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        try check(
            archive_write_open2(
                handle, unmanaged.toOpaque(), nil,
                { _, clientData, buffer, length in
                    guard let clientData, let buffer else { return -1 }
                    let sink = Unmanaged<GzipSink>.fromOpaque(clientData).takeUnretainedValue()
                    sink.data.append(buffer.assumingMemoryBound(to: UInt8.self), count: length)
                    return length
                }, nil, nil))
        guard let entry = archive_entry_new() else { throw ZipError.writeFailed("out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, FileType.regular)
        archive_entry_set_size(entry, la_int64_t(data.count))
        try check(archive_write_header(handle, entry))
        if !data.isEmpty {
            let written = data.withUnsafeBytes { archive_write_data(handle, $0.baseAddress, $0.count) }
            guard written == data.count else { throw ZipError.writeFailed("short gzip write") }
        }
        try check(archive_write_close(handle))
        return sink.data
    }
}

private final class GzipSink {
    var data = Data()
}
