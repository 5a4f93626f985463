import Foundation

/// One moment a schedule fires: the UTC instant the daemon compares and stores, the wall-clock time people read,
/// and why the slot moved when daylight saving or a short month got in the way.
public struct FireTime: Sendable, Hashable, CustomStringConvertible {
    /// Why a fire time differs from the plain reading of the schedule.
    public enum Adjustment: Sendable, Hashable {
        /// The scheduled wall-clock time did not exist that day (clocks went forward); the slot fires once, at
        /// the first instant after the gap.
        case skippedForward(scheduled: ClockTime)
        /// The scheduled wall-clock time happened twice (clocks went back); the slot fires once, at the first
        /// occurrence. `secondOccurrence` is the instant that does not fire.
        case repeatedTime(scheduled: ClockTime, secondOccurrence: Date)
        /// The day of the month does not exist in this month; the slot fires on the month's last day.
        case clampedToMonthEnd(requestedDay: Int)
    }

    /// The instant, independent of any zone (what the state database stores, in UTC).
    public var instant: Date
    /// The wall-clock time in the schedule's zone at `instant`.
    public var local: LocalDateTime
    /// Empty for the ordinary case.
    public var adjustments: [Adjustment]
    /// The zone's name as written (`America/New_York`, `UTC+10`), for explanations.
    public var zoneName: String

    public init(instant: Date, local: LocalDateTime, adjustments: [Adjustment] = [], zoneName: String) {
        self.instant = instant
        self.local = local
        self.adjustments = adjustments
        self.zoneName = zoneName
    }

    /// Whether a daylight-saving change moved this slot (its wall-clock time did not exist that day). A time
    /// that happens twice is not moved — it runs at its first occurrence — and is explained by `explanation`.
    public var movedByDaylightSaving: Bool {
        adjustments.contains {
            if case .skippedForward = $0 { return true }
            return false
        }
    }

    /// One sentence per adjustment, for `cartflow plan` and the daemon's log; `nil` when nothing moved.
    public var explanation: String? {
        if adjustments.isEmpty { return nil }
        return adjustments.map { adjustment -> String in
            switch adjustment {
            case .skippedForward(let scheduled):
                return "\(scheduled) does not exist on \(local.dateText) in \(zoneName) (clocks go forward); "
                    + "runs once right after the gap, at \(local.clockTime)"
            case .repeatedTime(let scheduled, _):
                return "\(scheduled) happens twice on \(local.dateText) in \(zoneName) (clocks go back); "
                    + "runs once, at the first one (\(offsetText(local.utcOffsetSeconds)))"
            case .clampedToMonthEnd(let requested):
                return "\(monthNames[local.month - 1]) \(local.year) has no day \(requested); "
                    + "runs on the last day, the \(local.day)th"
            }
        }.joined(separator: "; ")
    }

    /// The UTC instant as text, `2024-03-10T07:00:00Z`.
    public var utcText: String { CartflowCore.utcText(unixSeconds) }

    var unixSeconds: Int { Int(instant.timeIntervalSince1970.rounded(.down)) }

    /// `2024-03-10 03:00 -04:00 (2024-03-10T07:00:00Z)`, plus the explanation when something moved.
    public var description: String {
        let base = "\(local) (\(utcText))"
        guard let explanation else { return base }
        return base + ": " + explanation
    }
}
