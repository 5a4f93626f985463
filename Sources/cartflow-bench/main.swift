// cartflow-bench: timings for bench/ (not a test, not shipped). Run through bench/schedule/run.sh.
import CartflowCore
import Foundation

/// A small deterministic generator so every run measures the same 1,000 schedules.
struct SplitMix {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

let zones: [ScheduleZone] = [
    .iana("America/New_York"), .iana("Australia/Sydney"), .iana("Europe/London"), .iana("Asia/Kolkata"),
    .iana("Australia/Lord_Howe"), .iana("America/Sao_Paulo"), .fixed(offsetSeconds: 36_000), .utc,
]
let kinds = ["interval", "interval+window", "daily", "weekly", "monthly"]

func makeSchedules(_ count: Int) -> [(kind: String, schedule: Schedule)] {
    var random = SplitMix(state: 7)
    func time() -> ClockTime { ClockTime(hour: random.next(24), minute: [0, 15, 30, 45, 7][random.next(5)]) }
    func weekdays() -> [Weekday] { Weekday.allCases.filter { _ in random.next(2) == 0 } }
    return (0..<count).map { index in
        let zone = zones[random.next(zones.count)]
        let kind = kinds[index % kinds.count]
        switch kind {
        case "interval":
            let step = [300, 420, 900, 2_700, 3_600, 5_400, 7_200, 86_400][random.next(8)]
            return (kind, Schedule(every: .interval(Seconds(step)), timezone: zone))
        case "interval+window":
            let start = ClockTime(hour: 6 + random.next(6), minute: 0)
            let end = ClockTime(hour: 14 + random.next(9), minute: 30)
            return (
                kind,
                Schedule(
                    every: .interval(Seconds([420, 900, 3_600][random.next(3)])), days: weekdays(), timezone: zone,
                    windows: [ClockWindow(start: start, end: end)])
            )
        case "daily":
            return (kind, Schedule(every: .daily, at: (0...random.next(3)).map { _ in time() }, timezone: zone))
        case "weekly":
            return (kind, Schedule(every: .weekly, at: [time()], days: weekdays(), timezone: zone))
        default:
            let days = (0...random.next(3)).map { _ in 1 + random.next(31) }
            return (kind, Schedule(every: .monthly, at: [time()], daysOfMonth: days, timezone: zone))
        }
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
func ms(_ value: Double) -> String { String(format: "%8.2f", value) }

let workflowCount = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000
let rounds = 15
let schedules = makeSchedules(workflowCount)
// A fixed instant near a daylight-saving change in several of the zones.
let start = Date(timeIntervalSince1970: 1_711_800_000)  // 2024-03-30T12:00:00Z
let clock = ContinuousClock()

var totals: [Double] = []
var perKind: [String: [Double]] = [:]
var slotCount = 0
for round in 0..<rounds {
    let instant = start.addingTimeInterval(Double(round) * 3_917)
    var kindTime: [String: Duration] = [:]
    let total = clock.measure {
        for (kind, schedule) in schedules {
            let began = clock.now
            let fires = ScheduleCalculator.nextFireTimes(schedule, after: instant, count: 5)
            kindTime[kind, default: .zero] += clock.now - began
            if round == 0 { slotCount += fires.count }
        }
    }
    totals.append(milliseconds(total))
    for (kind, time) in kindTime { perKind[kind, default: []].append(milliseconds(time)) }
}

var decideTimes: [Double] = []
for round in 0..<rounds {
    let now = start.addingTimeInterval(Double(round) * 86_400)
    let last = now.addingTimeInterval(-3 * 86_400)
    decideTimes.append(
        milliseconds(
            clock.measure {
                for (_, schedule) in schedules {
                    _ = SlotDecider.decide(schedule, lastSlot: last, now: now, runInProgress: false, queuedSlot: nil)
                }
            }))
}

print(
    "schedules: \(workflowCount) (\(workflowCount / kinds.count) of each kind), rounds: \(rounds), slots per round: \(slotCount)"
)
print("")
print(pad("measure", 44) + "     min   median      max  (ms per round)")
print(pad("next 5 slots, all schedules", 44) + ms(totals.min()!) + " " + ms(median(totals)) + " " + ms(totals.max()!))
for kind in kinds {
    let values = perKind[kind] ?? [0]
    print(pad("  of which \(kind)", 44) + ms(values.min()!) + " " + ms(median(values)) + " " + ms(values.max()!))
}
var onTimeTimes: [Double] = []
for round in 0..<rounds {
    let instant = start.addingTimeInterval(Double(round) * 86_400)
    // Each schedule decided at its own next slot, two seconds late, as the daemon does on waking.
    let wakes = schedules.map { ScheduleCalculator.nextFireTimes($0.schedule, after: instant, count: 2) }
    onTimeTimes.append(
        milliseconds(
            clock.measure {
                for ((_, schedule), fires) in zip(schedules, wakes) where fires.count == 2 {
                    _ = SlotDecider.decide(
                        schedule, lastSlot: fires[0].instant, now: fires[1].instant.addingTimeInterval(2),
                        runInProgress: false, queuedSlot: nil)
                }
            }))
}

print(
    pad("SlotDecider.decide at the next slot, all", 44) + ms(onTimeTimes.min()!) + " " + ms(median(onTimeTimes))
        + " " + ms(onTimeTimes.max()!))
print(
    pad("SlotDecider.decide after 3 days down, all", 44) + ms(decideTimes.min()!) + " " + ms(median(decideTimes))
        + " " + ms(decideTimes.max()!))
