/// Renders a `Plan` as the versioned JSON document of `cartflow plan --json` (`format_version: 1`): keys in a
/// fixed order, two-space indentation, no secret. docs/plan.md lists every field.
public enum PlanJSONRenderer {
    /// The document format; bumped only when a field changes meaning or disappears (new fields do not bump it).
    public static let formatVersion = 1

    public static func render(_ plan: Plan) -> String {
        pretty(document(plan)) + "\n"
    }

    /// Several plans (or failures) in one document, for `cartflow plan --json FILE FILE...`.
    public static func render(many entries: [JSONValue]) -> String {
        pretty(.object(JSONObject(["format_version": .number(String(formatVersion)), "plans": .array(entries)]))) + "\n"
    }

    /// The document of one plan.
    public static func document(_ plan: Plan) -> JSONValue {
        let credits = plan.credits
        return object([
            ("format_version", int(formatVersion)),
            ("workflow", .string(plan.workflow)),
            ("file", .string(plan.file)),
            ("description", string(plan.description)),
            ("planned_at", .string(plan.plannedAt)),
            ("mode", .string(modeName(plan.mode))),
            ("api_base_url", apiURL(plan.mode)),
            (
                "verdict",
                object([
                    ("outcome", .string(plan.verdict.outcome.rawValue)),
                    ("checked", .bool(plan.verdict.checked)),
                    ("summary", .string(plan.verdict.summary)),
                    ("reasons", .array(plan.verdict.reasons.map { .string($0) })),
                ])
            ),
            (
                "steps",
                .array(
                    plan.graph.nodes.map { node in
                        object([
                            ("id", .string(node.id)),
                            ("kind", .string(node.kind.rawValue)),
                            ("stage", int(node.stage)),
                            ("collection", string(node.collection)),
                            ("reads", .array(node.reads.map { .string($0) })),
                            ("label", .string(node.label)),
                            ("after", .array(node.after.map { .string($0) })),
                        ])
                    })
            ),
            (
                "stages",
                .array(
                    plan.graph.stages.map { stage in
                        object([
                            ("stage", int(stage.number)),
                            ("mode", .string(stage.mode.rawValue)),
                            ("steps", .array(stage.nodes.map { .string($0) })),
                        ])
                    })
            ),
            (
                "credits",
                object([
                    ("spendable", fact(credits.spendable)),
                    ("available", optionalInt(credits.available)),
                    ("used", optionalInt(credits.used)),
                    ("frozen", optionalInt(credits.frozen)),
                    // Past Int.max the total is no figure: null, as an unknown balance is.
                    ("total", credits.totalOverflows ? .null : int(credits.total)),
                    ("triggering", int(credits.triggering)),
                    ("unknown_items", .array(credits.unknownItems.map { .string($0) })),
                    ("balance_after", optionalInt(credits.balanceAfter)),
                    ("reserve", int(credits.reserve)),
                    ("max_spend", optionalInt(credits.maxSpend)),
                    ("on_insufficient", .string(credits.onInsufficient)),
                ])
            ),
            (
                "collections",
                .array(
                    plan.collections.map { collection in
                        object([
                            ("name", .string(collection.name)),
                            ("id", int(collection.id)),
                            ("items", fact(collection.items)),
                            ("triggered", .bool(collection.triggered)),
                            ("resume", string(collection.resume)),
                            (
                                "server",
                                object([
                                    ("source", .string(collection.server.source.rawValue)),
                                    ("newest_runner", optionalInt(collection.server.newestRunner)),
                                    ("processing", collection.server.processing.map { .bool($0) } ?? .null),
                                    ("ours", .bool(collection.server.ours)),
                                    ("text", .string(collection.server.text)),
                                ])
                            ),
                        ])
                    })
            ),
            (
                "state",
                object([
                    ("path", .string(plan.state.path)),
                    ("source", .string(plan.state.source.rawValue)),
                    ("text", .string(plan.state.text)),
                    ("resumes_run", optionalInt(plan.state.resumesRun)),
                    ("run_status", string(plan.state.runStatus)),
                    ("run_started_at", string(plan.state.runStartedAt)),
                ])
            ),
            (
                "outputs",
                .array(
                    plan.outputs.map { output in
                        object([
                            ("step", int(output.step)),
                            ("format", .string(output.format)),
                            ("template", .string(output.template)),
                            ("path", .string(output.path)),
                            ("collection", string(output.collection)),
                            ("reads", .array(output.reads.map { .string($0) })),
                            ("unresolved", .array(output.unresolved.map { .string($0) })),
                            ("notes", .array(output.notes.map { .string($0) })),
                        ])
                    })
            ),
            (
                "schedule",
                plan.schedule.map { schedule in
                    object([
                        ("rule", .string(schedule.rule)),
                        ("zone", .string(schedule.zone)),
                        ("catch_up", .string(schedule.catchUp)),
                        ("overlap", .string(schedule.overlap)),
                        (
                            "next",
                            .array(
                                schedule.next.map { fire in
                                    object([
                                        ("local", .string(fire.local)),
                                        ("utc", .string(fire.utc)),
                                        ("moved_by_daylight_saving", .bool(fire.movedByDaylightSaving)),
                                        ("note", string(fire.note)),
                                    ])
                                })
                        ),
                    ])
                } ?? .null
            ),
            ("notes", .array(plan.notes.map { .string($0) })),
        ])
    }

    static func modeName(_ mode: PlanFacts.Mode) -> String {
        switch mode {
        case .api: return "api"
        case .sandbox: return "sandbox"
        case .offline: return "offline"
        }
    }

    static func apiURL(_ mode: PlanFacts.Mode) -> JSONValue {
        if case .api(let url) = mode { return .string(APIConfig.displayed(url)) }
        return .null
    }

    static func fact(_ fact: Plan.Fact) -> JSONValue {
        object([
            ("value", optionalInt(fact.value)), ("source", .string(fact.source.rawValue)),
            ("origin", .string(fact.origin)),
        ])
    }

    static func object(_ members: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(members.map { JSONMember(key: $0.0, value: $0.1) }))
    }

    static func int(_ value: Int) -> JSONValue { .number(String(value)) }
    static func optionalInt(_ value: Int?) -> JSONValue { value.map(int) ?? .null }
    static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    /// Two-space indented JSON; empty arrays and objects stay on one line.
    public static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let items):
            if items.isEmpty { return "[]" }
            // A list of plain values (collection names, step ids) reads best on one line.
            if items.allSatisfy({ $0.arrayValue == nil && $0.objectValue == nil }) {
                return "[" + items.map { JSONSerializer.serialize($0) }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent
                + "]"
        case .object(let object):
            if object.members.isEmpty { return "{}" }
            return "{\n"
                + object.members.map {
                    inner + JSONSerializer.serialize(.string($0.key)) + ": " + pretty($0.value, indent: inner)
                }
                .joined(separator: ",\n") + "\n" + indent + "}"
        default:
            return JSONSerializer.serialize(value)
        }
    }
}
