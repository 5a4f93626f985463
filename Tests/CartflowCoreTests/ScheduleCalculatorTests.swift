import CartflowCore
import Foundation
import Testing

/// Namespace for the schedule tests, so their helpers (`utc`, `at`, ...) cannot clash with other test files.
enum ScheduleTests {}

extension ScheduleTests {
    /// `2024-03-10T07:00:00Z` → Date; test instants are always written out, never taken from the wall clock.
    static func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text) else { fatalError("bad test instant \(text)") }
        return date
    }

    static func at(_ text: String) -> ClockTime {
        let parts = text.split(separator: ":").map { Int($0)! }
        return ClockTime(hour: parts[0], minute: parts[1])
    }

    static func window(_ start: String, _ end: String) -> ClockWindow { ClockWindow(start: at(start), end: at(end)) }

    static let newYork = ScheduleZone.iana("America/New_York")
    static let sydney = ScheduleZone.iana("Australia/Sydney")

    /// One expected fire time: the UTC instant, the local reading, and whether it was moved.
    struct Expected: Sendable, CustomStringConvertible {
        var utc: String
        var local: String
        var note: Note = .none

        enum Note: Sendable { case none, gap, repeated, clamped }

        var description: String { "\(utc) \(local)" }
    }

    struct CalculatorCase: CustomTestStringConvertible, Sendable {
        var name: String
        var schedule: Schedule
        var after: String
        var expected: [Expected]
        var testDescription: String { name }
    }

    static func note(of fire: FireTime) -> Expected.Note {
        switch fire.adjustments.first {
        case nil: return .none
        case .skippedForward?: return .gap
        case .repeatedTime?: return .repeated
        case .clampedToMonthEnd?: return .clamped
        }
    }

    static let calculatorCases: [CalculatorCase] = [
        // C10: 02:30 does not exist on 2024-03-10 in New York: one run, at 03:00 EDT.
        CalculatorCase(
            name: "daily 02:30 New York across spring forward",
            schedule: Schedule(every: .daily, at: [at("02:30")], timezone: newYork), after: "2024-03-09T00:00:00Z",
            expected: [
                Expected(utc: "2024-03-09T07:30:00Z", local: "2024-03-09 02:30 -05:00"),
                Expected(utc: "2024-03-10T07:00:00Z", local: "2024-03-10 03:00 -04:00", note: .gap),
                Expected(utc: "2024-03-11T06:30:00Z", local: "2024-03-11 02:30 -04:00"),
            ]),
        // Several times in and right after the gap collapse onto one run.
        CalculatorCase(
            name: "daily 02:00, 02:30, 03:00 New York on spring forward day run once",
            schedule: Schedule(every: .daily, at: [at("03:00"), at("02:00"), at("02:30")], timezone: newYork),
            after: "2024-03-10T00:00:00Z",
            expected: [
                Expected(utc: "2024-03-10T07:00:00Z", local: "2024-03-10 03:00 -04:00", note: .gap),
                Expected(utc: "2024-03-11T06:00:00Z", local: "2024-03-11 02:00 -04:00"),
            ]),
        // C11: 01:30 happens twice on 2024-11-03: one run, at the first (EDT).
        CalculatorCase(
            name: "daily 01:30 New York across fall back",
            schedule: Schedule(every: .daily, at: [at("01:30")], timezone: newYork), after: "2024-11-02T00:00:00Z",
            expected: [
                Expected(utc: "2024-11-02T05:30:00Z", local: "2024-11-02 01:30 -04:00"),
                Expected(utc: "2024-11-03T05:30:00Z", local: "2024-11-03 01:30 -04:00", note: .repeated),
                Expected(utc: "2024-11-04T06:30:00Z", local: "2024-11-04 01:30 -05:00"),
            ]),
        // Between the two 01:30s the second one is not a slot.
        CalculatorCase(
            name: "daily 01:30 New York asked between the two 01:30s",
            schedule: Schedule(every: .daily, at: [at("01:30")], timezone: newYork), after: "2024-11-03T06:00:00Z",
            expected: [Expected(utc: "2024-11-04T06:30:00Z", local: "2024-11-04 01:30 -05:00")]),
        // Sydney leaves daylight saving on 2024-04-07 (03:00 AEDT -> 02:00 AEST): 02:30 happens twice.
        CalculatorCase(
            name: "daily 02:30 Sydney across 2024-04-07",
            schedule: Schedule(every: .daily, at: [at("02:30")], timezone: sydney), after: "2024-04-05T00:00:00Z",
            expected: [
                Expected(utc: "2024-04-05T15:30:00Z", local: "2024-04-06 02:30 +11:00"),
                Expected(utc: "2024-04-06T15:30:00Z", local: "2024-04-07 02:30 +11:00", note: .repeated),
                Expected(utc: "2024-04-07T16:30:00Z", local: "2024-04-08 02:30 +10:00"),
            ]),
        // Sydney enters daylight saving on 2024-10-06 (02:00 AEST -> 03:00 AEDT): 02:30 does not exist.
        CalculatorCase(
            name: "daily 02:30 Sydney across 2024-10-06",
            schedule: Schedule(every: .daily, at: [at("02:30")], timezone: sydney), after: "2024-10-04T00:00:00Z",
            expected: [
                Expected(utc: "2024-10-04T16:30:00Z", local: "2024-10-05 02:30 +10:00"),
                Expected(utc: "2024-10-05T16:00:00Z", local: "2024-10-06 03:00 +11:00", note: .gap),
                Expected(utc: "2024-10-06T15:30:00Z", local: "2024-10-07 02:30 +11:00"),
            ]),
        // Lord Howe moves its clocks by 30 minutes: 02:00-02:29 does not exist on 2024-10-06, 01:30-01:59 happens
        // twice on 2024-04-07.
        CalculatorCase(
            name: "daily 02:15 Lord Howe across its half-hour gap",
            schedule: Schedule(every: .daily, at: [at("02:15")], timezone: .iana("Australia/Lord_Howe")),
            after: "2024-10-05T12:00:00Z",
            expected: [
                Expected(utc: "2024-10-05T15:30:00Z", local: "2024-10-06 02:30 +11:00", note: .gap),
                Expected(utc: "2024-10-06T15:15:00Z", local: "2024-10-07 02:15 +11:00"),
            ]),
        CalculatorCase(
            name: "daily 01:45 Lord Howe across its half-hour repeat",
            schedule: Schedule(every: .daily, at: [at("01:45")], timezone: .iana("Australia/Lord_Howe")),
            after: "2024-04-06T12:00:00Z",
            expected: [
                Expected(utc: "2024-04-06T14:45:00Z", local: "2024-04-07 01:45 +11:00", note: .repeated),
                Expected(utc: "2024-04-07T15:15:00Z", local: "2024-04-08 01:45 +10:30"),
            ]),
        // C12: a fixed offset is constant all year; Sydney is +11 in January, +10 in July.
        CalculatorCase(
            name: "UTC+10 in January",
            schedule: Schedule(every: .daily, at: [at("09:00")], timezone: .fixed(offsetSeconds: 36_000)),
            after: "2024-01-14T12:00:00Z",
            expected: [Expected(utc: "2024-01-14T23:00:00Z", local: "2024-01-15 09:00 +10:00")]),
        CalculatorCase(
            name: "Sydney in January",
            schedule: Schedule(every: .daily, at: [at("09:00")], timezone: sydney), after: "2024-01-14T12:00:00Z",
            expected: [Expected(utc: "2024-01-14T22:00:00Z", local: "2024-01-15 09:00 +11:00")]),
        CalculatorCase(
            name: "UTC+10 in July",
            schedule: Schedule(every: .daily, at: [at("09:00")], timezone: .fixed(offsetSeconds: 36_000)),
            after: "2024-07-14T12:00:00Z",
            expected: [Expected(utc: "2024-07-14T23:00:00Z", local: "2024-07-15 09:00 +10:00")]),
        CalculatorCase(
            name: "Sydney in July",
            schedule: Schedule(every: .daily, at: [at("09:00")], timezone: sydney), after: "2024-07-14T12:00:00Z",
            expected: [Expected(utc: "2024-07-14T23:00:00Z", local: "2024-07-15 09:00 +10:00")]),
        // Month ends: day 31 clamps to the last day; never the 1st of the next month.
        CalculatorCase(
            name: "monthly 31st through 2024",
            schedule: Schedule(every: .monthly, at: [at("06:00")], daysOfMonth: [31]), after: "2024-01-01T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-31T06:00:00Z", local: "2024-01-31 06:00 +00:00"),
                Expected(utc: "2024-02-29T06:00:00Z", local: "2024-02-29 06:00 +00:00", note: .clamped),
                Expected(utc: "2024-03-31T06:00:00Z", local: "2024-03-31 06:00 +00:00"),
                Expected(utc: "2024-04-30T06:00:00Z", local: "2024-04-30 06:00 +00:00", note: .clamped),
                Expected(utc: "2024-05-31T06:00:00Z", local: "2024-05-31 06:00 +00:00"),
            ]),
        CalculatorCase(
            name: "monthly 29th in leap 2024",
            schedule: Schedule(every: .monthly, daysOfMonth: [29]), after: "2024-01-30T00:00:00Z",
            expected: [
                Expected(utc: "2024-02-29T00:00:00Z", local: "2024-02-29 00:00 +00:00"),
                Expected(utc: "2024-03-29T00:00:00Z", local: "2024-03-29 00:00 +00:00"),
            ]),
        CalculatorCase(
            name: "monthly 29th in 2023",
            schedule: Schedule(every: .monthly, daysOfMonth: [29]), after: "2023-01-30T00:00:00Z",
            expected: [
                Expected(utc: "2023-02-28T00:00:00Z", local: "2023-02-28 00:00 +00:00", note: .clamped),
                Expected(utc: "2023-03-29T00:00:00Z", local: "2023-03-29 00:00 +00:00"),
            ]),
        CalculatorCase(
            name: "monthly 30th and 31st run once in short months",
            schedule: Schedule(every: .monthly, daysOfMonth: [31, 30]), after: "2024-01-29T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-30T00:00:00Z", local: "2024-01-30 00:00 +00:00"),
                Expected(utc: "2024-01-31T00:00:00Z", local: "2024-01-31 00:00 +00:00"),
                Expected(utc: "2024-02-29T00:00:00Z", local: "2024-02-29 00:00 +00:00", note: .clamped),
                Expected(utc: "2024-03-30T00:00:00Z", local: "2024-03-30 00:00 +00:00"),
                Expected(utc: "2024-03-31T00:00:00Z", local: "2024-03-31 00:00 +00:00"),
                Expected(utc: "2024-04-30T00:00:00Z", local: "2024-04-30 00:00 +00:00"),
            ]),
        CalculatorCase(
            name: "monthly without days_of_month runs on the 1st",
            schedule: Schedule(every: .monthly, at: [at("12:00")]), after: "2024-01-15T00:00:00Z",
            expected: [
                Expected(utc: "2024-02-01T12:00:00Z", local: "2024-02-01 12:00 +00:00"),
                Expected(utc: "2024-03-01T12:00:00Z", local: "2024-03-01 12:00 +00:00"),
            ]),
        // Weekly day sets (2024-01-01 is a Monday).
        CalculatorCase(
            name: "weekly mon, wed, fri at 08:00",
            schedule: Schedule(every: .weekly, at: [at("08:00")], days: [.friday, .monday, .wednesday]),
            after: "2024-01-01T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-01T08:00:00Z", local: "2024-01-01 08:00 +00:00"),
                Expected(utc: "2024-01-03T08:00:00Z", local: "2024-01-03 08:00 +00:00"),
                Expected(utc: "2024-01-05T08:00:00Z", local: "2024-01-05 08:00 +00:00"),
                Expected(utc: "2024-01-08T08:00:00Z", local: "2024-01-08 08:00 +00:00"),
            ]),
        CalculatorCase(
            name: "weekly without days runs on Mondays",
            schedule: Schedule(every: .weekly), after: "2024-01-02T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-08T00:00:00Z", local: "2024-01-08 00:00 +00:00"),
                Expected(utc: "2024-01-15T00:00:00Z", local: "2024-01-15 00:00 +00:00"),
            ]),
        CalculatorCase(
            name: "daily twice, weekends only, in Sydney",
            schedule: Schedule(
                every: .daily, at: [at("18:00"), at("08:00")], days: [.saturday, .sunday], timezone: sydney),
            after: "2024-01-05T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-05T21:00:00Z", local: "2024-01-06 08:00 +11:00"),
                Expected(utc: "2024-01-06T07:00:00Z", local: "2024-01-06 18:00 +11:00"),
                Expected(utc: "2024-01-06T21:00:00Z", local: "2024-01-07 08:00 +11:00"),
                Expected(utc: "2024-01-07T07:00:00Z", local: "2024-01-07 18:00 +11:00"),
                Expected(utc: "2024-01-12T21:00:00Z", local: "2024-01-13 08:00 +11:00"),
            ]),
        // Intervals: elapsed time on a grid anchored at 1970-01-01 00:00 standard time.
        CalculatorCase(
            name: "every 45m UTC",
            schedule: Schedule(every: .interval(Seconds(2_700))), after: "2024-01-01T00:10:00Z",
            expected: [
                Expected(utc: "2024-01-01T00:45:00Z", local: "2024-01-01 00:45 +00:00"),
                Expected(utc: "2024-01-01T01:30:00Z", local: "2024-01-01 01:30 +00:00"),
                Expected(utc: "2024-01-01T02:15:00Z", local: "2024-01-01 02:15 +00:00"),
                Expected(utc: "2024-01-01T03:00:00Z", local: "2024-01-01 03:00 +00:00"),
            ]),
        // 1704067200 (2024-01-01T00:00Z) is 360 s past a multiple of 420.
        CalculatorCase(
            name: "every 7m UTC",
            schedule: Schedule(every: .interval(Seconds(420))), after: "2024-01-01T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-01T00:01:00Z", local: "2024-01-01 00:01 +00:00"),
                Expected(utc: "2024-01-01T00:08:00Z", local: "2024-01-01 00:08 +00:00"),
                Expected(utc: "2024-01-01T00:15:00Z", local: "2024-01-01 00:15 +00:00"),
            ]),
        // 90m in New York: multiples of 90m from midnight EST, so 03:00 EST reads 04:00 EDT after the change.
        CalculatorCase(
            name: "every 90m New York across spring forward",
            schedule: Schedule(every: .interval(Seconds(5_400)), timezone: newYork), after: "2024-03-10T04:59:00Z",
            expected: [
                Expected(utc: "2024-03-10T05:00:00Z", local: "2024-03-10 00:00 -05:00"),
                Expected(utc: "2024-03-10T06:30:00Z", local: "2024-03-10 01:30 -05:00"),
                Expected(utc: "2024-03-10T08:00:00Z", local: "2024-03-10 04:00 -04:00"),
                Expected(utc: "2024-03-10T09:30:00Z", local: "2024-03-10 05:30 -04:00"),
            ]),
        CalculatorCase(
            name: "every 1h in UTC+05:30 lands on the local hour",
            schedule: Schedule(every: .interval(Seconds(3_600)), timezone: .fixed(offsetSeconds: 19_800)),
            after: "2024-01-01T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-01T00:30:00Z", local: "2024-01-01 06:00 +05:30"),
                Expected(utc: "2024-01-01T01:30:00Z", local: "2024-01-01 07:00 +05:30"),
            ]),
        // Windows and days: weekday office hours in New York; the weekend is jumped, not walked.
        CalculatorCase(
            name: "every 1h 08:00-18:00 weekdays New York over a weekend and spring forward",
            schedule: Schedule(
                every: .interval(Seconds(3_600)), days: [.monday, .tuesday, .wednesday, .thursday, .friday],
                timezone: newYork, windows: [window("08:00", "18:00")]),
            after: "2024-03-08T21:30:00Z",
            expected: [
                Expected(utc: "2024-03-08T22:00:00Z", local: "2024-03-08 17:00 -05:00"),
                Expected(utc: "2024-03-11T12:00:00Z", local: "2024-03-11 08:00 -04:00"),
                Expected(utc: "2024-03-11T13:00:00Z", local: "2024-03-11 09:00 -04:00"),
            ]),
        // Days without windows limit whole days.
        CalculatorCase(
            name: "every 6h on Saturdays",
            schedule: Schedule(every: .interval(Seconds(21_600)), days: [.saturday]), after: "2024-01-05T20:00:00Z",
            expected: [
                Expected(utc: "2024-01-06T00:00:00Z", local: "2024-01-06 00:00 +00:00"),
                Expected(utc: "2024-01-06T06:00:00Z", local: "2024-01-06 06:00 +00:00"),
                Expected(utc: "2024-01-06T12:00:00Z", local: "2024-01-06 12:00 +00:00"),
                Expected(utc: "2024-01-06T18:00:00Z", local: "2024-01-06 18:00 +00:00"),
                Expected(utc: "2024-01-13T00:00:00Z", local: "2024-01-13 00:00 +00:00"),
            ]),
        // A window past midnight belongs to the day it starts on.
        CalculatorCase(
            name: "every 1h 22:00-02:00 on Fridays",
            schedule: Schedule(every: .interval(Seconds(3_600)), days: [.friday], windows: [window("22:00", "02:00")]),
            after: "2024-01-05T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-05T22:00:00Z", local: "2024-01-05 22:00 +00:00"),
                Expected(utc: "2024-01-05T23:00:00Z", local: "2024-01-05 23:00 +00:00"),
                Expected(utc: "2024-01-06T00:00:00Z", local: "2024-01-06 00:00 +00:00"),
                Expected(utc: "2024-01-06T01:00:00Z", local: "2024-01-06 01:00 +00:00"),
                Expected(utc: "2024-01-12T22:00:00Z", local: "2024-01-12 22:00 +00:00"),
            ]),
        // A 7m grid (00:01 + 7k minutes on 2024-01-01; a day is 5 minutes past a multiple) and a 10-minute window:
        // only grid points inside the window fire, so some days have one and some two.
        CalculatorCase(
            name: "every 7m 08:00-08:10",
            schedule: Schedule(every: .interval(Seconds(420)), windows: [window("08:00", "08:10")]),
            after: "2024-01-01T00:00:00Z",
            expected: [
                Expected(utc: "2024-01-01T08:04:00Z", local: "2024-01-01 08:04 +00:00"),
                Expected(utc: "2024-01-02T08:06:00Z", local: "2024-01-02 08:06 +00:00"),
                Expected(utc: "2024-01-03T08:01:00Z", local: "2024-01-03 08:01 +00:00"),
                Expected(utc: "2024-01-03T08:08:00Z", local: "2024-01-03 08:08 +00:00"),
            ]),
    ]

    @Suite struct CalculatorTests {
        @Test(arguments: calculatorCases)
        func nextFireTimes(_ example: CalculatorCase) {
            let fires = ScheduleCalculator.nextFireTimes(
                example.schedule, after: utc(example.after), count: example.expected.count)
            #expect(fires.map(\.utcText) == example.expected.map(\.utc))
            #expect(fires.map(\.local.description) == example.expected.map(\.local))
            #expect(fires.map(note(of:)) == example.expected.map(\.note))
        }

        /// C11 for intervals: every 15m follows elapsed time through both New York changes, no burst and no gap.
        @Test(arguments: ["2024-03-10T05:00:00Z", "2024-11-03T04:00:00Z"])
        func fifteenMinutesAcrossDaylightSaving(_ start: String) {
            let schedule = Schedule(every: .interval(Seconds(900)), timezone: newYork)
            let fires = ScheduleCalculator.nextFireTimes(schedule, after: utc(start), count: 24)
            #expect(fires.count == 24)
            let steps = zip(fires, fires.dropFirst()).map { $1.instant.timeIntervalSince($0.instant) }
            #expect(steps.allSatisfy { $0 == 900 })
            #expect(fires.allSatisfy { $0.local.minute % 15 == 0 && !$0.movedByDaylightSaving })
            #expect(fires.first?.instant == utc(start).addingTimeInterval(900))
        }

        @Test func fifteenMinutesFallBackReadsTheRepeatedHourTwice() {
            let schedule = Schedule(every: .interval(Seconds(900)), timezone: newYork)
            let fires = ScheduleCalculator.nextFireTimes(schedule, after: utc("2024-11-03T05:40:00Z"), count: 6)
            #expect(
                fires.map(\.local.description) == [
                    "2024-11-03 01:45 -04:00", "2024-11-03 01:00 -05:00", "2024-11-03 01:15 -05:00",
                    "2024-11-03 01:30 -05:00", "2024-11-03 01:45 -05:00", "2024-11-03 02:00 -05:00",
                ])
        }

        /// Grids that do not divide a day stay regular across midnight, daylight saving and a whole year.
        @Test(arguments: [420, 2_700, 5_400, 3_540])
        func intervalsAreRegular(_ step: Int) {
            let schedule = Schedule(every: .interval(Seconds(step)), timezone: sydney)
            let fires = ScheduleCalculator.nextFireTimes(schedule, after: utc("2024-04-06T10:00:00Z"), count: 500)
            #expect(fires.count == 500)
            let steps = zip(fires, fires.dropFirst()).map { $1.instant.timeIntervalSince($0.instant) }
            #expect(steps.allSatisfy { $0 == Double(step) })
        }

        @Test func explanationsSayWhatMoved() throws {
            let gap = try #require(
                ScheduleCalculator.nextFireTimes(
                    Schedule(every: .daily, at: [at("02:30")], timezone: newYork), after: utc("2024-03-10T00:00:00Z"),
                    count: 1
                ).first)
            #expect(
                gap.explanation
                    == "02:30 does not exist on 2024-03-10 in America/New_York (clocks go forward); "
                    + "runs once right after the gap, at 03:00")
            #expect(gap.movedByDaylightSaving)
            let repeated = try #require(
                ScheduleCalculator.nextFireTimes(
                    Schedule(every: .daily, at: [at("01:30")], timezone: newYork), after: utc("2024-11-03T00:00:00Z"),
                    count: 1
                ).first)
            #expect(
                repeated.adjustments == [
                    .repeatedTime(scheduled: at("01:30"), secondOccurrence: utc("2024-11-03T06:30:00Z"))
                ])
            let clamped = try #require(
                ScheduleCalculator.nextFireTimes(
                    Schedule(every: .monthly, daysOfMonth: [31]), after: utc("2023-02-01T00:00:00Z"), count: 1
                ).first)
            #expect(clamped.explanation == "February 2023 has no day 31; runs on the last day, the 28th")
            #expect(!clamped.movedByDaylightSaving)
            #expect(
                clamped.description == "2023-02-28 00:00 +00:00 (2023-02-28T00:00:00Z): " + (clamped.explanation ?? ""))
        }

        @Test func resultsAreStrictlyAfterTheInstant() {
            let schedule = Schedule(every: .daily, at: [at("08:00")])
            let fires = ScheduleCalculator.nextFireTimes(schedule, after: utc("2024-01-01T08:00:00Z"), count: 1)
            #expect(fires.map(\.utcText) == ["2024-01-02T08:00:00Z"])
            #expect(ScheduleCalculator.nextFireTimes(schedule, after: utc("2024-01-01T08:00:00Z"), count: 0).isEmpty)
            let never = Schedule(every: .interval(Seconds(0)))
            #expect(ScheduleCalculator.nextFireTimes(never, after: utc("2024-01-01T08:00:00Z"), count: 3).isEmpty)
        }

        @Test func zones() {
            let january = utc("2024-01-15T00:00:00Z")
            let fixed = ScheduleCalculator.zone(.fixed(offsetSeconds: 36_000))
            #expect(fixed.secondsFromGMT(for: january) == 36_000)
            #expect(fixed.secondsFromGMT(for: utc("2024-07-15T00:00:00Z")) == 36_000)
            let sydneyZone = ScheduleCalculator.zone(sydney)
            #expect(sydneyZone.secondsFromGMT(for: january) == 39_600)
            #expect(sydneyZone.secondsFromGMT(for: utc("2024-07-15T00:00:00Z")) == 36_000)
            #expect(ScheduleCalculator.knownZone(named: "Australia/Brisbane") != nil)
            #expect(ScheduleCalculator.knownZone(named: "Australia/Nowhere") == nil)
            #expect(ScheduleCalculator.knownZone(named: "AEST") == nil)
            #expect(ScheduleCalculator.knownZone(named: "america/new_york") == nil)
            #expect(ScheduleCalculator.knownZone(named: "UTC")?.secondsFromGMT(for: january) == 0)
            #expect(ScheduleCalculator.knownZone(named: "Australia/Lord_Howe") != nil)
            // POSIX sign inversion: Etc/GMT+10 is ten hours behind UTC.
            #expect(ScheduleCalculator.zone(.iana("Etc/GMT+10")).secondsFromGMT(for: january) == -36_000)
            #expect(
                ScheduleCalculator.signInversionNote(forZoneNamed: "Etc/GMT+10")
                    == "Etc/GMT+10 means UTC-10 (POSIX inverts the sign); write UTC-10 to say so plainly")
            #expect(
                ScheduleCalculator.signInversionNote(forZoneNamed: "Etc/GMT-14")?.hasPrefix("Etc/GMT-14 means UTC+14")
                    == true)
            #expect(ScheduleCalculator.signInversionNote(forZoneNamed: "Etc/GMT") == nil)
            #expect(ScheduleCalculator.signInversionNote(forZoneNamed: "Europe/Paris") == nil)
        }
    }
}
