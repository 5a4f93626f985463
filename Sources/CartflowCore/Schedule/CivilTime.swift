import Foundation

/// A wall-clock date and time in a schedule's zone, with the UTC offset in force at that moment; used to show
/// fire times and to explain daylight-saving adjustments.
public struct LocalDateTime: Sendable, Hashable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Seconds east of UTC in force at this moment (EDT = -14400).
    public var utcOffsetSeconds: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int = 0, utcOffsetSeconds: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// The local time of `instant` (seconds since the Unix epoch) at the given offset.
    init(unixSeconds instant: Int, offset: Int) {
        let local = instant + offset
        let days = floorDiv(local, 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        let secondOfDay = local - days * 86_400
        self.init(
            year: date.year, month: date.month, day: date.day, hour: secondOfDay / 3600,
            minute: (secondOfDay % 3600) / 60, second: secondOfDay % 60, utcOffsetSeconds: offset)
    }

    public var weekday: Weekday { CivilDate(year: year, month: month, day: day).weekday }
    public var clockTime: ClockTime { ClockTime(hour: hour, minute: minute) }

    /// `2024-03-10`.
    public var dateText: String { CivilDate(year: year, month: month, day: day).description }

    /// `2024-03-10 03:00 -04:00` (seconds only when not zero).
    public var description: String {
        var text = dateText + " " + pad2(hour) + ":" + pad2(minute)
        if second != 0 { text += ":" + pad2(second) }
        return text + " " + offsetText(utcOffsetSeconds)
    }
}

/// A proleptic Gregorian calendar date; the arithmetic behind every calendar cadence, done by hand so that
/// no Foundation matching policy can move a day.
struct CivilDate: Hashable, Comparable, CustomStringConvertible {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Howard Hinnant's `civil_from_days`.
    init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Howard Hinnant's `days_from_civil`.
    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    var weekday: Weekday { CivilDate.weekday(daysSinceEpoch: daysSinceEpoch) }

    static func weekday(daysSinceEpoch days: Int) -> Weekday {
        // 1970-01-01 was a Thursday (raw value 5).
        Weekday(rawValue: floorMod(days + 4, 7) + 1)!
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    var description: String {
        let y = year < 0 ? "-" + pad4(-year) : pad4(year)
        return y + "-" + pad2(month) + "-" + pad2(day)
    }
}

/// Month names for explanations ("February 2024 has no day 31").
let monthNames = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
]

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always) func floorMod(_ a: Int, _ b: Int) -> Int { a - floorDiv(a, b) * b }

func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
func pad4(_ n: Int) -> String { String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n) }

/// `+10:00`, `-04:00`, `+05:45`.
func offsetText(_ offset: Int) -> String {
    let sign = offset < 0 ? "-" : "+"
    let magnitude = abs(offset)
    return sign + pad2(magnitude / 3600) + ":" + pad2((magnitude % 3600) / 60)
}

/// `2024-03-10T07:00:00Z`, for log lines that must be unambiguous.
func utcText(_ instant: Int) -> String {
    let days = floorDiv(instant, 86_400)
    let secondOfDay = instant - days * 86_400
    return CivilDate(daysSinceEpoch: days).description + "T" + pad2(secondOfDay / 3600) + ":"
        + pad2((secondOfDay % 3600) / 60) + ":" + pad2(secondOfDay % 60) + "Z"
}
