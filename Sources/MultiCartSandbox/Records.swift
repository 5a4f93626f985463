import Foundation

/// A small, fast PRNG (SplitMix64): every record and fault decision is a pure function of the seed and a few ids.
struct SplitMix64 {
    private var state: UInt64

    init(_ parts: UInt64...) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for part in parts { state = SplitMix64.mix(state ^ part &+ 0x632B_E59B_D9B4_E019) }
        self.state = state
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state = SplitMix64.mix(state)
        return state
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// A number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
}

/// Generates the content of result pages: realistic product records with awkward values, deterministic from
/// (seed, collection, runner, item index). Records are written as JSON text directly, so numbers keep the exact
/// source text the sandbox chose (`1299.00`, `0.30000000000000004`, `1e21`).
struct RecordGenerator: Sendable {
    let seed: UInt64

    /// About 4% of items fail, independently per runner.
    func isFailed(collection: Int, runner: Int, index: Int) -> Bool {
        var rng = SplitMix64(seed, 0xFA11, UInt64(collection), UInt64(runner), UInt64(index))
        return rng.below(100) < 4
    }

    /// The item's ASIN: the same for every runner of the collection.
    func asin(collection: Int, index: Int) -> String {
        var rng = SplitMix64(seed, 0xA514, UInt64(collection), UInt64(index))
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var text = "B0"
        for _ in 0..<8 { text.append(alphabet[rng.below(alphabet.count)]) }
        return text
    }

    func customID(collection: Int, index: Int) -> String {
        let number = String(index + 1)
        return "SKU-\(collection)-" + String(repeating: "0", count: max(0, 5 - number.count)) + number
    }

    /// Items of the runner that produced a result (`total_exacted_result`).
    func successCount(collection: Int, runner: Int, items: Int) -> Int {
        (0..<items).reduce(0) { $0 + (isFailed(collection: collection, runner: runner, index: $1) ? 0 : 1) }
    }

    /// Page `page` (1-based) as a top-level JSON array, one record per line.
    func page(collection: Int, runner: Int, page: Int, items: Int, pageSize: Int) -> Data {
        let start = (page - 1) * pageSize
        let end = min(items, start + pageSize)
        var text = "[\n"
        text.reserveCapacity(max(0, end - start) * 900)
        for index in start..<max(start, end) {
            if index > start { text += ",\n" }
            appendRecord(collection: collection, runner: runner, index: index, to: &text)
        }
        text += "\n]\n"
        return Data(text.utf8)
    }

    static func pageCount(items: Int, pageSize: Int) -> Int { (items + pageSize - 1) / pageSize }

    // MARK: - One record

    private static let brands = [
        "Lenovo", "ASUS", "Acer", "HP", "Dell", "Apple", "Microsoft", "Samsung", "LG", "MSI", "Razer",
        "小米 Xiaomi", "Huawei", "Gigabyte",
    ]
    private static let models = [
        "ThinkPad X1 Carbon Gen 11", "Vivobook 15", "Aspire 5", "Pavilion Plus 14", "XPS 13", "MacBook Air 13\"",
        "Surface Laptop 5", "Galaxy Book3", "gram 16", "Modern 14", "Blade 14", "RedmiBook Pro 15", "MateBook D 16",
        "AERO 16 OLED",
    ]
    private static let specs = [
        "15.6\" FHD", "16GB RAM, 512GB SSD", "Intel Core i7-1355U", "Windows 11 Home", "AMD Ryzen 7 7730U",
        "14\" 2.8K OLED", "8GB/256GB", "Backlit Keyboard", "32GB RAM, 1TB SSD",
    ]
    private static let flourishes = [
        "", "", "", "", " 🔥 Deal", " (Renewed)", " 笔记本电脑", " — Silver", ", Black", "\nFree delivery",
    ]
    private static let availability = [
        "In Stock", "In Stock", "In Stock", "Only 3 left in stock — order soon.", "Out of Stock",
        "Usually dispatched within 2 to 3 days", "Temporarily out of stock.",
    ]
    private static let sellers = [
        "Amazon AU", "Amazon AU", "TechWorld, Pty Ltd", "Müller & Söhne GmbH", "\"Best\" Deals Online", "電脑之家",
        "Laptop Outlet 🇦🇺",
    ]
    private static let errors = [
        "Product page not found (404)", "Captcha challenge — retry later", "Timed out after 30s",
        "Blocked by region, \"AU\" only",
    ]

    /// 2026-06-20T12:00:00Z: records carry scrape times derived from it, never the wall clock.
    private static let epoch: Int = 1_781_956_800

    private func appendRecord(collection: Int, runner: Int, index: Int, to out: inout String) {
        let asin = asin(collection: collection, index: index)
        let customID = customID(collection: collection, index: index)
        let scrapedAt = Self.timestamp(Self.epoch + runner * 600 + index)
        if isFailed(collection: collection, runner: runner, index: index) {
            var rng = SplitMix64(seed, 0xE770, UInt64(collection), UInt64(runner), UInt64(index))
            out += "{\"asin\":"
            JSONText.appendString(asin, to: &out)
            out += ",\"custom_id\":"
            JSONText.appendString(customID, to: &out)
            out += ",\"status\":\"failed\",\"error\":"
            JSONText.appendString(rng.pick(Self.errors), to: &out)
            out += ",\"scraped_at\":\"\(scrapedAt)\"}"
            return
        }
        // The item's identity (brand, model) is stable per collection; prices and stock vary per runner.
        var item = SplitMix64(seed, 0x17E4, UInt64(collection), UInt64(index))
        var rng = SplitMix64(seed, 0x2EC0, UInt64(collection), UInt64(runner), UInt64(index))
        let brand = item.pick(Self.brands)
        let model = item.pick(Self.models)
        let specA = item.pick(Self.specs)
        let specB = item.pick(Self.specs)
        var title = "\(brand) \(model) — \(specA), \(specB)\(item.pick(Self.flourishes))"
        if index % 50 == 7 { title = "=HYPERLINK(\"http://x.example\",\"Deal\") \(brand) \(model)" }
        if index % 50 == 21 { title = "-15% \(brand) \(model), \(specA)" }

        let cents = 29_900 + rng.below(370_000)
        let amount: String
        if index % 250 == 123 {
            amount = "1e21"
        } else if index % 60 == 11 {
            amount = "0.30000000000000004"
        } else {
            amount = "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
        }
        let sellerName = rng.pick(Self.sellers)
        let isPrime = rng.below(3) != 0

        out += "{\"asin\":"
        JSONText.appendString(asin, to: &out)
        out += ",\"custom_id\":"
        JSONText.appendString(customID, to: &out)
        out += ",\"status\":\"success\",\"title\":"
        JSONText.appendString(title, to: &out)
        out += ",\"brand\":"
        JSONText.appendString(brand, to: &out)
        out += ",\"price\":{\"amount\":\(amount),\"currency\":\"AUD\"}"
        out += ",\"availability\":"
        JSONText.appendString(rng.pick(Self.availability), to: &out)
        if index % 13 != 5 {
            let tenths = 30 + rng.below(21)
            out += ",\"rating\":\(tenths / 10).\(tenths % 10),\"review_count\":\(rng.below(25_000))"
        }
        if index % 17 != 9 {
            out += ",\"seller\":{\"name\":"
            JSONText.appendString(sellerName, to: &out)
            out += ",\"id\":\"A\(String(rng.next() % 1_000_000_000_000, radix: 36).uppercased())\""
            out += ",\"positive_feedback_percent\":\(80 + rng.below(21))}"
        }
        out += ",\"images\":["
        for image in 0..<(1 + index % 3) {
            if image > 0 { out += "," }
            out += "\"https://images.example/I/\(asin)-\(image + 1).jpg\""
        }
        out += "],\"buy_box\":{\"price\":{\"amount\":\(amount),\"currency\":\"AUD\"},\"seller\":"
        JSONText.appendString(sellerName, to: &out)
        out += ",\"is_prime\":\(isPrime),\"condition\":\"New\"}"
        out += ",\"description\":"
        JSONText.appendString(
            "\(brand) \(model).\nKey features: \(specA); \(specB).\n\"Ships from Australia\"", to: &out)
        if index % 19 == 4 { out += ",\"coupon\":{\"percent\":10,\"code\":\"SAVE10\"}" }
        if index % 23 == 6 { out += ",\"variant\":\"Silver / 16GB\"" }
        out += ",\"scraped_at\":\"\(scrapedAt)\"}"
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time, without a formatter (this runs 200,000 times in the benchmark).
    static func timestamp(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// Writes JSON text by hand where the sandbox needs exact control over key order and number text.
enum JSONText {
    static func appendString(_ value: String, to out: inout String) {
        out += "\""
        var needsEscape = false
        for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape {
            out += value
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    static func string(_ value: String) -> String {
        var out = ""
        appendString(value, to: &out)
        return out
    }
}
