/// Renders a `Plan` as text for a terminal or a CI log: stable line for line (golden-tested), no colour, no
/// secret. docs/plan.md explains every line.
public enum PlanTextRenderer {
    public static func render(_ plan: Plan) -> String {
        var lines: [String] = []
        lines.append("plan: \(plan.workflow) (\(plan.file))")
        if let description = plan.description { lines.append("  \(description)") }
        lines.append("  as of \(plan.plannedAt); " + modeText(plan.mode))
        lines.append(
            "  labels: checked = asked just now (API or state database) · assumed = taken on trust · "
                + "workflow = a rule in the file")
        lines.append("")
        lines.append("verdict: \(plan.verdict.summary)")

        lines.append("")
        lines.append("steps, in execution order:")
        for stage in plan.graph.stages {
            lines.append("  stage \(stage.number): " + GraphRenderer.stageTitle(stage.mode))
            for line in GraphRenderer.stageLines(plan.graph, stage) { lines.append("    " + line) }
        }

        lines.append("")
        lines.append("credits:")
        lines += creditRows(plan).map { "  " + $0 }

        lines.append("")
        lines.append("already going on:")
        lines.append("  state database \(plan.state.path) (\(plan.state.source.rawValue)): \(plan.state.text)")
        for collection in plan.collections {
            if let resume = collection.resume { lines.append("    \(collection.name): \(resume)") }
        }
        for collection in plan.collections {
            lines.append(
                "  server, \(collection.name) (\(collection.id)): \(collection.server.text) (\(collection.server.source.rawValue))"
            )
        }

        lines.append("")
        if plan.outputs.isEmpty {
            lines.append("outputs: none (the workflow has no steps)")
        } else {
            lines.append("outputs (relative paths are from the directory cartflow runs in):")
            let formatWidth = plan.outputs.map(\.format.count).max() ?? 0
            for (index, output) in plan.outputs.enumerated() {
                var line = "  step \(output.step)  \(pad(output.format, formatWidth))  \(output.path)"
                if let collection = output.collection { line += "  (\(collection))" }
                lines.append(line)
                // A one-file-per-collection step has the same notes for each file: say them once, after the last.
                let last = index + 1 == plan.outputs.count || plan.outputs[index + 1].step != output.step
                guard last else { continue }
                let indent = "  " + String(repeating: " ", count: "step \(output.step)  ".count + formatWidth + 2)
                for note in output.notes { lines.append(indent + note) }
            }
        }

        lines.append("")
        if let schedule = plan.schedule {
            lines.append(
                "schedule: \(schedule.rule), in \(schedule.zone) (catch_up: \(schedule.catchUp), overlap: \(schedule.overlap))"
            )
            // A UTC schedule's local time is the UTC time: one zone to name, not the same one twice.
            let zones = schedule.zone == "UTC" ? "UTC" : "\(schedule.zone) and in UTC"
            lines.append("  next \(schedule.next.count) fire times, in \(zones):")
            let width = schedule.next.map(\.local.count).max() ?? 0
            for fire in schedule.next {
                var line = "    \(pad(fire.local, width))  \(fire.utc)"
                if fire.movedByDaylightSaving { line += "  moved by daylight saving" }
                lines.append(line)
                if let note = fire.note { lines.append("      " + note) }
            }
        } else {
            lines.append("schedule: none (manual only: `cartflow run`)")
        }

        if !plan.notes.isEmpty {
            lines.append("")
            lines.append("notes:")
            for note in plan.notes { lines.append("  ! " + note) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func modeText(_ mode: PlanFacts.Mode) -> String {
        switch mode {
        case .api(let baseURL):
            return "facts from the MultiCart API at \(APIConfig.displayed(baseURL)) (read-only calls)"
        case .sandbox: return "facts from the embedded sandbox (--sandbox, read-only calls)"
        case .offline: return "offline: nothing was asked of the API; item counts are the workflow's items: hints"
        }
    }

    /// The credit table: label, number, source, origin.
    static func creditRows(_ plan: Plan) -> [String] {
        let credits = plan.credits
        func number(_ value: Int?) -> String { value.map(String.init) ?? "?" }
        var rows: [[String]] = []
        var spendableOrigin = credits.spendable.origin
        if let available = credits.available, let used = credits.used, let frozen = credits.frozen {
            spendableOrigin += " = \(available) − (\(used) + \(frozen))"
        }
        rows.append(["spendable", number(credits.spendable.value), credits.spendable.source.rawValue, spendableOrigin])
        for collection in plan.collections {
            rows.append([
                collection.name, number(collection.items.value), collection.items.source.rawValue,
                collection.items.origin + (collection.triggered ? "" : " (not triggered again: not counted)"),
            ])
        }
        var totalOrigin =
            "one credit per item of the \(credits.triggering) collection\(credits.triggering == 1 ? "" : "s") "
            + "that would be triggered"
        if !credits.unknownItems.isEmpty {
            totalOrigin += ", plus the unknown count of \(credits.unknownItems.joined(separator: ", "))"
        }
        if credits.totalOverflows {
            rows.append(["total", "> \(Int.max)", "", totalOrigin + "; more than a number holds"])
            rows.append(["balance after", "-", "", "no balance covers the total"])
        } else {
            rows.append(["total", String(credits.total), "", totalOrigin])
            rows.append([
                "balance after", number(credits.balanceAfter), credits.balanceAfter == nil ? "unknown" : "",
                credits.balanceAfter == nil ? "needs the balance" : "spendable − total",
            ])
        }
        rows.append([
            "reserve", String(credits.reserve), "workflow", "credits.reserve: keep at least this many after the run",
        ])
        rows.append([
            "max_spend", credits.maxSpend.map(String.init) ?? "none", "workflow",
            "credits.max_spend: never spend more in one run",
        ])
        rows.append([
            "on_insufficient", "", "workflow", "\(credits.onInsufficient): what run does when the rules are not met",
        ])
        let labelWidth = rows.map { $0[0].count }.max() ?? 0
        let numberWidth = rows.map { $0[1].count }.max() ?? 0
        let sourceWidth = rows.map { $0[2].count }.max() ?? 0
        return rows.map { row in
            let value = String(repeating: " ", count: max(0, numberWidth - row[1].count)) + row[1]
            return (pad(row[0], labelWidth) + "  " + value + "  " + pad(row[2], sourceWidth) + "  " + row[3])
                .trimmingTrailingSpaces()
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
