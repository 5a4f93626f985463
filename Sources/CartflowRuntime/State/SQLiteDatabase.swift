internal import CSQLite
import Foundation

/// An error from SQLite, with the statement's context (never bound values, which could be anything).
public struct DatabaseError: Error, Sendable, CustomStringConvertible, LocalizedError {
    public let code: Int32
    public let message: String
    public let context: String

    public var description: String { "state database: \(context): \(message) (SQLite code \(code))" }
    public var errorDescription: String? { description }
}

/// A value bound to or read from a statement.
enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
    case real(Double)
}

/// The one owner of a `sqlite3*` connection.
final class SQLiteDatabase {
    private let handle: OpaquePointer
    let path: String

    /// Opens (creating with mode 0600 when absent) the database at `path`, in WAL mode with a busy timeout.
    init(path: String, busyTimeoutMilliseconds: Int32 = 10_000) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // Create the file ourselves so it never exists with a wider mode than 0600.
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        chmod(path, 0o600)
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &connection, flags, nil)
        guard rc == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(connection)
            throw DatabaseError(code: rc, message: message, context: "opening \(path)")
        }
        handle = connection
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        try enableWAL(within: busyTimeoutMilliseconds)
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Switches a new database to WAL. Two processes opening a fresh database at once (two cron jobs) race for
    /// this switch, and SQLite answers the loser SQLITE_BUSY at once, without its busy handler: wait for the
    /// winner within the busy timeout, as every other statement does.
    private func enableWAL(within milliseconds: Int32) throws {
        var waited: Int32 = 0
        while true {
            do {
                try execute("PRAGMA journal_mode=WAL")
                return
            } catch let error as DatabaseError
                where (error.code == SQLITE_BUSY || error.code == SQLITE_LOCKED) && waited < milliseconds
            {
                sqlite3_sleep(5)
                waited += 5
            }
        }
    }

    /// Runs SQL that returns no rows (several statements allowed, no parameters).
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw DatabaseError(code: rc, message: message, context: String(sql.prefix(60)))
        }
    }

    /// Runs one statement with parameters and returns its rows.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]] {
        let statement = try Statement(database: self, sql: sql)
        try statement.bind(parameters)
        return try statement.rows()
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    fileprivate var rawHandle: OpaquePointer { handle }

    fileprivate func error(_ rc: Int32, _ context: String) -> DatabaseError {
        DatabaseError(code: rc, message: String(cString: sqlite3_errmsg(handle)), context: context)
    }
}

/// The one owner of a prepared statement.
private final class Statement {
    private var handle: OpaquePointer?
    private let database: SQLiteDatabase
    private let sql: String

    init(database: SQLiteDatabase, sql: String) throws {
        self.database = database
        self.sql = sql
        let rc = sqlite3_prepare_v2(database.rawHandle, sql, -1, &handle, nil)
        guard rc == SQLITE_OK else { throw database.error(rc, "preparing \(sql.prefix(60))") }
    }

    deinit {
        sqlite3_finalize(handle)
    }

    func bind(_ values: [SQLValue]) throws {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .int(let number): rc = sqlite3_bind_int64(handle, index, number)
            case .real(let number): rc = sqlite3_bind_double(handle, index, number)
            case .text(let text): rc = sqlite3_bind_text(handle, index, text, -1, transient)
            }
            guard rc == SQLITE_OK else { throw database.error(rc, "binding parameter \(index) of \(sql.prefix(60))") }
        }
    }

    func rows() throws -> [[SQLValue]] {
        var result: [[SQLValue]] = []
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return result }
            guard rc == SQLITE_ROW else { throw database.error(rc, "running \(sql.prefix(60))") }
            let count = sqlite3_column_count(handle)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite3_column_type(handle, column) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(handle, column)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(handle, column)))
                case SQLITE_NULL: row.append(.null)
                default:
                    if let text = sqlite3_column_text(handle, column) {
                        row.append(.text(String(cString: text)))
                    } else {
                        row.append(.null)
                    }
                }
            }
            result.append(row)
        }
    }
}

extension SQLValue {
    var int: Int? {
        if case .int(let value) = self { return Int(value) }
        return nil
    }

    var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    var real: Double? {
        switch self {
        case .real(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
}
