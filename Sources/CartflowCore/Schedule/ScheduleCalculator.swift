import Foundation

/// The schedule math: the next fire times of a schedule after an instant. Pure: no I/O, no clock; the caller
/// passes the instant. The rules (and why) are in docs/schedules.md.
public enum ScheduleCalculator {
    /// How far ahead the search looks before it gives up on a schedule that (almost) never matches, in days.
    /// A schedule that fires at all fires within this horizon; the result is shorter than asked otherwise.
    public static let searchHorizonDays = 5 * 366

    /// The wall-clock time of day used by daily, weekly and monthly schedules that list no `at` times.
    public static let defaultTime = ClockTime(hour: 0, minute: 0)
    /// The day used by monthly schedules that list no `day_of_month`.
    public static let defaultDayOfMonth = 1
    /// The weekday used by weekly schedules that list no `days`: one run a week, on Monday (ISO 8601's first
    /// day), rather than silently every day.
    public static let defaultWeeklyDay = Weekday.monday

    /// The next `count` fire times strictly after `instant`, in order, never two at the same instant.
    public static func nextFireTimes(_ schedule: Schedule, after instant: Date, count: Int) -> [FireTime] {
        guard count > 0 else { return [] }
        let clock = WallClock(schedule.timezone)
        let after = Int(instant.timeIntervalSince1970.rounded(.down))
        switch schedule.every {
        case .interval(let step):
            return intervalFireTimes(schedule, step: step.value, after: after, count: count, clock: clock)
        case .daily, .weekly, .monthly:
            return calendarFireTimes(schedule, after: after, count: count, clock: clock)
        }
    }

    /// The Foundation time zone of a schedule zone. A fixed offset is constant all year. An IANA name the system
    /// does not know is a loader error (see `knownZone(named:)`); it is treated as UTC here rather than crash.
    public static func zone(_ z: ScheduleZone) -> TimeZone {
        switch z {
        case .fixed(let offset):
            return TimeZone(secondsFromGMT: offset) ?? TimeZone(identifier: "UTC")!
        case .iana(let name):
            return knownZone(named: name) ?? TimeZone(identifier: "UTC")!
        }
    }

    /// The zone with this IANA name, or `nil` when the system's zone database does not have it; for the loader.
    public static func knownZone(named name: String) -> TimeZone? {
        // TimeZone(identifier:) maps some abbreviations to zones on some platforms; a workflow must name a real
        // zone, so the name has to come back unchanged. "UTC" is the one exception: Foundation calls it "GMT".
        guard let zone = TimeZone(identifier: name), zone.identifier == name || name == "UTC" else { return nil }
        return zone
    }

    /// What an `Etc/GMT±N` name really means, or `nil` for any other name. POSIX inverts the sign: `Etc/GMT+10`
    /// is UTC-10. The loader can show this as a note, or refuse the name and suggest the fixed offset.
    public static func signInversionNote(forZoneNamed name: String) -> String? {
        let prefix = "Etc/GMT"
        guard name.hasPrefix(prefix), name.count > prefix.count else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let sign = rest.first, sign == "+" || sign == "-", let hours = Int(rest.dropFirst()) else { return nil }
        let real = sign == "+" ? "-" : "+"
        return "\(name) means UTC\(real)\(hours) (POSIX inverts the sign); write UTC\(real)\(hours) to say so plainly"
    }

    // MARK: - Daily, weekly, monthly

    private static func calendarFireTimes(_ schedule: Schedule, after: Int, count: Int, clock: WallClock)
        -> [FireTime]
    {
        let times = Array(Set(schedule.at.isEmpty ? [defaultTime] : schedule.at)).sorted()
        let secondsOfDay = times.map { $0.hour * 3600 + $0.minute * 60 }
        let weekdays = allowedWeekdays(schedule)
        let monthDays = Set(schedule.daysOfMonth.isEmpty ? [defaultDayOfMonth] : schedule.daysOfMonth)
        let isMonthly = schedule.every == .monthly

        var result: [FireTime] = []
        result.reserveCapacity(count)
        var lastEmitted = Int.min
        // Start a day early: the local date of `after` can be one ahead of a slot that is still to come only in
        // zones far from UTC, and checking one extra day is cheaper than reasoning about it.
        let firstDay = floorDiv(after + clock.offset(at: after), 86_400) - 1
        var day = firstDay
        while result.count < count && day <= firstDay + searchHorizonDays {
            defer { day += 1 }
            guard weekdays[CivilDate.weekday(daysSinceEpoch: day).rawValue] else { continue }
            var clampedFrom: Int? = nil
            if isMonthly {
                let date = CivilDate(daysSinceEpoch: day)
                if !monthDays.contains(date.day) {
                    // A day that does not exist this month fires on the last day instead, never on the 1st of
                    // the next month.
                    let length = CivilDate.daysInMonth(year: date.year, month: date.month)
                    guard date.day == length, let requested = monthDays.filter({ $0 > length }).min() else {
                        continue
                    }
                    clampedFrom = requested
                }
            }
            for (index, secondOfDay) in secondsOfDay.enumerated() {
                let resolved = clock.resolve(localSeconds: day * 86_400 + secondOfDay)
                // Slots squeezed into the same instant by a gap fire once.
                guard resolved.instant > after, resolved.instant > lastEmitted else { continue }
                var adjustments: [FireTime.Adjustment] = []
                if let clampedFrom { adjustments.append(.clampedToMonthEnd(requestedDay: clampedFrom)) }
                switch resolved.kind {
                case .exact: break
                case .gap: adjustments.append(.skippedForward(scheduled: times[index]))
                case .repeated(let second):
                    adjustments.append(
                        .repeatedTime(scheduled: times[index], secondOccurrence: Date(unixSeconds: second)))
                }
                result.append(clock.fireTime(at: resolved.instant, adjustments: adjustments))
                lastEmitted = resolved.instant
                if result.count == count { break }
            }
        }
        return result
    }

    /// Indexed by `Weekday.rawValue` (1...7) for a cheap test in the day loop.
    private static func allowedWeekdays(_ schedule: Schedule) -> [Bool] {
        var days = Set(schedule.days)
        if days.isEmpty && schedule.every == .weekly { days = [defaultWeeklyDay] }
        if days.isEmpty { return Array(repeating: true, count: 8) }
        return (0...7).map { raw in Weekday(rawValue: raw).map(days.contains) ?? false }
    }

    // MARK: - Intervals

    private static func intervalFireTimes(
        _ schedule: Schedule, step: Int, after: Int, count: Int, clock: WallClock
    ) -> [FireTime] {
        guard step > 0 else { return [] }
        let filter = IntervalFilter(schedule)
        // The grid: instants that are whole multiples of the step after 1970-01-01 00:00 in the zone's standard
        // time. Elapsed time, so daylight saving neither bursts nor gaps it; standard time, so `every: 1h` in
        // UTC+05:30 lands on the hour.
        let shift = clock.standardOffset(at: after)
        func ceilToGrid(_ t: Int) -> Int { -floorDiv(-(t + shift), step) * step - shift }

        var result: [FireTime] = []
        result.reserveCapacity(count)
        let horizon = after + searchHorizonDays * 86_400
        var t = ceilToGrid(after + 1)
        while result.count < count && t <= horizon {
            let local = t + clock.offset(at: t)
            if filter.allows(localSeconds: local) {
                result.append(clock.fireTime(at: t, adjustments: []))
                t += step
                continue
            }
            // Jump to the next window opening instead of stepping through a closed night or weekend.
            guard let opening = filter.nextOpening(afterLocalSeconds: local) else { break }
            t = max(t + step, ceilToGrid(clock.resolve(localSeconds: opening).instant))
        }
        return result
    }
}

/// The days and windows that limit an interval schedule, tested on local wall-clock seconds.
struct IntervalFilter {
    private let weekdays: [Bool]
    /// (start, end) seconds of day; end <= start wraps past midnight.
    private let windows: [(start: Int, end: Int)]

    init(_ schedule: Schedule) {
        let days = Set(schedule.days)
        weekdays = (0...7).map { raw in days.isEmpty || (Weekday(rawValue: raw).map(days.contains) ?? false) }
        windows = schedule.windows.map {
            (start: $0.start.hour * 3600 + $0.start.minute * 60, end: $0.end.hour * 3600 + $0.end.minute * 60)
        }.sorted { $0.start < $1.start }
    }

    private func dayAllowed(_ day: Int) -> Bool { weekdays[CivilDate.weekday(daysSinceEpoch: day).rawValue] }

    func allows(localSeconds local: Int) -> Bool {
        let day = floorDiv(local, 86_400)
        let secondOfDay = local - day * 86_400
        if windows.isEmpty { return dayAllowed(day) }
        for window in windows {
            if window.start < window.end {
                if secondOfDay >= window.start && secondOfDay < window.end && dayAllowed(day) { return true }
            } else {
                // A wrapping window belongs to the day it starts on.
                if secondOfDay >= window.start && dayAllowed(day) { return true }
                if secondOfDay < window.end && dayAllowed(day - 1) { return true }
            }
        }
        return false
    }

    /// The earliest local wall-clock second after `local` at which a window opens on an allowed day.
    func nextOpening(afterLocalSeconds local: Int) -> Int? {
        let today = floorDiv(local, 86_400)
        let starts = windows.isEmpty ? [0] : windows.map(\.start)
        for day in today...(today + 8) where dayAllowed(day) {
            for start in starts where day * 86_400 + start > local {
                return day * 86_400 + start
            }
        }
        return nil
    }
}

/// Turns wall-clock times in a zone into instants and back, resolving daylight-saving gaps and repeats itself
/// (Foundation's matching policies either skip the day or move it, see docs/schedules.md).
struct WallClock {
    enum Kind: Equatable {
        case exact
        /// The wall time did not exist; the instant is the end of the gap.
        case gap
        /// The wall time happened twice; the instant is the first, the payload the second.
        case repeated(Int)
    }

    private let fixedOffset: Int?
    private let zone: TimeZone
    let name: String

    init(_ scheduleZone: ScheduleZone) {
        name = scheduleZone.description
        zone = ScheduleCalculator.zone(scheduleZone)
        switch scheduleZone {
        case .fixed(let offset): fixedOffset = offset
        case .iana: fixedOffset = ["UTC", "GMT", "Etc/UTC", "Etc/GMT"].contains(zone.identifier) ? 0 : nil
        }
    }

    func offset(at instant: Int) -> Int {
        if let fixedOffset { return fixedOffset }
        return zone.secondsFromGMT(for: Date(unixSeconds: instant))
    }

    /// The zone's offset without daylight saving, the anchor of interval grids.
    func standardOffset(at instant: Int) -> Int {
        if let fixedOffset { return fixedOffset }
        let date = Date(unixSeconds: instant)
        return zone.secondsFromGMT(for: date) - Int(zone.daylightSavingTimeOffset(for: date))
    }

    /// The instant a wall-clock time (`localSeconds`: days since 1970-01-01 × 86,400 + second of day) happens.
    func resolve(localSeconds local: Int) -> (instant: Int, kind: Kind) {
        if let fixedOffset { return (local - fixedOffset, .exact) }
        // The offsets a day either side cover any single transition near this wall time.
        let before = offset(at: local - 86_400)
        let after = offset(at: local + 86_400)
        if before == after {
            let candidate = local - before
            if offset(at: candidate) == before { return (candidate, .exact) }
        }
        var valid: [Int] = []
        for candidateOffset in Set([before, after]) where offset(at: local - candidateOffset) == candidateOffset {
            valid.append(local - candidateOffset)
        }
        valid.sort()
        if valid.count >= 2 { return (valid[0], .repeated(valid[1])) }
        if let only = valid.first { return (only, .exact) }
        // A gap (the offset grew): find the transition between the two readings by bisection, to the second.
        var low = local - max(before, after)
        var high = local - min(before, after)
        let lowOffset = offset(at: low)
        if offset(at: high) == lowOffset { return (high, .gap) }  // not a single clean transition; stay safe
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(at: middle) == lowOffset { low = middle } else { high = middle }
        }
        return (high, .gap)
    }

    func fireTime(at instant: Int, adjustments: [FireTime.Adjustment]) -> FireTime {
        FireTime(
            instant: Date(unixSeconds: instant),
            local: LocalDateTime(unixSeconds: instant, offset: offset(at: instant)),
            adjustments: adjustments, zoneName: name)
    }
}

extension Date {
    init(unixSeconds: Int) { self.init(timeIntervalSince1970: TimeInterval(unixSeconds)) }
}
