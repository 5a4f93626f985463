/// Draws a `StepGraph` for `cartflow graph`: plain text for a terminal, DOT for Graphviz, Mermaid for
/// Markdown viewers. Deterministic: the same workflow always gives the same bytes.
public enum GraphRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case text
        case dot
        case mermaid
    }

    public static func render(_ graph: StepGraph, format: Format) -> String {
        switch format {
        case .text: return text(graph)
        case .dot: return dot(graph)
        case .mermaid: return mermaid(graph)
        }
    }

    /// The stages in order, lanes per collection, and each step's prerequisites.
    public static func text(_ graph: StepGraph) -> String {
        var lines = ["step graph of \(graph.workflow): \(graph.nodes.count) steps in \(graph.stages.count) stages"]
        for stage in graph.stages {
            lines.append("")
            lines.append("stage \(stage.number): " + stageTitle(stage.mode))
            for line in stageLines(graph, stage) { lines.append("  " + line) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func stageTitle(_ mode: StepGraph.StageMode) -> String {
        switch mode {
        case .single: return "first"
        case .parallelLanes: return "one lane per collection, the lanes in parallel, each lane in order"
        case .sequential: return "after every fetch, one step after another in file order"
        }
    }

    /// The lines of one stage, shared by the graph text and the plan text.
    static func stageLines(_ graph: StepGraph, _ stage: StepGraph.Stage) -> [String] {
        let nodes = stage.nodes.compactMap { graph.node($0) }
        let width = nodes.map(\.id.count).max() ?? 0
        var lines: [String] = []
        var lane: String?
        for node in nodes {
            if stage.mode == .parallelLanes, node.collection != lane {
                lane = node.collection
                lines.append("lane \(node.collection ?? "?"):")
            }
            var line = (stage.mode == .parallelLanes ? "  " : "") + pad(node.id, width) + "  " + node.label
            if node.kind == .export { line += "  (reads \(node.reads.joined(separator: ", ")))" }
            lines.append(line)
        }
        return lines
    }

    /// Graphviz DOT: a cluster per collection lane, data edges solid, the export order dashed.
    public static func dot(_ graph: StepGraph) -> String {
        var lines = [
            "digraph \(dotQuote(graph.workflow)) {",
            "  rankdir=LR;",
            "  node [shape=box, fontname=\"Helvetica\"];",
        ]
        var lanes: [String] = []
        for node in graph.nodes where node.collection != nil && !lanes.contains(node.collection!) {
            lanes.append(node.collection!)
        }
        for node in graph.nodes where node.collection == nil {
            let shape = node.kind == .export ? ", shape=note" : ", shape=diamond"
            lines.append("  \(dotQuote(node.id)) [label=\(dotQuote(node.label))\(shape)];")
        }
        for (index, lane) in lanes.enumerated() {
            lines.append("  subgraph cluster_\(index + 1) {")
            lines.append("    label=\(dotQuote(lane));")
            for node in graph.nodes where node.collection == lane {
                lines.append("    \(dotQuote(node.id)) [label=\(dotQuote(node.kind.rawValue + "\n" + node.label))];")
            }
            lines.append("  }")
        }
        for node in graph.nodes {
            for before in node.after {
                let ordering = graph.node(before)?.kind == .export
                lines.append("  \(dotQuote(before)) -> \(dotQuote(node.id))\(ordering ? " [style=dashed]" : "");")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Mermaid flowchart: generated node ids (collection names may hold `.` and `-`), quoted labels.
    public static func mermaid(_ graph: StepGraph) -> String {
        var ids: [String: String] = [:]
        for (index, node) in graph.nodes.enumerated() { ids[node.id] = "s\(index + 1)" }
        func declare(_ node: StepGraph.Node) -> String {
            let text = node.collection == nil ? node.label : node.kind.rawValue + ": " + node.label
            let shape = node.kind == .creditCheck ? ("{", "}") : ("[", "]")
            return ids[node.id]! + shape.0 + mermaidQuote(text) + shape.1
        }
        var lines = ["flowchart LR"]
        var lanes: [String] = []
        for node in graph.nodes where node.collection != nil && !lanes.contains(node.collection!) {
            lanes.append(node.collection!)
        }
        for node in graph.nodes where node.collection == nil { lines.append("  " + declare(node)) }
        for (index, lane) in lanes.enumerated() {
            lines.append("  subgraph lane\(index + 1)[\(mermaidQuote(lane))]")
            for node in graph.nodes where node.collection == lane { lines.append("    " + declare(node)) }
            lines.append("  end")
        }
        for node in graph.nodes {
            for before in node.after {
                let ordering = graph.node(before)?.kind == .export
                lines.append("  \(ids[before]!) \(ordering ? "-.->" : "-->") \(ids[node.id]!)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func dotQuote(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }

    /// Mermaid has no backslash escapes inside quotes; it takes entity codes (`#quot;`, `#35;`) instead, and its
    /// labels are HTML: `<`, `>` and `&` would be markup, and a `#…;` in the text would be read as an entity.
    static func mermaidQuote(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "#": out += "#35;"
            case "\"": out += "#quot;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "&": out += "#amp;"
            case "\n", "\r\n", "\r": out += " "
            default: out.append(character)
            }
        }
        return out + "\""
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
