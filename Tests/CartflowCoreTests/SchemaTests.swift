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
        ]
        for text in bad {
            var errors: [String] = []
            SchemaValidator(root: schema).validate(
                jsonValue(try YAMLParser.parse(text)), against: schema, at: "", errors: &errors)
            #expect(!errors.isEmpty, "\(text)")
            #expect(!WorkflowLoader.load(text: text, path: "x.yaml", environment: ["MULTICART_API_KEY": "k"]).isValid)
        }
    }
}

/// A node as an editor's YAML 1.2 (core schema) reading sees it: plain `true`, `12`, `null` become typed values.
func jsonValue(_ node: Node) -> Any {
    switch node.kind {
    case .scalar(let scalar):
        guard scalar.style == .plain else { return scalar.text }
        if scalar.isNull { return NSNull() }
        if scalar.text == "true" || scalar.text == "false" { return scalar.text == "true" }
        if let number = Int(scalar.text), !scalar.text.hasPrefix("+") { return number }
        return scalar.text
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
        if let number = value as? Int {
            if let minimum = schema["minimum"] as? Int, number < minimum { errors.append("\(path): below minimum") }
            if let maximum = schema["maximum"] as? Int, number > maximum { errors.append("\(path): above maximum") }
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
        case "integer": return Swift.type(of: value) == Int.self
        case "boolean": return Swift.type(of: value) == Bool.self
        default: return false
        }
    }

    /// Instance values are native Swift values; schema values come from JSONSerialization, where numbers and
    /// booleans are both NSNumber, so booleans are compared by native type first.
    static func equal(_ a: Any, _ b: Any) -> Bool {
        let aIsBool = type(of: a) == Bool.self
        let bIsBool = type(of: b) == Bool.self
        if aIsBool || bIsBool { return aIsBool && bIsBool && (a as? Bool) == (b as? Bool) }
        if let b = b as? String { return (a as? String) == b }
        if let b = b as? Int {
            if let a = a as? NSNumber { return a.intValue == b && "\(a)" == "\(b)" }
            return (a as? Int) == b
        }
        return false
    }
}
