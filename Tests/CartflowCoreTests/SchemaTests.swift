import CartflowCore
import CartflowYAML
import Foundation
import Testing

/// Checks that docs/workflow.schema.json accepts the example workflows, with a small JSON Schema validator that
/// covers the keywords the schema uses (no package can be fetched here).
@Suite("JSON Schema")
struct SchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func schema() throws -> [String: Any] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("docs/workflow.schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func exampleFiles() -> [String] {
        var folders = [Self.root.appendingPathComponent("Tests/CartflowCoreTests/Fixtures").path]
        let workflows = Self.root.appendingPathComponent("workflows").path
        if FileManager.default.fileExists(atPath: workflows) { folders.append(workflows) }
        return WorkflowLoader.workflowFiles(in: folders).files
    }

    @Test func everyExampleMatchesTheSchemaAndCartflow() throws {
        let schema = try schema()
        let files = exampleFiles()
        #expect(files.count >= 2)
        for file in files {
            let node = try YAMLParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            var errors: [String] = []
            SchemaValidator(root: schema).validate(jsonValue(node), against: schema, at: "", errors: &errors)
            #expect(errors == [], "\(file)")
            #expect(WorkflowLoader.load(path: file, environment: ["MULTICART_API_KEY": "k"]).isValid, "\(file)")
        }
    }

    func schemaErrors(_ text: String, _ schema: [String: Any]) throws -> [String] {
        var errors: [String] = []
        SchemaValidator(root: schema).validate(
            jsonValue(try YAMLParser.parse(text)), against: schema, at: "", errors: &errors)
        return errors
    }

    /// Files cartflow accepts, read as an editor reads them (quoted numbers are text, `2024` is a number): the
    /// schema must never be stricter than cartflow.
    @Test func theSchemaAcceptsWhatCartflowAccepts() throws {
        let schema = try schema()
        let environment = [
            "MULTICART_API_KEY": "k", "V": "1", "ID": "101", "CONC": "4", "X": "true", "T": "1h", "MAX": "10",
            "MODE": "fail", "EVERY": "daily", "TZ": "UTC", "DAY": "sun", "AT": "08:00", "FMT": "csv",
        ]
        let head = "cartflow: 1\ncollections: { a: { id: 1 } }\n"
        let accepted = [
            "cartflow: \"1\"\ncollections: { a: { id: \"101\", items: '250', title: true } }\n",
            "cartflow: ${V}\ncollections:\n  a: { id: \"${ID}\" }\n  \"101\": { id: 2 }\n",
            head + "fetch: { concurrency: \"${CONC}\", from: \"${SRC:-pages}\" }\n",
            head + "steps:\n  - export: ${FMT}\n    path: x.csv\n    bom: ${X}\n    formula_guard: \"false\"\n"
                + "    include_failed: 'true'\n    provenance: runner\n",
            head + "credits:\n  reserve: \"0\"\n  max_spend: \"${MAX}\"\n  on_insufficient: ${MODE}\n",
            head + "poll:\n  interval: \"15s\"\n  timeout: ${T}\n  max_interval: 0h2m\n",
            head + "api: { allow_download_hosts: files.example.com }\n",
            head + "api: { allow_download_hosts: [] }\n",
            head + "schedule: { every: weekly, at: \"08:00\", days: [MoN, TUESDAY, wEd, \"${DAY}\"] }\n",
            head + "schedule: { every: daily, at: 8:30, days: Fri, timezone: \"${TZ}\" }\n",
            head + "schedule: { every: 15m, at: [\"08:00 - 18:00\", \" 20:00-22:00 \"] }\n",
            head + "schedule: { every: \"${EVERY}\", at: \"${AT}\" }\n",
            head + "schedule: { every: monthly, at: \"08:00\", day_of_month: \"15\" }\n",
            head + "steps: [{ export: csv, path: \"out/{run}/{workflow}-{date}.csv\" }]\n",
            head + "steps: [{ export: csv, path: \"${DIR:-out}/{run}.csv\" }, { export: json, path: 2024 }]\n",
            "cartflow: 1\nname: 2024\ndescription: 123\ncollections: { \"101\": { id: 1 } }\n"
                + "steps: [{ export: csv, path: x.csv, from: 101, columns: [123, { x: 5 }], records_key: 0755 }]\n",
        ]
        for text in accepted {
            let result = WorkflowLoader.load(text: text, path: "x.yaml", environment: environment)
            #expect(result.isValid, "cartflow refuses \(text): \(result.diagnostics.map(\.message))")
            #expect(try schemaErrors(text, schema) == [], "\(text)")
        }
    }

    @Test func theSchemaRejectsWhatCartflowRejects() throws {
        let schema = try schema()
        let bad = [
            "cartflow: 1\ncollections: { a: { id: 0 } }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\npoll: { intervall: 15s }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\napi: { key: sk-literal }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nschedule: { every: daily, at: 25:00 }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nschedule: { every: 1h, timezone: Etc/GMT+10 }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps: [{ export: csv, path: \"out/{name}.csv\" }]\n",
            "cartflow: 2\ncollections: { a: { id: 1 } }\n",
            "cartflow: \"2\"\ncollections: { a: { id: 1 } }\n",
            "cartflow: 1\ncollections: { a: { id: \"0\" } }\n",
            "cartflow: 1\ncollections: { a: { id: \"010\" } }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nfetch: { concurrency: \"33\" }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps: [{ export: csv, path: x.csv, bom: \"yes\" }]\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps: [{ export: csv, path: x.csv, provenance: runnr }]\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps: [{ export: csv, path: x.csv, provenance: [] }]\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nsteps: [{ export: csv, path: \"out/{nme}.csv\" }]\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nschedule: { every: weekly, at: \"08:00\", days: [mond] }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\nschedule: { every: 1h, at: \"08:00 - 25:00\" }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\npoll: { interval: 00010s }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\npoll: { interval: -5s }\n",
            "cartflow: 1\ncollections: { a: { id: 1 } }\npoll: { interval: 15 }\n",
            "cartflow: 1\ncollections: { a: { id: 1, title: ~ } }\n",
        ]
        for text in bad {
            #expect(try !schemaErrors(text, schema).isEmpty, "\(text)")
            #expect(!WorkflowLoader.load(text: text, path: "x.yaml", environment: ["MULTICART_API_KEY": "k"]).isValid)
        }
    }
}

/// A node as an editor's YAML 1.2 reader (core schema) sees it: plain `true`, `12`, `0x1F`, `1.5`, `null` become
/// typed values; quoted scalars stay text.
func jsonValue(_ node: Node) -> Any {
    switch node.kind {
    case .scalar(let scalar):
        guard scalar.style == .plain else { return scalar.text }
        let text = scalar.text
        if scalar.isNull { return NSNull() }
        if ["true", "True", "TRUE"].contains(text) { return true }
        if ["false", "False", "FALSE"].contains(text) { return false }
        if text.wholeMatch(of: /[-+]?[0-9]+/) != nil, let number = Int(text) { return number }
        if text.wholeMatch(of: /0o[0-7]+/) != nil, let number = Int(text.dropFirst(2), radix: 8) { return number }
        if text.wholeMatch(of: /0x[0-9a-fA-F]+/) != nil, let number = Int(text.dropFirst(2), radix: 16) {
            return number
        }
        if text.wholeMatch(of: /[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/) != nil, let number = Double(text)
        {
            return number
        }
        if text.wholeMatch(of: /[-+]?\.(inf|Inf|INF)/) != nil {
            return text.hasPrefix("-") ? -Double.infinity : .infinity
        }
        if text.wholeMatch(of: /\.(nan|NaN|NAN)/) != nil { return Double.nan }
        return text
    case .sequence(let items): return items.map(jsonValue)
    case .mapping(let pairs):
        var object: [String: Any] = [:]
        for pair in pairs { object[pair.key.scalar?.text ?? ""] = jsonValue(pair.value) }
        return object
    }
}

/// The subset of JSON Schema 2020-12 that docs/workflow.schema.json uses.
struct SchemaValidator {
    let root: [String: Any]

    func validate(_ value: Any, against schema: [String: Any], at path: String, errors: inout [String]) {
        if let reference = schema["$ref"] as? String {
            let name = String(reference.dropFirst("#/$defs/".count))
            if let target = (root["$defs"] as? [String: Any])?[name] as? [String: Any] {
                validate(value, against: target, at: path, errors: &errors)
            } else {
                errors.append("\(path): unknown $ref \(reference)")
            }
        }
        if let type = schema["type"] as? String, !Self.matches(value, type: type) {
            errors.append("\(path): not \(type)")
            return
        }
        if let types = schema["type"] as? [String], !types.contains(where: { Self.matches(value, type: $0) }) {
            errors.append("\(path): not \(types.joined(separator: " or "))")
            return
        }
        if let constant = schema["const"], !Self.equal(constant, value) { errors.append("\(path): not const") }
        if let options = schema["enum"] as? [Any], !options.contains(where: { Self.equal($0, value) }) {
            errors.append("\(path): not in enum")
        }
        if let anyOf = schema["anyOf"] as? [[String: Any]] {
            let ok = anyOf.contains { option in
                var sub: [String] = []
                validate(value, against: option, at: path, errors: &sub)
                return sub.isEmpty
            }
            if !ok { errors.append("\(path): matches no anyOf option") }
        }
        if let not = schema["not"] as? [String: Any] {
            var sub: [String] = []
            validate(value, against: not, at: path, errors: &sub)
            if sub.isEmpty { errors.append("\(path): matches 'not'") }
        }
        if let text = value as? String, let pattern = schema["pattern"] as? String {
            let regex = try? NSRegularExpression(pattern: pattern)
            if regex?.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                errors.append("\(path): '\(text)' does not match \(pattern)")
            }
        }
        if let number = Self.number(value) {
            if let minimum = schema["minimum"] as? Int, number < Double(minimum) {
                errors.append("\(path): below minimum")
            }
            if let maximum = schema["maximum"] as? Int, number > Double(maximum) {
                errors.append("\(path): above maximum")
            }
        }
        if let items = value as? [Any] {
            if let minimum = schema["minItems"] as? Int, items.count < minimum {
                errors.append("\(path): too few items")
            }
            if schema["uniqueItems"] as? Bool == true {
                for (index, item) in items.enumerated() where items[..<index].contains(where: { Self.equal($0, item) })
                {
                    errors.append("\(path)[\(index)]: duplicate item")
                }
            }
            if let itemSchema = schema["items"] as? [String: Any] {
                for (index, item) in items.enumerated() {
                    validate(item, against: itemSchema, at: "\(path)[\(index)]", errors: &errors)
                }
            }
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                errors.append("\(path): missing \(key)")
            }
            if let minimum = schema["minProperties"] as? Int, object.count < minimum {
                errors.append("\(path): too few keys")
            }
            if let maximum = schema["maxProperties"] as? Int, object.count > maximum {
                errors.append("\(path): too many keys")
            }
            for (key, child) in object.sorted(by: { $0.key < $1.key }) {
                if let names = schema["propertyNames"] as? [String: Any] {
                    validate(key, against: names, at: "\(path).\(key) (name)", errors: &errors)
                }
                if let propertySchema = properties[key] {
                    validate(child, against: propertySchema, at: "\(path).\(key)", errors: &errors)
                } else if schema["additionalProperties"] as? Bool == false {
                    errors.append("\(path): unexpected key \(key)")
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    validate(child, against: additional, at: "\(path).\(key)", errors: &errors)
                }
            }
        }
    }

    static func matches(_ value: Any, type: String) -> Bool {
        switch type {
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        // JSON Schema: an integer is any number with no fractional part (1.0 included).
        case "integer": return number(value).map { $0.rounded() == $0 } ?? false
        case "number": return number(value) != nil
        case "boolean": return Swift.type(of: value) == Bool.self
        default: return false
        }
    }

    /// The value as a number when it is an instance's number (never a boolean).
    static func number(_ value: Any) -> Double? {
        if Swift.type(of: value) == Int.self { return Double(value as! Int) }
        if Swift.type(of: value) == Double.self { return value as? Double }
        return nil
    }

    /// Instance values are native Swift values; schema values come from JSONSerialization, where numbers and
    /// booleans are both NSNumber, so booleans are compared by native type first (the schema's enums hold no
    /// booleans) and numbers by value, so that 1 and 1.0 are equal as JSON says.
    static func equal(_ a: Any, _ b: Any) -> Bool {
        let aIsBool = type(of: a) == Bool.self
        let bIsBool = type(of: b) == Bool.self
        if aIsBool || bIsBool { return aIsBool && bIsBool && (a as? Bool) == (b as? Bool) }
        if a is String || b is String { return (a as? String) == (b as? String) }
        guard let x = number(a) ?? (a as? NSNumber)?.doubleValue, let y = number(b) ?? (b as? NSNumber)?.doubleValue
        else { return false }
        return x == y
    }
}
