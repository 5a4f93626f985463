import Foundation

/// Parsers for the typed scalars of workflow files, from the scalar's text only (no YAML 1.1 guessing).
/// Each failure carries a hint that tells the user what to write instead.
public enum ValueParsers {
    public struct Problem: Error, Sendable, Equatable {
        public var hint: String
        public init(_ hint: String) { self.hint = hint }
    }

    /// The common case of `integer`, on UTF-8 bytes: 1 to 18 digits without a leading zero (so it cannot overflow);
    /// nil for anything else, which `integer` then reads or explains.
    static func plainInteger<Bytes: Collection<UInt8>>(_ utf8: Bytes) -> Int? {
        guard let first = utf8.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"), utf8.count <= 18 else {
            return nil
        }
        var value = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// A decimal whole number: digits with an optional leading `-`; no `+`, `_`, exponent, fraction or leading zero.
    public static func integer(_ text: String) -> Result<Int, Problem> {
        if let value = plainInteger(text.utf8) { return .success(value) }
        let negative = text.hasPrefix("-")
        let digits = negative ? String(text.dropFirst()) : text
        guard !digits.isEmpty, digits.unicodeScalars.allSatisfy(\.isASCIIDigit) else {
            let cleaned = text.filter { $0 != "_" && $0 != "," }
            if cleaned != text, case .success(let value) = integer(cleaned) {
                return .failure(Problem("write \(value)"))
            }
            if let double = Double(text), double.rounded() == double, abs(double) < 1e15 {
                return .failure(Problem("write \(Int(double))"))
            }
            return .failure(Problem("write digits only, such as 10"))
        }
        if digits.count > 1, digits.hasPrefix("0") {
            let trimmed = String(digits.drop { $0 == "0" })
            let fixed = (negative ? "-" : "") + (trimmed.isEmpty ? "0" : trimmed)
            return .failure(
                Problem(
                    "numbers are decimal and a leading zero is not allowed (it would mean octal in YAML 1.1); write \(fixed)"
                ))
        }
        guard let value = Int(text) else { return .failure(Problem("the number is too large")) }
        return .success(value)
    }

    /// A duration: one or more of `<n>d`, `<n>h`, `<n>m`, `<n>s` in that order, such as `90s`, `15m`, `1h30m`;
    /// the numbers are decimal without a leading zero, as whole numbers are.
    public static func duration(_ text: String) -> Result<Seconds, Problem> {
        if text.hasPrefix("-") { return .failure(Problem("durations cannot be negative")) }
        if text.hasPrefix("+"), case .success = duration(String(text.dropFirst())) {
            return .failure(Problem("write \(text.dropFirst()) (without '+')"))
        }
        let units: [(Character, Int)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        var total = 0
        var number = ""
        var nextUnit = 0
        var sawUnit = false
        // The duration as it should be written, kept in case a number has a leading zero.
        var fixed = ""
        var leadingZero = false
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let position = units.firstIndex(where: { $0.0 == character }) else {
                if character == "." || character == "," {
                    return .failure(Problem("use whole units, such as 1h30m or 90s"))
                }
                return .failure(Problem("the units are d, h, m and s"))
            }
            guard !number.isEmpty else { return .failure(Problem("put a number before each unit, such as 15m")) }
            guard position >= nextUnit else {
                return .failure(Problem("write the units in the order d, h, m, s, each once"))
            }
            guard let count = Int(number), count <= 1_000_000 else {
                return .failure(Problem("the number is too large"))
            }
            total += count * units[position].1
            if number.count > 1, number.hasPrefix("0") { leadingZero = true }
            fixed += "\(count)\(character)"
            nextUnit = position + 1
            number = ""
            sawUnit = true
        }
        if !number.isEmpty {
            return .failure(
                Problem(
                    sawUnit ? "the last number has no unit" : "add a unit: write \(number)s, \(number)m or \(number)h"))
        }
        guard sawUnit else { return .failure(Problem("write a number and a unit, such as 15m")) }
        if leadingZero {
            return .failure(Problem("numbers are decimal and a leading zero is not allowed; write \(fixed)"))
        }
        guard total <= 366 * 86_400 else { return .failure(Problem("the longest duration accepted is 366d")) }
        return .success(Seconds(total))
    }

    /// A 24-hour clock time `HH:MM`; a one-digit hour (`8:00`) is accepted, minutes always take two digits.
    public static func clockTime(_ text: String) -> Result<ClockTime, Problem> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let isDigits = { (part: Substring) in !part.isEmpty && part.unicodeScalars.allSatisfy(\.isASCIIDigit) }
        if parts.count == 1 {
            let dotted = text.split(separator: ".", omittingEmptySubsequences: false)
            // Only `HH.MM` with two minute digits is a time written with a dot; `7.5` could be 07:05 or 07:30.
            if dotted.count == 2, dotted.allSatisfy(isDigits), dotted[0].count <= 2, dotted[1].count == 2,
                let hour = Int(dotted[0]), let minute = Int(dotted[1]),
                hour < 24, minute < 60
            {
                return .failure(Problem("write \(ClockTime(hour: hour, minute: minute)) (with a colon)"))
            }
            if isDigits(Substring(text)), let hour = Int(text), hour < 24 {
                return .failure(Problem("write \(ClockTime(hour: hour, minute: 0))"))
            }
            return .failure(Problem("write it like 08:00 or 18:30"))
        }
        if parts.count == 3, parts.allSatisfy(isDigits), let hour = Int(parts[0]), let minute = Int(parts[1]),
            hour < 24, minute < 60
        {
            return .failure(Problem("seconds are not used; write \(ClockTime(hour: hour, minute: minute))"))
        }
        guard parts.count == 2, isDigits(parts[0]), isDigits(parts[1]), parts[0].count <= 2, parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1])
        else {
            return .failure(Problem("write it like 08:00 or 18:30"))
        }
        guard hour < 24 else { return .failure(Problem("hours go from 00 to 23 (midnight is 00:00)")) }
        guard minute < 60 else { return .failure(Problem("minutes go from 00 to 59")) }
        return .success(ClockTime(hour: hour, minute: minute))
    }

    public static let fullDayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    /// A day name: `mon`…`sun` or `monday`…`sunday`, in any letter case.
    public static func weekday(_ text: String) -> Weekday? {
        let lower = text.lowercased()
        if let index = fullDayNames.firstIndex(of: lower) { return Weekday(rawValue: index + 1) }
        return Weekday.allCases.first { $0.description == lower }
    }

    /// A time zone: `UTC`, a fixed offset `UTC+10` / `UTC-03:30` / `UTC+5:45` (up to ±14:00), or an IANA name
    /// that Foundation knows. `Etc/GMT±N` and `GMT±N` are refused because their sign is inverted (POSIX).
    public static func zone(_ text: String) -> Result<ScheduleZone, Problem> {
        if text == "UTC" || text == "Z" { return .success(.utc) }
        if text.hasPrefix("UTC+") || text.hasPrefix("UTC-") {
            let sign = text.dropFirst(3).first == "-" ? -1 : 1
            let rest = text.dropFirst(4)
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            let isDigits = { (part: Substring) in !part.isEmpty && part.unicodeScalars.allSatisfy(\.isASCIIDigit) }
            guard (1...2).contains(parts.count), parts.allSatisfy(isDigits), parts[0].count <= 2,
                parts.count == 1 || parts[1].count == 2, let hours = Int(parts[0]),
                let minutes = parts.count == 2 ? Int(parts[1]) : 0
            else {
                return .failure(Problem("a fixed offset is written UTC+10, UTC-3 or UTC+05:30"))
            }
            guard minutes < 60 else { return .failure(Problem("minutes go from 00 to 59")) }
            guard hours * 60 + minutes <= 14 * 60 else {
                return .failure(Problem("offsets go from UTC-14:00 to UTC+14:00"))
            }
            return .success(.fixed(offsetSeconds: sign * (hours * 3600 + minutes * 60)))
        }
        for prefix in ["Etc/GMT+", "Etc/GMT-", "GMT+", "GMT-"] where text.hasPrefix(prefix) {
            let inverted = prefix.hasSuffix("+") ? "-" : "+"
            let number = text.dropFirst(prefix.count)
            if prefix.hasPrefix("Etc/") {
                return .failure(
                    Problem(
                        "'\(text)' means UTC\(inverted)\(number) (POSIX inverts the sign); write UTC\(inverted)\(number) for a fixed offset, or a city zone such as Australia/Sydney"
                    ))
            }
            // Without `Etc/` the sign is ambiguous: POSIX reads `GMT+10` as UTC−10, most people as UTC+10.
            return .failure(
                Problem(
                    "'\(text)' is ambiguous (as a POSIX zone it means UTC\(inverted)\(number)); write UTC\(prefix.last!)\(number) or UTC\(inverted)\(number) for a fixed offset"
                ))
        }
        // The calculator's own test (`knownZone`): a name it would not resolve must not get through.
        if text.contains("/") || text == "GMT", ScheduleCalculator.knownZone(named: text) != nil {
            return .success(.iana(text))
        }
        // An offset in another spelling (`utc+10`, `+10:00`, `UTC 10`): the fixed offset it means, when it is one.
        if let offset = offsetSpelling(text), case .success = zone(offset) {
            return .failure(Problem("write \(offset) for a fixed offset"))
        }
        if let match = knownZoneNames.first(where: { $0.lowercased() == text.lowercased() }) {
            return .failure(Problem("zone names are case-sensitive; write \(match)"))
        }
        if let suggestion = closestMatch(to: text, in: knownZoneNames) {
            return .failure(Problem("did you mean '\(suggestion)'?"))
        }
        return .failure(Problem("abbreviations such as AEST or EST are not zones; use a name such as America/New_York"))
    }

    /// `UTC±…` for text that writes an offset another way: `utc+10`, `Utc-3` (letter case), `+10:00`, `-03:30`
    /// (no `UTC`), `UTC 10`, `UTC10` (no sign: east). Nil for anything else.
    private static func offsetSpelling(_ text: String) -> String? {
        var rest = Substring(text)
        if rest.lowercased().hasPrefix("utc") {
            rest = rest.dropFirst(3).drop { $0 == " " }
        } else if !(rest.first == "+" || rest.first == "-") {
            return nil
        }
        guard let first = rest.first else { return nil }
        let sign = first == "-" ? "-" : "+"
        if first == "+" || first == "-" { rest = rest.dropFirst() }
        guard let digit = rest.first, digit.isASCII, digit.isNumber else { return nil }
        let candidate = "UTC\(sign)\(rest)"
        return candidate == text ? nil : candidate
    }

    private static let knownZoneNames: [String] = TimeZone.knownTimeZoneIdentifiers
}
