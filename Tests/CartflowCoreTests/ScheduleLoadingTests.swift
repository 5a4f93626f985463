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

    @Test(arguments: ["Australia/Sydney", "America/New_York", "UTC+10", "UTC", "GMT"])
    func realZonesLoadAsTheCalculatorResolvesThem(name: String) throws {
        let result = load(MarkedText(header + "schedule: { every: daily, at: \"08:00\", timezone: \(name) }\n"))
        let zone = try #require(result.workflow?.schedule?.timezone)
        if case .iana(let iana) = zone { #expect(ScheduleCalculator.knownZone(named: iana) != nil) }
        #expect(result.diagnostics.isEmpty)
    }
}
