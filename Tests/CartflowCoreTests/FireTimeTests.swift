import CartflowCore
import Foundation
import Testing

/// Only a slot whose wall-clock time did not exist is "moved"; a repeated time runs at its first occurrence.
@Test func onlyAGapMovesASlot() throws {
    let schedule = Schedule(
        every: .daily, at: [ClockTime(hour: 1, minute: 30), ClockTime(hour: 2, minute: 30)],
        timezone: .iana("America/New_York"))
    let back = ScheduleCalculator.nextFireTimes(schedule, after: Date(timeIntervalSince1970: 1_730_548_800), count: 1)
    let repeated = try #require(back.first)  // 2024-11-03 01:30 EDT
    #expect(repeated.utcText == "2024-11-03T05:30:00Z")
    #expect(!repeated.movedByDaylightSaving)
    #expect(repeated.explanation?.contains("happens twice") == true)

    let forward = ScheduleCalculator.nextFireTimes(
        schedule, after: Date(timeIntervalSince1970: 1_710_000_000), count: 2)
    let moved = try #require(forward.last)  // 2024-03-10 02:30 does not exist: 03:00 EDT
    #expect(moved.utcText == "2024-03-10T07:00:00Z")
    #expect(moved.movedByDaylightSaving)
}
