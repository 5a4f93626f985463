/// The steps of a workflow run and what each waits for: the credit check, then one lane per collection
/// (trigger → poll → fetch, lanes in parallel), then the export steps in file order after every fetch.
/// Built from the workflow alone (pure); `cartflow plan` and `cartflow graph` both draw it, and it mirrors
/// the order in which the executor works.
public struct StepGraph: Sendable, Equatable {
    /// What a step does.
    public enum Kind: String, Sendable, CaseIterable {
        case creditCheck = "credit_check"
        case trigger
        case poll
        case fetch
        case export
    }

    /// One step.
    public struct Node: Sendable, Equatable {
        /// A stable id: `credits`, `trigger.laptops`, `poll.laptops`, `fetch.laptops`, `export.1`.
        public var id: String
        public var kind: Kind
        /// The stage (1-based): every stage starts when the one before it has finished.
        public var stage: Int
        /// The collection of a trigger, poll or fetch step.
        public var collection: String?
        /// The collections an export step reads (all of them unless the step says `from:`).
        public var reads: [String]
        /// A short description: `trigger collection 101`, `export csv → out/x.csv`.
        public var label: String
        /// Ids of the steps that must finish first.
        public var after: [String]
    }

    /// How the steps of a stage run.
    public enum StageMode: String, Sendable {
        /// One step.
        case single
        /// One lane per collection, lanes in parallel, each lane in order.
        case parallelLanes = "parallel_lanes"
        /// One after another, in file order.
        case sequential
    }

    /// A stage: steps that start once the previous stage is done.
    public struct Stage: Sendable, Equatable {
        public var number: Int
        public var mode: StageMode
        public var nodes: [String]
    }

    public var workflow: String
    /// Every step in execution order (lanes listed collection by collection).
    public var nodes: [Node]
    public var stages: [Stage]

    /// The step with this id.
    public func node(_ id: String) -> Node? { nodes.first { $0.id == id } }

    /// Builds the graph of `workflow`; no I/O.
    public static func build(_ workflow: Workflow) -> StepGraph {
        var nodes: [Node] = []
        nodes.append(
            Node(
                id: "credits", kind: .creditCheck, stage: 1, collection: nil, reads: [],
                label: "check credits (balance, reserve, max_spend)", after: []))
        var lanes: [String] = []
        for spec in workflow.collections {
            let trigger = "trigger.\(spec.name)"
            let poll = "poll.\(spec.name)"
            let fetch = "fetch.\(spec.name)"
            nodes.append(
                Node(
                    id: trigger, kind: .trigger, stage: 2, collection: spec.name, reads: [],
                    label: "trigger collection \(spec.id)", after: ["credits"]))
            nodes.append(
                Node(
                    id: poll, kind: .poll, stage: 2, collection: spec.name, reads: [],
                    label: "poll every \(workflow.poll.interval) (up to \(workflow.poll.maxInterval)), "
                        + "timeout \(workflow.poll.timeout)",
                    after: [trigger]))
            nodes.append(
                Node(
                    id: fetch, kind: .fetch, stage: 2, collection: spec.name, reads: [],
                    label: "fetch \(workflow.fetch.from == .zip ? "the ZIP" : "page files"), "
                        + "\(workflow.fetch.concurrency) at a time",
                    after: [poll]))
            lanes += [trigger, poll, fetch]
        }
        var exports: [String] = []
        for (index, step) in workflow.steps.enumerated() {
            let id = "export.\(index + 1)"
            let reads = step.from ?? workflow.collections.map(\.name)
            // An export waits for the fetches it reads; the executor also runs steps one after another.
            var after = reads.map { "fetch.\($0)" }
            if let previous = exports.last { after.append(previous) }
            nodes.append(
                Node(
                    id: id, kind: .export, stage: 3, collection: nil, reads: reads,
                    label: "export \(step.format.rawValue) → \(step.path)", after: after))
            exports.append(id)
        }
        // A valid workflow has at least one collection, so stage 2 always exists.
        var stages = [
            Stage(number: 1, mode: .single, nodes: ["credits"]), Stage(number: 2, mode: .parallelLanes, nodes: lanes),
        ]
        if !exports.isEmpty { stages.append(Stage(number: 3, mode: .sequential, nodes: exports)) }
        return StepGraph(workflow: workflow.name, nodes: nodes, stages: stages)
    }
}
