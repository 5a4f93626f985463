import CartflowCore
import Foundation
import Testing

@Suite struct CreditCheckTests {
    @Test func shortBalanceIsBlockedWithTheExecutorsWords() {
        let verdict = CreditCheck.evaluate(
            spendable: 300, items: [(name: "laptops", items: 250)], rules: CreditRules(reserve: 200))
        #expect(!verdict.passes)
        #expect(verdict.total == 250)
        #expect(verdict.blockedMessage == "blocked by credits: needs 250 + reserve 200, has 300")
    }

    @Test func exactlyEnoughPasses() {
        let verdict = CreditCheck.evaluate(
            spendable: 450, items: [(name: "laptops", items: 250)], rules: CreditRules(reserve: 200, maxSpend: 250))
        #expect(verdict.passes)
        #expect(verdict.blockedMessage == nil)
    }

    @Test func maxSpendAndUnknownCountsAreReasonsToo() {
        let verdict = CreditCheck.evaluate(
            spendable: 10_000, items: [(name: "a", items: 300), (name: "b", items: nil), (name: "c", items: nil)],
            rules: CreditRules(maxSpend: 200))
        #expect(verdict.unknown == ["b", "c"])
        #expect(
            verdict.reasons == [
                "the run needs 300 credits but credits.max_spend is 200",
                "cannot learn the item count of b, c; add `items:` to the collection",
            ])
    }

    @Test func withoutReserveTheWordingHasNoReserve() {
        let verdict = CreditCheck.evaluate(spendable: 12, items: [(name: "a", items: 250)], rules: CreditRules())
        #expect(verdict.reasons == ["needs 250, has 12"])
    }

    @Test func anUnknownBalanceJudgesOnlyTheOtherRules() {
        let verdict = CreditCheck.evaluate(
            spendable: nil, items: [(name: "a", items: 250)], rules: CreditRules(reserve: 10_000))
        #expect(verdict.passes)
    }

    /// Counts and balances come from the API: sums past Int.max and a balance near Int.min block the run with a
    /// reason instead of trapping.
    @Test func countsAndBalancesAtTheEdgesOfIntBlockInsteadOfTrapping() {
        let huge = CreditCheck.evaluate(
            spendable: Int.max, items: [(name: "a", items: Int.max), (name: "b", items: 1)], rules: CreditRules())
        #expect(huge.total == Int.max)
        #expect(huge.reasons.first?.hasPrefix("the item counts add up to more than 9223372036854775807") == true)
        let overdrawn = CreditCheck.evaluate(
            spendable: Int.min + 5, items: [(name: "a", items: 250)], rules: CreditRules(reserve: 10))
        #expect(overdrawn.reasons == ["needs 250 + reserve 10, has \(Int.min + 5)"])
        #expect(CreditCheck.total(of: [Int.max, 1]) == nil)
        #expect(CreditCheck.remaining(Int.min, after: 1) == nil)
        #expect(CreditCheck.remaining(10, after: 3) == 7)
    }

    @Test func resumeRulesNameTheTriggeringPhases() {
        #expect(ResumeRules.needsTrigger(phase: "pending"))
        #expect(ResumeRules.needsTrigger(phase: "not_triggered"))
        #expect(!ResumeRules.needsTrigger(phase: "intent"))
        #expect(!ResumeRules.needsTrigger(phase: "timed_out"))
        #expect(
            ResumeRules.resumeAction(phase: "timed_out", runnerID: 7, attribution: "exact").contains("polls runner 7"))
    }
}

@Suite struct StepGraphTests {
    @Test(arguments: ["demo", "au-price-watch"], GraphRenderer.Format.allCases)
    func graphGolden(workflow: String, format: GraphRenderer.Format) throws {
        let graph = StepGraph.build(try exampleWorkflow(workflow))
        let ext = ["text": "txt", "dot": "dot", "mermaid": "mmd"][format.rawValue]!
        try expectPlanGolden(GraphRenderer.render(graph, format: format), "graph-\(workflow).\(ext)")
    }

    @Test func stepsFollowTheExecutorsOrder() throws {
        let graph = StepGraph.build(try exampleWorkflow("demo"))
        #expect(
            graph.nodes.map(\.id) == [
                "credits", "trigger.laptops", "poll.laptops", "fetch.laptops", "trigger.phones", "poll.phones",
                "fetch.phones", "export.1", "export.2",
            ])
        #expect(graph.stages.map(\.mode) == [.single, .parallelLanes, .sequential])
        #expect(graph.node("export.2")?.after == ["fetch.phones", "export.1"])
        #expect(graph.node("export.2")?.reads == ["phones"])
        #expect(graph.node("trigger.phones")?.after == ["credits"])
    }

    @Test func labelsAreQuotedForDotAndMermaid() {
        let workflow = Workflow(
            name: "q", sourcePath: "q.yaml", collections: [CollectionSpec(name: "a", id: 1)],
            steps: [ExportStep(format: .csv, path: "out/\"x\"\\y.csv")])
        let graph = StepGraph.build(workflow)
        #expect(GraphRenderer.dot(graph).contains(#"label="export csv → out/\"x\"\\y.csv""#))
        #expect(GraphRenderer.mermaid(graph).contains("out/#quot;x#quot;\\y.csv"))
    }

    /// Mermaid labels are HTML with `#…;` entity codes: markup and a literal entity in a path stay text.
    @Test func mermaidLabelsEscapeMarkupAndEntityCodes() {
        let workflow = Workflow(
            name: "q", sourcePath: "q.yaml", collections: [CollectionSpec(name: "a<b>", id: 1)],
            steps: [ExportStep(format: .csv, path: "out/<b>x</b>#quot;&amp;#35;.csv")])
        let mermaid = GraphRenderer.mermaid(StepGraph.build(workflow))
        #expect(mermaid.contains(#""export csv → out/#lt;b#gt;x#lt;/b#gt;#35;quot;#amp;amp;#35;35;.csv""#))
        #expect(mermaid.contains(#"subgraph lane1["a#lt;b#gt;"]"#))
        #expect(!mermaid.contains("<"))
        #expect(!mermaid.contains(">x"))
    }
}

@Suite struct PlannerTests {
    /// Facts as the sandbox answers them for the demo workflow.
    func onlineFacts(spendable: Int, laptops: Int = 250, phones: Int = 120) -> PlanFacts {
        PlanFacts(
            mode: .sandbox,
            balance: PlanFacts.Balance(
                spendable: spendable, available: spendable, used: 0, frozen: 0,
                origin: "available_credits − (used_credits + frozen_credits)"),
            itemCounts: ["laptops": .checked(laptops), "phones": .checked(phones)],
            newestRunners: [
                "laptops": .runner(id: 901, generated: true, createdAt: nil), "phones": .noRunner,
            ], state: .absent(path: ".cartflow/state.db"))
    }

    /// Counts from the API that add up past Int.max block the plan with the one reason that says so; no figure
    /// stands in for the sum (the text and the JSON showed 9223372036854775807 as if it were the total).
    @Test func countsPastIntMaxShowNoSaturatedTotal() throws {
        let workflow = try exampleWorkflow("demo")
        let facts = onlineFacts(spendable: 1000, laptops: Int.max, phones: 1)
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.verdict.outcome == .blocked)
        #expect(plan.credits.totalOverflows)
        #expect(plan.credits.balanceAfter == nil)
        #expect(plan.verdict.reasons.count == 1)
        #expect(plan.verdict.reasons.first?.hasPrefix("the item counts add up to more than 9223372036854775807") == true)
        let text = PlanTextRenderer.render(plan)
        #expect(text.contains("> 9223372036854775807"))
        #expect(!text.contains("needs 9223372036854775807"))
        let json = PlanJSONRenderer.render(plan)
        #expect(json.contains(#""total":null"#) || json.contains(#""total": null"#))
    }

    @Test func shortBalanceBlocksWithTheRightNumbers() throws {
        let workflow = try exampleWorkflow("demo")
        let plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: onlineFacts(spendable: 300), now: planNow)
        #expect(plan.verdict.outcome == .blocked)
        #expect(plan.verdict.summary == "blocked: needs 370 + reserve 100, has 300")
        #expect(plan.credits.total == 370)
        #expect(plan.credits.balanceAfter == -70)
        let text = PlanTextRenderer.render(plan)
        #expect(text.contains("verdict: blocked: needs 370 + reserve 100, has 300\n"))
        #expect(text.contains("balance after     -70 "))
        let json = PlanJSONRenderer.render(plan)
        #expect(json.contains(#""balance_after": -70"#))
        #expect(json.contains(#""outcome": "blocked""#))
    }

    @Test func aBalanceFarBelowTheTotalIsShownSaturatedNotTrapped() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: Int.min + 1)
        facts.balance?.origin = "a plain number"
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.credits.balanceAfter == Int.min)
        #expect(plan.verdict.outcome == .blocked)
    }

    @Test func onInsufficientSkipAndWaitAreNamedInTheVerdict() throws {
        var workflow = try exampleWorkflow("demo")
        workflow.credits.onInsufficient = .skip
        var plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: onlineFacts(spendable: 300), now: planNow)
        #expect(plan.verdict.outcome == .skipped)
        #expect(plan.verdict.summary == "skipped (on_insufficient: skip): needs 370 + reserve 100, has 300")
        workflow.credits.onInsufficient = .wait(limit: Seconds(3600), interval: Seconds(300))
        plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: onlineFacts(spendable: 300), now: planNow)
        #expect(plan.verdict.outcome == .waits)
        #expect(plan.verdict.summary.hasPrefix("waits for credits (on_insufficient: wait, every 5m up to 1h)"))
    }

    /// The plan says what `run` does: `wait` waits only when the balance is the one rule broken.
    @Test func waitIsBlockedAtOnceWhenCreditsCannotFixTheRule() throws {
        var workflow = try exampleWorkflow("demo")
        workflow.credits.onInsufficient = .wait(limit: Seconds(3600), interval: Seconds(300))
        workflow.credits.maxSpend = 100
        for spendable in [100_000, 300] {
            let plan = Planner.plan(
                workflow, graph: StepGraph.build(workflow), facts: onlineFacts(spendable: spendable), now: planNow)
            #expect(plan.verdict.outcome == .blocked)
            #expect(plan.verdict.summary.hasPrefix("blocked: the run needs 370 credits but credits.max_spend is 100"))
            #expect(
                plan.verdict.summary.hasSuffix(
                    "(on_insufficient: wait does not wait: more credits would not change it)"))
        }
        workflow.credits.maxSpend = nil
        workflow.collections[1].items = nil
        var facts = onlineFacts(spendable: 100_000)
        facts.itemCounts["phones"] = .unavailable(reason: "collection 102 not found")
        let unknown = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(unknown.verdict.outcome == .blocked)
        #expect(unknown.verdict.reasons == ["cannot learn the item count of phones; add `items:` to the collection"])
        #expect(
            CreditCheck.evaluate(spendable: 10, items: [(name: "a", items: 250)], rules: CreditRules()).waitingCanHelp)
    }

    @Test func checkedCountsWinOverHintsAndTheDifferenceIsNoted() throws {
        let workflow = try exampleWorkflow("demo")
        let plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: onlineFacts(spendable: 100_000, laptops: 260),
            now: planNow)
        #expect(
            plan.collections[0].items
                == Plan.Fact(value: 260, source: .checked, origin: "ASIN list with_count of collection 101"))
        #expect(plan.credits.total == 380)
        #expect(plan.notes == ["laptops: the API counts 260 items, the workflow's `items:` hint says 250"])
        #expect(plan.verdict.summary == "runs: needs 380 + reserve 100, has 100000; within max_spend 1000")
    }

    @Test func anUnavailableCountFallsBackToTheHintLabelledAssumed() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.itemCounts["phones"] = .unavailable(reason: "collection 102 not found")
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.collections[1].items.source == .assumed)
        #expect(plan.collections[1].items.value == 120)
        #expect(plan.collections[1].items.origin.contains("collection 102 not found"))
    }

    @Test func anUnfinishedRunIsResumedAndOnlyItsUntriggeredCollectionsCost() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 3, status: "timed_out", startedAt: "2026-06-19T22:05:09.123Z",
                collections: [
                    PlanFacts.ResumableCollection(
                        name: "laptops", phase: "timed_out", runnerID: 903, attribution: "exact"),
                    PlanFacts.ResumableCollection(name: "phones", phase: "not_triggered"),
                ]))
        facts.newestRunners["laptops"] = .runner(id: 903, generated: false, createdAt: "2026-06-19T22:05:10Z")
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.collections.map(\.triggered) == [false, true])
        #expect(plan.credits.total == 120)
        #expect(plan.state.resumesRun == 3)
        #expect(plan.collections[0].resume == "timed_out: polls runner 903 and fetches its files, no new trigger")
        #expect(plan.collections[0].server.ours)
        #expect(plan.notes.isEmpty, "our own processing runner is no warning")
        // File names come from the run's start, as the executor names them.
        #expect(plan.outputs.map(\.path) == ["out/demo/demo-2026-06-19.csv", "out/demo/phones-{runner}.ndjson"])
        try expectPlanGolden(PlanTextRenderer.render(plan), "plan-demo-resume.txt")
    }

    /// The plan matches an unfinished run's collections as `run` does: a key renamed in the file keeps its
    /// collection id's row (no new trigger, nothing to pay), and a name now given another id starts afresh
    /// while the old id's paid runner is left behind. Matched by name alone, the plan said the first would be
    /// triggered and paid for, and the second resumed.
    @Test func anUnfinishedRunIsMatchedByNameAndIDAsRunMatchesIt() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 4, status: "timed_out", startedAt: "2026-06-19T22:05:09.123Z",
                collections: [
                    PlanFacts.ResumableCollection(
                        name: "notebooks", collectionID: 101, phase: "timed_out", runnerID: 903, attribution: "exact"),
                    PlanFacts.ResumableCollection(
                        name: "phones", collectionID: 555, phase: "polling", runnerID: 904, attribution: "exact"),
                ]))
        facts.newestRunners["laptops"] = .runner(id: 903, generated: false, createdAt: "2026-06-19T22:05:10Z")
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.collections.map(\.triggered) == [false, true])
        #expect(plan.credits.total == 120)
        #expect(plan.collections[0].resume == "timed_out: polls runner 903 and fetches its files, no new trigger")
        #expect(
            plan.collections[1].resume == "not in the unfinished run yet: would be added and triggered (and paid for)")
        #expect(
            plan.notes.contains(
                "laptops: collection 101 was 'notebooks' in the unfinished run; run carries its trigger, runner and "
                    + "files over under the new name (no new trigger)"))
        #expect(
            plan.notes.contains(
                "phones: the workflow now names collection 102 (was 555); collection 555's runner 904 (paid for) is "
                    + "not fetched and is left behind"))
    }

    @Test func rowsAreMatchedByNameAndIDThenCarriedByID() {
        let recorded: [(name: String, id: Int?)] = [("a", 1), ("b", 1), ("c", 3), ("d", nil), ("e", 5)]
        let wanted: [(name: String, id: Int)] = [("x", 1), ("b", 1), ("c", 4), ("d", 9), ("y", 5), ("z", 3)]
        // x takes a's row by id (b's exact match came first); c has another id now, so its row is free for z.
        #expect(ResumeRules.matchingRows(recorded: recorded, wanted: wanted) == [0, 1, nil, 3, 4, 2])
    }

    /// A trigger whose answer was lost (or a crash right after it) left an intent with the newest runner seen
    /// before it; a processing runner newer than that is the one `run` will adopt, not someone else's.
    @Test func aRunnerNewerThanALostTriggersBaselineIsTheOneRunAdopts() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 1, status: "running", startedAt: "2026-06-20T08:59:00.000Z",
                collections: [
                    PlanFacts.ResumableCollection(name: "laptops", phase: "intent", baselineRunner: 901),
                    PlanFacts.ResumableCollection(name: "phones", phase: "intent", baselineRunner: 902),
                ]))
        facts.newestRunners["laptops"] = .runner(id: 904, generated: false, createdAt: "2026-06-20T08:59:01Z")
        facts.newestRunners["phones"] = .runner(id: 902, generated: true, createdAt: "2026-06-20T07:59:01Z")
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(
            plan.collections[0].server.text
                == "runner 904 is processing since 2026-06-20T08:59:01Z, newer than runner 901 recorded before this "
                + "workflow's trigger: run adopts the earliest runner newer than 901")
        #expect(
            plan.collections[1].server.text
                == "newest runner 902 has finished; no runner newer than 902 (recorded before this workflow's "
                + "trigger) yet")
        #expect(plan.notes.isEmpty)
    }

    /// A collection whose trigger left no visible runner is never triggered again by `run`, which then ends
    /// partial without the exports that read it: the plan says so instead of "runs".
    @Test func aNotObservedCollectionIsSaidToStayUnfetched() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 1, status: "partial", startedAt: "2026-06-20T08:59:00.000Z",
                collections: [
                    PlanFacts.ResumableCollection(
                        name: "laptops", phase: "failed", attribution: "not_observed", baselineRunner: 901),
                    PlanFacts.ResumableCollection(
                        name: "phones", phase: "fetched", runnerID: 903, attribution: "exact"),
                ]))
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.verdict.outcome == .partial)
        #expect(
            plan.verdict.summary
                == "partial: resumes run #1; nothing to trigger, no credits spent; laptops is not fetched (its "
                + "trigger produced no visible runner; `run --new` starts a fresh run), so the run ends partial "
                + "and the exports that read it are not written")
        #expect(plan.verdict.reasons.count == 1)
    }

    /// A not-observed trigger whose collection now shows a runner newer than its baseline: `run` reads the history
    /// again and adopts it (as adopted late), so the plan does not call the collection unfetched.
    @Test func aNotObservedCollectionWithALateRunnerIsSaidToBeAdopted() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.newestRunners["laptops"] = .runner(id: 905, generated: true, createdAt: nil)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 1, status: "partial", startedAt: "2026-06-20T08:59:00.000Z",
                collections: [
                    PlanFacts.ResumableCollection(
                        name: "laptops", phase: "failed", attribution: "not_observed", baselineRunner: 901),
                    PlanFacts.ResumableCollection(
                        name: "phones", phase: "fetched", runnerID: 903, attribution: "exact"),
                ]))
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.verdict.outcome == .runs)
        #expect(plan.collections[0].resume?.contains("adopts the earliest runner newer than") == true)
        #expect(
            plan.collections[0].server.text
                == "newest runner 905 has finished, newer than runner 901 recorded before this workflow's trigger: "
                + "run adopts the earliest runner newer than 901")
        #expect(plan.collections[0].triggered == false)
    }

    /// A resumed run whose new collection the rules stop: the plan says the collection already triggered is still
    /// polled and fetched, as `run` does (the rules gate only what is still to be triggered).
    @Test func theCreditRulesOfAResumedRunGateOnlyWhatIsStillToBeTriggered() throws {
        var workflow = try exampleWorkflow("demo")
        workflow.credits = CreditRules(onInsufficient: .skip)
        var facts = onlineFacts(spendable: 100)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 1, status: "timed_out", startedAt: "2026-06-20T08:59:00.000Z",
                collections: [
                    PlanFacts.ResumableCollection(
                        name: "laptops", phase: "timed_out", runnerID: 903, attribution: "exact", items: 250,
                        baselineRunner: 901)
                ]))
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.verdict.outcome == .skipped)
        #expect(plan.credits.total == 120)
        #expect(
            plan.verdict.summary
                == "skipped (on_insufficient: skip): needs 120, has 100; laptops (already triggered, paid for) is "
                + "still polled, fetched and exported")
    }

    /// A collection edited out of the file while the unfinished run had paid for it: the plan says what `run`
    /// says, that its runner is left behind.
    @Test func aCollectionEditedOutOfTheFileIsNamedWithItsRunner() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.state = .unfinished(
            path: "state.db",
            run: PlanFacts.UnfinishedRun(
                id: 2, status: "timed_out", startedAt: "2026-06-20T08:59:00.000Z",
                collections: [
                    PlanFacts.ResumableCollection(name: "tablets", phase: "timed_out", runnerID: 950),
                    PlanFacts.ResumableCollection(name: "watches", phase: "intent", baselineRunner: 10),
                    PlanFacts.ResumableCollection(name: "old", phase: "fetched", runnerID: 9),
                    PlanFacts.ResumableCollection(name: "laptops", phase: "fetched", runnerID: 903),
                ]))
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(
            plan.notes == [
                "tablets: no longer in the workflow; its runner 950 (paid for) is not fetched and is left behind",
                "watches: no longer in the workflow; a trigger was sent for it and its runner, never identified, "
                    + "is left behind",
            ])
    }

    @Test func someoneElsesProcessingRunnerIsNoted() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.newestRunners["phones"] = .runner(id: 77, generated: false, createdAt: "2026-06-20T08:59:00Z")
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.collections[1].server.processing == true)
        #expect(
            plan.collections[1].server.text
                == "runner 77 is processing since 2026-06-20T08:59:00Z, not started by this workflow")
        #expect(plan.notes.count == 1)
        #expect(plan.notes[0].hasPrefix("phones: runner 77 of collection 102 is processing now"))
        // `run` triggers laptops, gets a 409 conflict for phones and ends partial: the plan says so, exit 6.
        #expect(plan.verdict.outcome == .partial)
        #expect(
            plan.verdict.summary
                == "partial: needs 370 + reserve 100, has 100000; within max_spend 1000; phones is processing on the "
                + "server (runner 77, not started by this workflow): run's trigger would be refused (409 conflict) "
                + "while it runs, so the run ends partial and the exports that read it are not written")
        #expect(PlanTextRenderer.render(plan).contains("verdict: partial: needs 370"))
        #expect(PlanJSONRenderer.render(plan).contains(#""outcome": "partial""#))
    }

    /// Every collection processing elsewhere: `run` would trigger nothing that succeeds and fail.
    @Test func everyCollectionProcessingElsewhereFails() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.newestRunners["laptops"] = .runner(id: 76, generated: false, createdAt: nil)
        facts.newestRunners["phones"] = .runner(id: 77, generated: false, createdAt: nil)
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        #expect(plan.verdict.outcome == .fails)
        #expect(plan.verdict.summary.hasPrefix("fails: needs 370"))
        #expect(
            plan.verdict.reasons == [
                "laptops, phones are processing on the server (runner 76, runner 77, not started by this workflow): "
                    + "run's trigger would be refused (409 conflict) while it runs"
            ])
        #expect(plan.verdict.summary.hasSuffix("so the run fails and the exports that read them are not written"))
        // Credits come first: a run the rules block never reaches a trigger.
        let blocked = Planner.plan(
            workflow, graph: StepGraph.build(workflow),
            facts: {
                var f = facts; f.balance?.spendable = 10; return f
            }(),
            now: planNow)
        #expect(blocked.verdict.outcome == .blocked)
    }

    /// A base URL is never rendered with its userinfo, wherever it came from.
    @Test func theBaseURLIsShownWithoutCredentials() throws {
        let workflow = try exampleWorkflow("demo")
        var facts = onlineFacts(spendable: 100_000)
        facts.mode = .api(baseURL: "http://bob:hunter2@127.0.0.1:8080/api/v1")
        let plan = Planner.plan(workflow, graph: StepGraph.build(workflow), facts: facts, now: planNow)
        let text = PlanTextRenderer.render(plan)
        let json = PlanJSONRenderer.render(plan)
        #expect(text.contains("facts from the MultiCart API at http://127.0.0.1:8080/api/v1 (read-only calls)"))
        #expect(json.contains(#""api_base_url": "http://127.0.0.1:8080/api/v1""#))
        #expect(!(text + json).contains("hunter2"))
        #expect(APIConfig.displayed("https://u@h.example/a@b") == "https://h.example/a@b")
        #expect(APIConfig.displayed("https://h.example/api/v1") == "https://h.example/api/v1")
        #expect(
            APIConfig.baseURLProblem("http://bob:hunter2@127.0.0.1:1/api/v1") == "credentials do not belong in the URL")
        #expect(APIConfig.baseURLProblem("http://127.0.0.1:1/api/v1/") == nil)
    }

    @Test func offlineUnknownCountsDoNotBlockButAreSaid() throws {
        var workflow = try exampleWorkflow("demo")
        workflow.collections[1].items = nil
        let plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: PlanFacts(mode: .offline, state: .absent(path: "s.db")),
            now: planNow)
        #expect(plan.verdict.outcome == .runs)
        #expect(!plan.verdict.checked)
        #expect(plan.credits.unknownItems == ["phones"])
        #expect(plan.collections[1].items.source == .unknown)
        #expect(plan.notes.first?.contains("unknown offline") == true)
    }

    @Test func daylightSavingMovesAreFlagged() throws {
        var workflow = try exampleWorkflow("demo")
        workflow.schedule = Schedule(
            every: .daily, at: [ClockTime(hour: 2, minute: 30)], timezone: .iana("America/New_York"))
        // 2024-03-08T12:00:00Z: two days before clocks go forward in New York.
        let now = Date(timeIntervalSince1970: 1_709_899_200)
        let plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: PlanFacts(mode: .offline, state: .absent(path: "s")),
            now: now)
        let schedule = try #require(plan.schedule)
        #expect(schedule.next.count == 5)
        #expect(schedule.next.map(\.movedByDaylightSaving) == [false, true, false, false, false])
        #expect(schedule.next[1].local == "2024-03-10 03:00 -04:00")
        #expect(schedule.next[1].utc == "2024-03-10T07:00:00Z")
        let text = PlanTextRenderer.render(plan)
        #expect(text.contains("2024-03-10 03:00 -04:00  2024-03-10T07:00:00Z  moved by daylight saving"))
        #expect(text.contains("02:30 does not exist on 2024-03-10 in America/New_York"))
    }

    @Test func aUTCScheduleNamesItsZoneOnce() throws {
        var workflow = try exampleWorkflow("demo")
        workflow.schedule = Schedule(every: .daily, at: [ClockTime(hour: 8, minute: 0)])
        let plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: PlanFacts(mode: .offline, state: .absent(path: "s")),
            now: planNow)
        let text = PlanTextRenderer.render(plan)
        #expect(text.contains("schedule: daily at 08:00, in UTC (catch_up: latest, overlap: skip)\n"))
        #expect(text.contains("  next 5 fire times, in UTC:\n"))
    }

    @Test func theJSONDocumentIsVersionedAndOrdered() throws {
        let workflow = try exampleWorkflow("au-price-watch")
        let plan = Planner.plan(
            workflow, graph: StepGraph.build(workflow), facts: PlanFacts(mode: .offline, state: .absent(path: "s")),
            now: planNow)
        let json = PlanJSONRenderer.render(plan)
        #expect(json.hasPrefix("{\n  \"format_version\": 1,\n  \"workflow\": \"au-price-watch\","))
        let parsed = try JSONParser.parse(json).value
        let keys = parsed.objectValue?.members.map(\.key)
        #expect(
            keys == [
                "format_version", "workflow", "file", "description", "planned_at", "mode", "api_base_url", "verdict",
                "steps", "stages", "credits", "collections", "state", "outputs", "schedule", "notes",
            ])
        try expectPlanGolden(json, "plan-au-price-watch-offline.json")
    }
}
