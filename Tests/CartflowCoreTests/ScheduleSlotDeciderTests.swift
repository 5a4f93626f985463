import CartflowCore
import Foundation
import Testing

extension ScheduleTests {
    /// One decision step: the inputs the daemon would pass and what must come out.
    struct DecisionCase: CustomTestStringConvertible, Sendable {
        var name: String
        var schedule: Schedule
        var lastSlot: String?
        var now: String
        var running: Bool = false
        var queued: String? = nil
        /// `kind @ utc ×count`, in order.
        var actions: [String]
        var toRun: [String]
        var newLastSlot: String?
        var newQueued: String? = nil
        var nextWake: String?
        var testDescription: String { name }
    }

    static let dailyEight = Schedule(every: .daily, at: [at("08:00")])
    static func daily(catchUp: Schedule.CatchUp) -> Schedule {
        Schedule(every: .daily, at: [at("08:00")], catchUp: catchUp)
    }

    static let decisionCases: [DecisionCase] = [
        DecisionCase(
            name: "on time", schedule: dailyEight, lastSlot: "2024-05-03T08:00:00Z", now: "2024-05-04T08:00:20Z",
            actions: ["fired @ 2024-05-04T08:00:00Z ×1"], toRun: ["2024-05-04T08:00:00Z"],
            newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        // C13: down for three daily slots (05-02, 05-03, 05-04).
        DecisionCase(
            name: "3 missed, catch_up latest: one run", schedule: daily(catchUp: .latest),
            lastSlot: "2024-05-01T08:00:00Z", now: "2024-05-04T09:00:00Z",
            actions: ["missed @ 2024-05-03T08:00:00Z ×2", "caught up @ 2024-05-04T08:00:00Z ×1"],
            toRun: ["2024-05-04T08:00:00Z"], newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "3 missed, catch_up all: three runs in order", schedule: daily(catchUp: .all),
            lastSlot: "2024-05-01T08:00:00Z", now: "2024-05-04T09:00:00Z",
            actions: [
                "caught up @ 2024-05-02T08:00:00Z ×1", "caught up @ 2024-05-03T08:00:00Z ×1",
                "caught up @ 2024-05-04T08:00:00Z ×1",
            ],
            toRun: ["2024-05-02T08:00:00Z", "2024-05-03T08:00:00Z", "2024-05-04T08:00:00Z"],
            newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "3 missed, catch_up none: nothing runs", schedule: daily(catchUp: .none),
            lastSlot: "2024-05-01T08:00:00Z", now: "2024-05-04T09:00:00Z",
            actions: ["missed @ 2024-05-04T08:00:00Z ×3"], toRun: [],
            newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "2 missed, catch_up none, the third due now runs", schedule: daily(catchUp: .none),
            lastSlot: "2024-05-01T08:00:00Z", now: "2024-05-04T08:00:30Z",
            actions: ["missed @ 2024-05-03T08:00:00Z ×2", "fired @ 2024-05-04T08:00:00Z ×1"],
            toRun: ["2024-05-04T08:00:00Z"], newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        // catch_up all is capped (docs/schedules.md): daily at 08:00 and 20:00, down for a week, 14 slots
        // missed, the 10 latest run. (Intervals refuse catch_up: all in the loader.)
        DecisionCase(
            name: "catch_up all runs at most the 10 latest",
            schedule: Schedule(every: .daily, at: [at("08:00"), at("20:00")], catchUp: .all),
            lastSlot: "2024-05-01T20:00:00Z", now: "2024-05-08T21:00:00Z",
            actions: ["missed @ 2024-05-03T20:00:00Z ×4"]
                + (4...8).flatMap { day in ["08", "20"].map { "caught up @ 2024-05-0\(day)T\($0):00:00Z ×1" } },
            toRun: (4...8).flatMap { day in ["08", "20"].map { "2024-05-0\(day)T\($0):00:00Z" } },
            newLastSlot: "2024-05-08T20:00:00Z", nextWake: "2024-05-09T08:00:00Z"),
        // A restart right after a slot was fired and stored: nothing runs twice.
        DecisionCase(
            name: "restart after the slot was fired", schedule: dailyEight, lastSlot: "2024-05-04T08:00:00Z",
            now: "2024-05-04T08:00:30Z", actions: [], toRun: [], newLastSlot: "2024-05-04T08:00:00Z",
            nextWake: "2024-05-05T08:00:00Z"),
        // The wall clock jumped back a day: the slot already fired is not due again, the wake-up is after it.
        DecisionCase(
            name: "wall clock jumped backwards", schedule: dailyEight, lastSlot: "2024-05-04T08:00:00Z",
            now: "2024-05-03T12:00:00Z", actions: [], toRun: [], newLastSlot: "2024-05-04T08:00:00Z",
            nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "wall clock jumped back onto the fired slot", schedule: dailyEight, lastSlot: "2024-05-04T08:00:00Z",
            now: "2024-05-04T08:00:00Z", actions: [], toRun: [], newLastSlot: "2024-05-04T08:00:00Z",
            nextWake: "2024-05-05T08:00:00Z"),
        // First start with no history: nothing in the past runs; the latest past slot is recorded.
        DecisionCase(
            name: "first start, nothing due", schedule: dailyEight, lastSlot: nil, now: "2024-05-04T12:00:00Z",
            actions: ["before first start @ 2024-05-04T08:00:00Z ×1"], toRun: [],
            newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "first start at a slot", schedule: dailyEight, lastSlot: nil, now: "2024-05-04T08:00:10Z",
            actions: ["fired @ 2024-05-04T08:00:00Z ×1"], toRun: ["2024-05-04T08:00:00Z"],
            newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "first start of a monthly schedule", schedule: Schedule(every: .monthly, daysOfMonth: [15]),
            lastSlot: nil, now: "2024-05-04T12:00:00Z", actions: ["before first start @ 2024-04-15T00:00:00Z ×1"],
            toRun: [], newLastSlot: "2024-04-15T00:00:00Z", nextWake: "2024-05-15T00:00:00Z"),
        // Overlap.
        DecisionCase(
            name: "overlap skip", schedule: dailyEight, lastSlot: "2024-05-03T08:00:00Z", now: "2024-05-04T08:00:05Z",
            running: true, actions: ["skipped by overlap @ 2024-05-04T08:00:00Z ×1"], toRun: [],
            newLastSlot: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "overlap queue", schedule: Schedule(every: .daily, at: [at("08:00")], overlap: .queue),
            lastSlot: "2024-05-03T08:00:00Z", now: "2024-05-04T08:00:05Z", running: true,
            actions: ["queued @ 2024-05-04T08:00:00Z ×1"], toRun: [], newLastSlot: "2024-05-04T08:00:00Z",
            newQueued: "2024-05-04T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "overlap queue holds one", schedule: Schedule(every: .daily, at: [at("08:00")], overlap: .queue),
            lastSlot: "2024-05-04T08:00:00Z", now: "2024-05-05T08:00:05Z", running: true,
            queued: "2024-05-04T08:00:00Z", actions: ["skipped by overlap @ 2024-05-05T08:00:00Z ×1"], toRun: [],
            newLastSlot: "2024-05-05T08:00:00Z", newQueued: "2024-05-04T08:00:00Z", nextWake: "2024-05-06T08:00:00Z"),
        DecisionCase(
            name: "queued slot runs when the run finishes",
            schedule: Schedule(every: .daily, at: [at("08:00")], overlap: .queue), lastSlot: "2024-05-04T08:00:00Z",
            now: "2024-05-04T09:12:00Z", running: false, queued: "2024-05-04T08:00:00Z",
            actions: ["fired from queue @ 2024-05-04T08:00:00Z ×1"], toRun: ["2024-05-04T08:00:00Z"],
            newLastSlot: "2024-05-04T08:00:00Z", newQueued: nil, nextWake: "2024-05-05T08:00:00Z"),
        DecisionCase(
            name: "overlap queue with catch_up all queues the first, skips the rest",
            schedule: Schedule(every: .daily, at: [at("08:00")], catchUp: .all, overlap: .queue),
            lastSlot: "2024-05-02T08:00:00Z", now: "2024-05-04T08:00:05Z", running: true,
            actions: ["queued @ 2024-05-03T08:00:00Z ×1", "skipped by overlap @ 2024-05-04T08:00:00Z ×1"], toRun: [],
            newLastSlot: "2024-05-04T08:00:00Z", newQueued: "2024-05-03T08:00:00Z", nextWake: "2024-05-05T08:00:00Z"),
        // C10 through the decider: the 02:30 slot of 2024-03-10 in New York is the 03:00 EDT instant.
        DecisionCase(
            name: "spring forward slot fires once at 03:00",
            schedule: Schedule(every: .daily, at: [at("02:30")], timezone: newYork), lastSlot: "2024-03-09T07:30:00Z",
            now: "2024-03-10T07:00:03Z", actions: ["fired @ 2024-03-10T07:00:00Z ×1"], toRun: ["2024-03-10T07:00:00Z"],
            newLastSlot: "2024-03-10T07:00:00Z", nextWake: "2024-03-11T06:30:00Z"),
        // C11 through the decider: at the second 01:30 nothing is due.
        DecisionCase(
            name: "fall back: the second 01:30 is not a slot",
            schedule: Schedule(every: .daily, at: [at("01:30")], timezone: newYork), lastSlot: "2024-11-03T05:30:00Z",
            now: "2024-11-03T06:30:10Z", actions: [], toRun: [], newLastSlot: "2024-11-03T05:30:00Z",
            nextWake: "2024-11-04T06:30:00Z"),
    ]

    static func describe(_ action: SlotAction) -> String {
        "\(action.kind.rawValue) @ \(action.slot.utcText) ×\(action.count)"
    }

    @Suite struct SlotDeciderTests {
        @Test(arguments: decisionCases)
        func decide(_ example: DecisionCase) {
            let decision = SlotDecider.decide(
                example.schedule, lastSlot: example.lastSlot.map(utc), now: utc(example.now),
                runInProgress: example.running, queuedSlot: example.queued.map(utc))
            #expect(decision.actions.map(describe) == example.actions)
            #expect(decision.slotsToRun.map(\.utcText) == example.toRun)
            #expect(decision.lastSlot == example.newLastSlot.map(utc))
            #expect(decision.queuedSlot == example.newQueued.map(utc))
            #expect(decision.nextWake == example.nextWake.map(utc))
        }

        /// Driving the decider slot by slot through three days, with a simulated downtime, fires each slot once.
        @Test func oneRunPerSlotOverManyWakeUps() {
            let schedule = Schedule(every: .interval(Seconds(900)), timezone: newYork)
            var last: Date? = utc("2024-11-03T04:00:00Z")
            var now = utc("2024-11-03T04:00:00Z")
            var fired: [Date] = []
            for step in 0..<200 {
                let decision = SlotDecider.decide(
                    schedule, lastSlot: last, now: now, runInProgress: false, queuedSlot: nil)
                fired += decision.slotsToRun.map(\.instant)
                last = decision.lastSlot
                // Usually wake exactly at the slot (a little late); once, sleep through four hours.
                let wake = decision.nextWake ?? now
                now = step == 50 ? wake.addingTimeInterval(4 * 3_600) : wake.addingTimeInterval(2)
            }
            #expect(Set(fired).count == fired.count)
            #expect(fired == fired.sorted())
            // 200 wake-ups, one of them after a 4-hour gap that was caught up by a single run.
            let steps = zip(fired, fired.dropFirst()).map { $1.timeIntervalSince($0) }
            #expect(steps.filter { $0 != 900 } == [4 * 3_600 + 900])
        }

        @Test func reasonsReadAsOneLogLine() {
            let decision = SlotDecider.decide(
                daily(catchUp: .latest), lastSlot: utc("2024-05-01T08:00:00Z"), now: utc("2024-05-04T09:00:00Z"),
                runInProgress: false, queuedSlot: nil)
            #expect(
                decision.actions.map(\.description) == [
                    "2024-05-03 08:00 +00:00 (2024-05-03T08:00:00Z) missed: 2 slots not run "
                        + "(catch_up: latest runs only the latest)",
                    "2024-05-04 08:00 +00:00 (2024-05-04T08:00:00Z) caught up: the latest of 3 missed slots "
                        + "(catch_up: latest)",
                ])
            let skipped = SlotDecider.decide(
                dailyEight, lastSlot: utc("2024-05-03T08:00:00Z"), now: utc("2024-05-04T08:00:05Z"),
                runInProgress: true, queuedSlot: nil)
            #expect(
                skipped.actions.map(\.reason) == ["skipped by overlap: the previous run is still going (overlap: skip)"]
            )
            // Every reason starts with its kind, so a log can be grepped by kind.
            let all = decisionCases.flatMap { example in
                SlotDecider.decide(
                    example.schedule, lastSlot: example.lastSlot.map(utc), now: utc(example.now),
                    runInProgress: example.running, queuedSlot: example.queued.map(utc)
                ).actions
            }
            #expect(Set(all.map(\.kind)) == Set(SlotAction.Kind.allCases))
            #expect(all.allSatisfy { $0.reason.hasPrefix($0.kind.rawValue + ": ") })
        }

        /// Years of downtime on a one-minute schedule: the count is capped and the decision stays quick.
        @Test func longDowntimeIsCountedUpToTheLimit() {
            let schedule = Schedule(every: .interval(Seconds(60)))
            let decision = SlotDecider.decide(
                schedule, lastSlot: utc("2020-01-01T00:00:00Z"), now: utc("2024-05-04T09:00:30Z"), runInProgress: false,
                queuedSlot: nil)
            #expect(decision.actions.map(\.kind) == [.missed, .fired])
            #expect(decision.actions.first?.count == SlotDecider.missedCountLimit)
            #expect(decision.actions.first?.reason.hasPrefix("missed: more than 10000 slots not run") == true)
            #expect(decision.actions.first?.slot.utcText == "2024-05-04T08:59:00Z")
            #expect(decision.lastSlot == utc("2024-05-04T09:00:00Z"))
        }
    }
}
