import CartflowCore
import Foundation

/// The workflow files the scheduler watches: loads them, and on each `refresh` reloads the ones whose size,
/// modification time or inode changed and whose content really differs. An invalid edit keeps the last valid
/// version and is reported once (per edit), not at every wake.
public final class WorkflowFiles: @unchecked Sendable {
    /// Loads one file: the workflow, or `nil` when it is invalid (the closure reports the diagnostics).
    public typealias Load = @Sendable (_ path: String) -> Workflow?

    struct Signature: Equatable {
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
        var inode: UInt64
    }

    struct Watched {
        var signature: Signature?
        var contentHash: String?
        /// The last valid version; `nil` if the file never loaded.
        var workflow: Workflow?
    }

    private let paths: [String]
    private let load: Load
    private let log: @Sendable (String) -> Void
    /// How log lines name a file (the CLI: relative under the current directory, as its diagnostics do).
    private let display: @Sendable (String) -> String
    private let lock = NSLock()
    private var files: [String: Watched] = [:]
    private var order: [String] = []
    private var reportedProblems: Set<String> = []

    /// - Parameter paths: files or folders, as given to `cartflow schedule` (see `WorkflowLoader.workflowFiles`).
    public init(
        paths: [String], load: @escaping Load, log: @escaping @Sendable (String) -> Void,
        display: @escaping @Sendable (String) -> String = { $0 }
    ) {
        self.paths = paths
        self.load = load
        self.log = log
        self.display = display
    }

    /// The last valid version of every file, in file order.
    public var workflows: [Workflow] {
        lock.withLock { order.compactMap { files[$0]?.workflow } }
    }

    /// Paths whose content never loaded.
    public var invalidFiles: [String] {
        lock.withLock { order.filter { files[$0]?.workflow == nil } }
    }

    /// Looks at every file; returns all workflows when one was added, changed to a new valid version or
    /// removed, and `nil` when nothing changed.
    @discardableResult
    public func refresh() -> [Workflow]? {
        let found = WorkflowLoader.workflowFiles(in: paths)
        return lock.withLock { () -> [Workflow]? in
            var changed = false
            for problem in found.problems {
                let text = "\(display(problem.location.file)): \(problem.message)"
                if reportedProblems.insert(text).inserted { log(text) }
            }
            let present = Set(found.files)
            for path in order where !present.contains(path) {
                if files[path]?.workflow != nil {
                    log("\(display(path)) is gone; its workflow is no longer scheduled")
                    changed = true
                }
                files[path] = nil
            }
            order = found.files
            for path in found.files where update(path) { changed = true }
            return changed ? order.compactMap { files[$0]?.workflow } : nil
        }
    }

    /// Reloads one file if it changed; true when its valid version changed.
    private func update(_ path: String) -> Bool {
        var watched = files[path] ?? Watched()
        defer { files[path] = watched }
        let signature = Self.signature(path)
        guard signature != watched.signature || signature == nil else { return false }
        watched.signature = signature
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        let hash = SHA256.hex(data)
        // A touch, or an editor rewriting the same text, is not a change.
        guard hash != watched.contentHash else { return false }
        watched.contentHash = hash
        let isFirstLoad = files[path] == nil
        guard let workflow = load(path) else {
            log(
                watched.workflow == nil
                    ? "\(display(path)) is invalid (see above); it is not scheduled until it is fixed"
                    : "\(display(path)): the edit is invalid (see above); keeping the last valid version")
            return false
        }
        if !isFirstLoad { log("\(display(path)) changed; reloaded") }
        watched.workflow = workflow
        return true
    }

    static func signature(_ path: String) -> Signature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Signature(
            size: Int64(info.st_size), modifiedSeconds: Int(info.st_mtim.tv_sec),
            modifiedNanoseconds: Int(info.st_mtim.tv_nsec), inode: UInt64(info.st_ino))
    }
}
