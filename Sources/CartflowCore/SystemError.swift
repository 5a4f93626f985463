import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file operation failed, in plain words: the system's reason (`Is a directory`, `Permission denied`)
/// rather than the dump of a Foundation error with its user info (`Error Domain=NSCocoaErrorDomain Code=256
/// "(null)" UserInfo={…}`), which is all `String(describing:)` gives on Linux.
///
/// Foundation wraps the `errno` of a failed call in the error's underlying error, as a `POSIXError` on Linux
/// and an `NSError` of `NSPOSIXErrorDomain` on Darwin; both are unwrapped, a few levels deep.
public func systemReason(_ error: any Error) -> String {
    var current: (any Error)? = error
    for _ in 0..<4 {
        guard let candidate = current else { break }
        if let posix = candidate as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let nsError = candidate as NSError
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        current = nsError.userInfo[NSUnderlyingErrorKey] as? any Error
    }
    let nsError = error as NSError
    if nsError.domain == NSCocoaErrorDomain {
        switch nsError.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteFileExistsError: return "a file of that name exists"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "read-only file system"
        default: break
        }
    }
    if let reason = nsError.localizedFailureReason { return reason }
    return "error \(nsError.code) (\(nsError.domain))"
}
