/// `schedule:` — when `cartflow schedule` fires a workflow. Pure data; the math lives in `ScheduleCalculator`.
public struct Schedule: Sendable, Equatable {
    public enum Cadence: Sendable, Equatable {
        /// Every N seconds of elapsed time (`every: 15m`), optionally limited by `days` and `at` windows.
        case interval(Seconds)
        case daily
        case weekly
        case monthly
    }

    public enum CatchUp: String, Sendable, Equatable, CaseIterable {
        case latest
        case all
        case none
    }

    public enum Overlap: String, Sendable, Equatable, CaseIterable {
        case skip
        case queue
    }

    public var every: Cadence
    /// Wall-clock times of day (daily/weekly/monthly); for intervals, see docs/schedules.md.
    public var at: [ClockTime]
    /// Weekdays (weekly, or a day filter for intervals and daily). Empty = every day.
    public var days: [Weekday]
    /// Days of the month (monthly), 1–31.
    public var daysOfMonth: [Int]
    public var timezone: ScheduleZone
    public var catchUp: CatchUp
    public var overlap: Overlap
    /// Wall-clock windows that limit an interval schedule (`at: ["08:00-18:00"]`). Empty = all day.
    public var windows: [ClockWindow]

    public init(
        every: Cadence, at: [ClockTime] = [], days: [Weekday] = [], daysOfMonth: [Int] = [],
        timezone: ScheduleZone = .utc, catchUp: CatchUp = .latest, overlap: Overlap = .skip,
        windows: [ClockWindow] = []
    ) {
        self.every = every
        self.at = at
        self.days = days
        self.daysOfMonth = daysOfMonth
        self.timezone = timezone
        self.catchUp = catchUp
        self.overlap = overlap
        self.windows = windows
    }

    /// A stable text of what decides which slots exist (cadence, times, windows, days, zone), stored with the last
    /// slot so that a schedule edited while the daemon was down is recognised: its past slots were never due and
    /// are not caught up. `catch_up` and `overlap` are left out: they change what happens to slots, not which
    /// slots there are. Lists are sets here: they are sorted and deduplicated first, so that reordering `at`,
    /// `days`, windows or `day_of_month` — the same slots — is not a change (it would lose a catch-up run). Days
    /// sort Monday first, so that the usual `[mon, …, sun]` keeps the text it always had.
    public var slotFingerprint: String {
        let cadence: String =
            switch every {
            case .interval(let step): "every \(step.value)s"
            case .daily: "daily"
            case .weekly: "weekly"
            case .monthly: "monthly"
            }
        let windows = Set(windows).sorted { ($0.start, $0.end) < ($1.start, $1.end) }
        let days = Set(days).sorted { ($0.rawValue + 5) % 7 < ($1.rawValue + 5) % 7 }
        return [
            cadence, "at " + Set(at).sorted().map(\.description).joined(separator: ","),
            "windows " + windows.map(\.description).joined(separator: ","),
            "days " + days.map(\.description).joined(separator: ","),
            "day_of_month " + Set(daysOfMonth).sorted().map(String.init).joined(separator: ","),
            "timezone \(timezone)",
        ].joined(separator: "; ")
    }
}

/// A wall-clock window `HH:MM-HH:MM` that limits an interval schedule: a slot fires when its local time is at
/// or after `start` and before `end`. An `end` at or before `start` wraps past midnight (`22:00-06:00`), and the
/// window then belongs to the day it starts on; `00:00-00:00` is the whole day.
public struct ClockWindow: Sendable, Hashable, CustomStringConvertible {
    public var start: ClockTime
    public var end: ClockTime

    public init(start: ClockTime, end: ClockTime) {
        self.start = start
        self.end = end
    }

    public var description: String { "\(start)-\(end)" }
}

/// A wall-clock time of day, `HH:MM` (24-hour).
public struct ClockTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    public static func < (a: ClockTime, b: ClockTime) -> Bool { (a.hour, a.minute) < (b.hour, b.minute) }
    public var description: String {
        (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }
}

/// A day of the week; raw values follow Foundation's `Calendar` (1 = Sunday).
public enum Weekday: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sunday = 1, monday, tuesday, wednesday, thursday, friday, saturday

    /// The three-letter name used in workflow files.
    public var description: String {
        ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][rawValue - 1]
    }
}

/// A schedule's time zone: an IANA name or a fixed offset from UTC.
public enum ScheduleZone: Sendable, Hashable, CustomStringConvertible {
    case iana(String)
    /// Seconds east of UTC (`UTC+10` = 36000), constant all year.
    case fixed(offsetSeconds: Int)

    public static let utc = ScheduleZone.fixed(offsetSeconds: 0)

    public var description: String {
        switch self {
        case .iana(let name): return name
        case .fixed(let offset):
            if offset == 0 { return "UTC" }
            let sign = offset < 0 ? "-" : "+"
            let magnitude = abs(offset)
            let hours = magnitude / 3600
            let minutes = (magnitude % 3600) / 60
            return "UTC\(sign)\(hours)" + (minutes == 0 ? "" : ":" + (minutes < 10 ? "0" : "") + "\(minutes)")
        }
    }
}
