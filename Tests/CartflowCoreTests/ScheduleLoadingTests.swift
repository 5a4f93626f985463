import CartflowCore
import CartflowTestSupport
import Testing

/// How the loader reads `schedule.at` (times for calendar cadences, windows for intervals) and zone names, with
/// the place and text of each error.
@Suite struct ScheduleLoadingTests {
    @Test func intervalWindowsAreParsedAndWrapPastMidnight() throws {
        let result = load(
            MarkedText(header + "schedule: { every: 15m, at: [08:00-18:00, \"22:00-02:00\"], days: [fri] }\n"))
        let schedule = try #require(result.workflow?.schedule)
        #expect(result.diagnostics.isEmpty)
        #expect(
            schedule.windows == [
                ClockWindow(start: ClockTime(hour: 8, minute: 0), end: ClockTime(hour: 18, minute: 0)),
                ClockWindow(start: ClockTime(hour: 22, minute: 0), end: ClockTime(hour: 2, minute: 0)),
            ])
        #expect(schedule.at.isEmpty)
    }

    @Test func aPlainTimeOnAnIntervalIsRefusedWithAWindowSuggested() {
        let marked = MarkedText(header + "schedule:\n  every: 2h\n  at: [1️⃣\"08:00\", 09:00-17:00]\n")
        let result = load(marked)
        #expect(spots(result) == [spot(.conflict, marked, "1️⃣")])
        #expect(
            result.diagnostics.first?.message
                == "'schedule.at[0]' is a time of day (08:00), which an interval schedule does not use: for an "
                + "interval, 'at' lists windows such as \"08:00-18:00\"; for runs at fixed times use every: daily")
    }

    @Test func aWindowOnADailyScheduleIsRefused() {
        let marked = MarkedText(header + "schedule:\n  every: daily\n  at: [\"07:00\", 1️⃣08:00-18:00]\n")
        let result = load(marked)
        #expect(spots(result) == [spot(.conflict, marked, "1️⃣")])
        #expect(
            result.diagnostics.first?.message
                == "'schedule.at[1]' is a window (08:00-18:00), which only limits interval schedules (every: 15m); "
                + "a daily schedule takes times of day such as \"08:00\"")
    }

    @Test func malformedWindowsPointAtTheItem() {
        let marked = MarkedText(
            header
                + "schedule:\n  every: 30m\n  at: [1️⃣08:00-25:00, 2️⃣8-18, 3️⃣08:00-12:00-18:00, 4️⃣\"10:00-11:00\", 5️⃣10:00-11:00]\n"
        )
        let result = load(marked)
        #expect(
            spots(result) == [
                spot(.invalidTime, marked, "1️⃣"), spot(.invalidTime, marked, "2️⃣"), spot(.invalidTime, marked, "3️⃣"),
                spot(.duplicateValue, marked, "5️⃣"),
            ])
        #expect(
            result.diagnostics.first?.message
                == "'schedule.at[0]' must be a window HH:MM-HH:MM such as 08:00-18:00, got '08:00-25:00'; "
                + "the end '25:00': hours go from 00 to 23 (midnight is 00:00)")
        #expect(result.diagnostics.last?.message == "10:00-11:00 is listed twice in 'at'")
        _ = marked["4️⃣"]
    }

    @Test(arguments: ["Australia/Nowhere", "AEST", "EST", "australia/sydney"])
    func unknownZoneNamesAreRefused(name: String) {
        let marked = MarkedText(header + "schedule: { every: daily, at: \"08:00\", timezone: 1️⃣\(name) }\n")
        #expect(spots(load(marked)) == [spot(.invalidTimeZone, marked, "1️⃣")])
    }

    /// An offset written another way gets the spelling that works; an offset with 60 minutes or more is told
    /// that minutes stop at 59, not that offsets stop at ±14:00.
    @Test(arguments: [
        ("utc+10", "write UTC+10 for a fixed offset"), ("+10:00", "write UTC+10:00 for a fixed offset"),
        ("-03:30", "write UTC-03:30 for a fixed offset"), ("UTC 5:45", "write UTC+5:45 for a fixed offset"),
        ("UTC+13:60", "minutes go from 00 to 59"), ("UTC+14:30", "offsets go from UTC-14:00 to UTC+14:00"),
        ("+15", "abbreviations such as AEST or EST are not zones; use a name such as America/New_York"),
        (
            "GMT+10",
            "'GMT+10' is ambiguous (as a POSIX zone it means UTC-10); write UTC+10 or UTC-10 for a fixed offset"
        ),
    ])
    func offsetsWrittenAnotherWayGetTheSpellingThatWorks(text: String, hint: String) {
        let marked = MarkedText(header + "schedule: { every: daily, at: \"08:00\", timezone: 1️⃣\"\(text)\" }\n")
        let result = load(marked)
        #expect(spots(result) == [spot(.invalidTimeZone, marked, "1️⃣")])
        #expect(
            result.diagnostics.first?.message
                == "'schedule.timezone' must be an IANA time zone (Australia/Sydney) or a fixed offset (UTC+10, UTC-03:30), got '\(text)'; \(hint)"
        )
    }

    @Test(arguments: ["Australia/Sydney", "America/New_York", "UTC+10", "UTC", "GMT"])
    func realZonesLoadAsTheCalculatorResolvesThem(name: String) throws {
        let result = load(MarkedText(header + "schedule: { every: daily, at: \"08:00\", timezone: \(name) }\n"))
        let zone = try #require(result.workflow?.schedule?.timezone)
        if case .iana(let iana) = zone { #expect(ScheduleCalculator.knownZone(named: iana) != nil) }
        #expect(result.diagnostics.isEmpty)
    }

    /// The fingerprint stored with the last slot says which slots exist: the order of `at`, `days`, windows and
    /// `day_of_month` does not change them, so reordering a list must not look like a schedule change (whose
    /// past slots are not caught up).
    @Test func reorderingAScheduleListKeepsItsSlotFingerprint() throws {
        func fingerprint(_ schedule: String) throws -> String {
            let result = load(MarkedText(header + "schedule: " + schedule + "\n"))
            return try #require(result.workflow?.schedule, "\(result.diagnostics)").slotFingerprint
        }
        let daily = try fingerprint("{ every: daily, at: [\"05:00\", \"06:00\"], days: [mon, fri, sun] }")
        #expect(try fingerprint("{ every: daily, at: [\"06:00\", \"05:00\"], days: [sun, fri, mon] }") == daily)
        // The text of a list written in order is the one stored before (Monday first for days).
        #expect(daily == "daily; at 05:00,06:00; windows ; days mon,fri,sun; day_of_month ; timezone UTC")
        #expect(try fingerprint("{ every: daily, at: [\"05:00\", \"07:00\"], days: [mon, fri, sun] }") != daily)

        let interval = try fingerprint("{ every: 15m, at: [\"22:00-02:00\", \"08:00-18:00\"] }")
        #expect(try fingerprint("{ every: 15m, at: [\"08:00-18:00\", \"22:00-02:00\"] }") == interval)
        let monthly = try fingerprint("{ every: monthly, at: \"08:00\", day_of_month: [15, 1] }")
        #expect(try fingerprint("{ every: monthly, at: \"08:00\", day_of_month: [1, 15] }") == monthly)

        // A list built in code may repeat an entry: the same slots.
        var schedule = Schedule(every: .daily, at: [ClockTime(hour: 5, minute: 0)])
        let once = schedule.slotFingerprint
        schedule.at.append(ClockTime(hour: 5, minute: 0))
        #expect(schedule.slotFingerprint == once)
    }
}
