import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// The daemon loop on a virtual wall clock: never a slot twice, catch-up, overlap, restarts, clock jumps,
/// reloads and cancellation. No test waits on the wall clock.
@Suite struct SchedulerTests {
    let every15m = Schedule(every: .interval(Seconds(900)))
    let daily8 = Schedule(every: .daily, at: [ClockTime(hour: 8, minute: 0)])

    func store() throws -> (StateStore, String) {
        let directory = try CartflowProcess.temporaryDirectory("scheduler")
        let path = directory.appendingPathComponent("state.db").path
        return (try StateStore(path: path), path)
    }

    func counting(_ log: FireLog) -> Scheduler.Fire {
        { workflow, slot in
            log.append(workflow.name, slot.instant)
            return .succeeded
        }
    }

    func scheduler(
        _ workflows: [Workflow], state: StateStore, clock: VirtualWallClock, fire: @escaping Scheduler.Fire,
        lines: LineLog = LineLog()
    ) throws -> Scheduler {
        try Scheduler(
            workflows: workflows, state: state, now: { clock.now }, sleep: { _ in throw StopDaemon() }, fire: fire,
            log: { lines.append($0) })
    }

    // MARK: One trigger per slot

    @Test func oneTriggerPerSlotOnTheSandboxAcrossManyWakeUps() async throws {
        let h = try ExecutorHarness()
        let clock = VirtualWallClock("2024-05-04T07:58:00Z")
        var workflow = h.workflow()
        workflow.schedule = every15m
        let lines = LineLog()
        let scheduler = try Scheduler(
            workflows: [workflow], state: h.state, now: { clock.now }, sleep: { _ in throw StopDaemon() },
            fire: { [harness = Unchecked(h)] workflow, _ in try await harness.value.executor(workflow).run().outcome },
            log: { lines.append($0) })
        // 40 wake-ups of uneven length over 2 h 10 min: several per slot, some late, none more than 15 min apart.
        let steps = [30, 45, 120, 20, 200, 10, 300, 60, 90, 5] as [TimeInterval]
        var elapsed: TimeInterval = 0
        for index in 0..<40 {
            elapsed += steps[index % steps.count]
            clock.set(utc("2024-05-04T07:58:00Z").addingTimeInterval(elapsed))
            await scheduler.tick()
            await scheduler.waitForRuns()
        }
        // 07:58 + 3520 s = 08:56:40: slots 08:00, 08:15, 08:30, 08:45.
        #expect(elapsed == 3520)
        #expect(h.triggers == 4)
        let runs = await scheduler.finishedRuns
        #expect(
            runs.map { utcText($0.slot) } == [
                "2024-05-04T08:00:00Z", "2024-05-04T08:15:00Z", "2024-05-04T08:30:00Z", "2024-05-04T08:45:00Z",
            ])
        #expect(runs.allSatisfy { $0.outcome == .succeeded })
        #expect(try h.state.scheduleSlots(workflow: "wf")?.lastSlot == "2024-05-04T08:45:00Z")
        // The first wake after 08:00 is at 08:01:15, beyond the 60 s tolerance: caught up; 08:15 is on time.
        #expect(
            lines.all.contains(
                "wf 2024-05-04 08:00 +00:00 (2024-05-04T08:00:00Z) caught up: the one missed slot (catch_up: latest)"))
        #expect(lines.all.contains("wf 2024-05-04 08:15 +00:00 (2024-05-04T08:15:00Z) fired: due now"))
        #expect(lines.all.contains("wf 2024-05-04T08:00:00Z run succeeded"))
    }

    @Test func theLoopFiresEachSlotOnceWhateverTheWakeUps() async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-04T00:00:30Z")
        let fired = FireLog()
        let box = SchedulerBox()
        let wakes = LineLog()
        var options = Scheduler.Options()
        options.pollInterval = 400  // not a divisor of 15 min: wake-ups land before, on and after slots
        let scheduler = try Scheduler(
            workflows: [scheduled(every15m)], state: state, options: options, now: { clock.now },
            sleep: { target in
                await box.value?.waitForRuns()
                wakes.append(utcText(target))
                if wakes.all.count > 30 { throw StopDaemon() }
                clock.set(target)
            }, fire: counting(fired), log: { _ in })
        box.value = scheduler
        await scheduler.run()
        // 31 sleeps; the last one stops. The clock ends at the 30th target.
        let end = clock.now
        let expected = stride(from: utc("2024-05-04T00:00:00Z"), through: end, by: 900).map(utcText)
        #expect(fired.slots == expected)
        #expect(Set(fired.slots).count == fired.count)
        #expect(fired.count > 10)
    }

    // MARK: Catch-up (C13)

    @Test(arguments: [(Schedule.CatchUp.latest, 1), (.all, 3), (.none, 0)])
    func catchUpAfterThreeMissedDailySlots(catchUp: Schedule.CatchUp, runs: Int) async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:10Z")
        let fired = FireLog()
        let lines = LineLog()
        var schedule = daily8
        schedule.catchUp = catchUp
        let scheduler = try scheduler(
            [scheduled(schedule)], state: state, clock: clock, fire: counting(fired), lines: lines)
        _ = await scheduler.runOnce()
        #expect(fired.slots == ["2024-05-01T08:00:00Z"])
        // Down from May 1 to May 4, 09:00: the slots of May 2, 3 and 4 were missed.
        clock.set("2024-05-04T09:00:00Z")
        let results = await scheduler.runOnce()
        #expect(results.count == runs)
        #expect(fired.count == 1 + runs)
        #expect(try state.scheduleSlots(workflow: "wf")?.lastSlot == "2024-05-04T08:00:00Z")
        switch catchUp {
        case .latest:
            #expect(fired.slots.last == "2024-05-04T08:00:00Z")
            #expect(lines.all.contains { $0.contains("caught up: the latest of 3 missed slots") })
        case .all:
            #expect(
                Array(fired.slots.dropFirst()) == [
                    "2024-05-02T08:00:00Z", "2024-05-03T08:00:00Z", "2024-05-04T08:00:00Z",
                ])
        case .none:
            #expect(lines.all.contains { $0.contains("missed: 3 slots not run (catch_up: none)") })
        }
    }

    // MARK: Never twice

    @Test func aRestartWithTheSameStateDatabaseDoesNotFireTheSlotAgain() async throws {
        let (state, path) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:10Z")
        let fired = FireLog()
        let first = try scheduler([scheduled(daily8)], state: state, clock: clock, fire: counting(fired))
        _ = await first.runOnce()
        #expect(fired.count == 1)

        // A new daemon, a new connection, 20 s later: still within the tolerance of the 08:00 slot.
        clock.set("2024-05-01T08:00:30Z")
        let second = try scheduler(
            [scheduled(daily8)], state: try StateStore(path: path), clock: clock, fire: counting(fired))
        _ = await second.runOnce()
        #expect(fired.count == 1)
        #expect(await second.lastSlot(of: "wf") == utc("2024-05-01T08:00:00Z"))

        clock.set("2024-05-02T08:00:05Z")
        _ = await second.runOnce()
        #expect(fired.slots == ["2024-05-01T08:00:00Z", "2024-05-02T08:00:00Z"])
    }

    /// Two schedulers on one state database (a daemon and `schedule --once` from cron): the daemon, paused before
    /// the slot while --once fired it, must not fire the same slot again from its memory when it resumes.
    @Test func aSlotFiredByAnotherSchedulerOnTheSameDatabaseIsNotFiredAgain() async throws {
        let (state, path) = try store()
        let clock = VirtualWallClock("2024-05-01T07:59:05Z")
        let fired = FireLog()
        let lines = LineLog()
        let every1m = Schedule(every: .interval(Seconds(60)))
        let daemon = try scheduler(
            [scheduled(every1m)], state: state, clock: clock, fire: counting(fired), lines: lines)
        _ = await daemon.runOnce()
        #expect(fired.slots == ["2024-05-01T07:59:00Z"])

        // The daemon is stopped (SIGSTOP); `schedule --once` on its own connection fires 08:00 and finishes.
        clock.set("2024-05-01T08:00:05Z")
        let once = try scheduler(
            [scheduled(every1m)], state: try StateStore(path: path), clock: clock, fire: counting(fired))
        #expect(await once.runOnce().map(\.outcome) == [.succeeded])
        #expect(fired.slots == ["2024-05-01T07:59:00Z", "2024-05-01T08:00:00Z"])

        // SIGCONT: the daemon wakes, its memory still says 07:59.
        clock.set("2024-05-01T08:00:20Z")
        #expect(await daemon.runOnce().isEmpty)
        #expect(fired.slots == ["2024-05-01T07:59:00Z", "2024-05-01T08:00:00Z"])
        #expect(
            lines.all.contains(
                "wf 2024-05-01 08:00 +00:00 (2024-05-01T08:00:00Z) slot already fired by another scheduler "
                    + "(the state database records it); not firing it again"))
        #expect(await daemon.lastSlot(of: "wf") == utc("2024-05-01T08:00:00Z"))
        #expect(try state.scheduleSlots(workflow: "wf")?.lastSlot == "2024-05-01T08:00:00Z")

        // The next slot is the daemon's as usual.
        clock.set("2024-05-01T08:01:02Z")
        _ = await daemon.runOnce()
        #expect(fired.slots == ["2024-05-01T07:59:00Z", "2024-05-01T08:00:00Z", "2024-05-01T08:01:00Z"])
    }

    /// A daemon that slept through slots another scheduler caught up does not catch them up a second time.
    @Test func catchUpAllStartsFromTheSlotsAnotherSchedulerStored() async throws {
        let (state, path) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:10Z")
        let fired = FireLog()
        var schedule = daily8
        schedule.catchUp = .all
        let daemon = try scheduler([scheduled(schedule)], state: state, clock: clock, fire: counting(fired))
        _ = await daemon.runOnce()
        #expect(fired.slots == ["2024-05-01T08:00:00Z"])

        clock.set("2024-05-03T09:00:00Z")
        let once = try scheduler(
            [scheduled(schedule)], state: try StateStore(path: path), clock: clock, fire: counting(fired))
        #expect(await once.runOnce().count == 2)

        clock.set("2024-05-04T09:00:00Z")
        _ = await daemon.runOnce()
        #expect(
            fired.slots == [
                "2024-05-01T08:00:00Z", "2024-05-02T08:00:00Z", "2024-05-03T08:00:00Z", "2024-05-04T08:00:00Z",
            ])
    }

    /// Schedulers deciding the same slot at the same moment on separate connections: one claim wins.
    @Test func simultaneousSchedulersClaimASlotOnce() async throws {
        let (_, path) = try store()
        let clock = VirtualWallClock("2024-05-01T07:59:30Z")
        let fired = FireLog()
        var daemons: [Scheduler] = []
        for _ in 0..<4 {
            daemons.append(
                try scheduler(
                    [scheduled(every15m)], state: try StateStore(path: path), clock: clock, fire: counting(fired)))
        }
        for daemon in daemons { _ = await daemon.runOnce() }
        clock.set("2024-05-01T08:00:05Z")
        await withTaskGroup(of: Void.self) { group in
            for daemon in daemons { group.addTask { _ = await daemon.runOnce() } }
        }
        #expect(fired.slots == ["2024-05-01T08:00:00Z"])
    }

    /// The loser of a race for the lease (another scheduler's run of the same workflow took it first) is a run
    /// skipped, not a failure that makes `--once` exit 1.
    @Test func aRunRefusedTheLeaseIsSkippedNotFailed() async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:05Z")
        let lines = LineLog()
        let scheduler = try scheduler(
            [scheduled(every15m)], state: state, clock: clock,
            fire: { workflow, _ in throw RunError.leaseHeld(workflow: workflow.name, pid: 4242, host: "ci-1") },
            lines: lines)
        let results = await scheduler.runOnce()
        #expect(results.count == 1)
        #expect(results.first?.skippedRunningElsewhere == true)
        #expect(results.first?.error == nil)
        #expect(results.first?.outcome == nil)
        #expect(
            lines.all.contains(
                "wf 2024-05-01T08:00:00Z run skipped: process 4242 on ci-1 is running the workflow (another "
                    + "scheduler or a `cartflow run`); nothing spent"))
    }

    @Test func theWallClockJumpingBackwardsNeverRepeatsASlot() async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T10:00:05Z")
        let fired = FireLog()
        let hourly = Schedule(every: .interval(Seconds(3600)))
        let scheduler = try scheduler([scheduled(hourly)], state: state, clock: clock, fire: counting(fired))
        _ = await scheduler.runOnce()
        #expect(fired.slots == ["2024-05-01T10:00:00Z"])

        clock.set("2024-05-01T08:30:00Z")  // set back 1 h 30 min
        let wake = await scheduler.tick()
        #expect(wake == utc("2024-05-01T11:00:00Z"))
        for text in ["2024-05-01T09:00:05Z", "2024-05-01T10:00:05Z", "2024-05-01T10:30:00Z"] {
            clock.set(text)
            _ = await scheduler.runOnce()
        }
        #expect(fired.count == 1)
        clock.set("2024-05-01T11:00:02Z")
        _ = await scheduler.runOnce()
        #expect(fired.slots == ["2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"])
    }

    // MARK: Edits while no daemon watched

    /// The stored slot records which schedule it belongs to: a schedule edited while the daemon was down starts
    /// from now, instead of catching up (and paying for) new-schedule slots that were never due.
    @Test func aScheduleEditedWhileTheDaemonWasDownIsNotCaughtUp() async throws {
        let (state, path) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:10Z")
        let fired = FireLog()
        var old = daily8
        old.catchUp = .all
        let first = try scheduler([scheduled(old)], state: state, clock: clock, fire: counting(fired))
        _ = await first.runOnce()
        #expect(fired.slots == ["2024-05-01T08:00:00Z"])

        // Down; the file now says 08:00, 12:00, 16:00 and 20:00. At 21:00 a new daemon starts.
        var edited = old
        edited.at = [8, 12, 16, 20].map { ClockTime(hour: $0, minute: 0) }
        clock.set("2024-05-01T21:00:00Z")
        let lines = LineLog()
        let second = try scheduler(
            [scheduled(edited)], state: try StateStore(path: path), clock: clock, fire: counting(fired), lines: lines)
        #expect(await second.runOnce().isEmpty)
        #expect(fired.count == 1)
        #expect(
            lines.all.contains(
                "wf schedule changed since its last slot (2024-05-01T08:00:00Z) was stored; slots from now on follow "
                    + "the new schedule, its past slots are not caught up"))

        // From now on the new schedule runs, and a later downtime is caught up normally.
        clock.set("2024-05-02T12:30:00Z")
        _ = await second.runOnce()
        #expect(fired.slots == ["2024-05-01T08:00:00Z", "2024-05-02T08:00:00Z", "2024-05-02T12:00:00Z"])
    }

    /// Changing only `catch_up` or `overlap` changes no slot: the daemon does not start the schedule over.
    @Test func anEditOfCatchUpAloneKeepsTheSlots() async throws {
        let (state, path) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:10Z")
        let fired = FireLog()
        _ = try await scheduler([scheduled(daily8)], state: state, clock: clock, fire: counting(fired)).runOnce()
        var edited = daily8
        edited.catchUp = .all
        edited.overlap = .queue
        clock.set("2024-05-03T09:00:00Z")
        _ = try await scheduler(
            [scheduled(edited)], state: try StateStore(path: path), clock: clock, fire: counting(fired)
        ).runOnce()
        #expect(fired.slots == ["2024-05-01T08:00:00Z", "2024-05-02T08:00:00Z", "2024-05-03T08:00:00Z"])
    }

    /// `schedule --once` from a cron that runs every 5 minutes decides a slot up to 5 minutes late; with the
    /// default tolerance (60 s) `catch_up: none` would count it as missed, with `--tolerance 5m` it runs.
    @Test(arguments: [(60.0, 0), (300.0, 1)])
    func aTolerantOnceRunsASlotDecidedMinutesLate(tolerance: TimeInterval, runs: Int) async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:10Z")
        let fired = FireLog()
        var schedule = daily8
        schedule.catchUp = .none
        var options = Scheduler.Options()
        options.tolerance = tolerance
        let make = {
            try Scheduler(
                workflows: [scheduled(schedule)], state: state, options: options, now: { clock.now },
                sleep: { _ in throw StopDaemon() }, fire: self.counting(fired), log: { _ in })
        }
        _ = try await make().runOnce()
        #expect(fired.count == 1)
        clock.set("2024-05-02T08:04:10Z")  // the cron's next tick after 08:00
        #expect(try await make().runOnce().count == runs)
    }

    // MARK: Overlap

    @Test(arguments: [Schedule.Overlap.skip, .queue])
    func aSlotDueWhileTheRunIsGoingFollowsOverlap(overlap: Schedule.Overlap) async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:05Z")
        let fired = FireLog()
        let lines = LineLog()
        let release = Event()
        var schedule = every15m
        schedule.overlap = overlap
        let scheduler = try scheduler(
            [scheduled(schedule)], state: state, clock: clock,
            fire: { workflow, slot in
                fired.append(workflow.name, slot.instant)
                if fired.count == 1 { await release.wait() }
                return .succeeded
            }, lines: lines)
        await scheduler.tick()
        #expect(await scheduler.isRunning("wf"))

        clock.set("2024-05-01T08:15:05Z")
        await scheduler.tick()
        clock.set("2024-05-01T08:30:05Z")
        await scheduler.tick()
        switch overlap {
        case .skip:
            #expect(lines.all.filter { $0.contains("skipped by overlap: the previous run is still going") }.count == 2)
            #expect(await scheduler.queuedSlot(of: "wf") == nil)
        case .queue:
            #expect(lines.all.contains { $0.contains("08:15:00Z) queued: runs when the previous run finishes") })
            #expect(lines.all.contains { $0.contains("08:30:00Z) skipped by overlap: a slot is already queued") })
            #expect(try state.scheduleSlots(workflow: "wf")?.queuedSlot == "2024-05-01T08:15:00Z")
        }

        release.fire()
        await scheduler.waitForRuns()
        clock.set("2024-05-01T08:31:00Z")
        await scheduler.tick()
        await scheduler.waitForRuns()
        switch overlap {
        case .skip: #expect(fired.slots == ["2024-05-01T08:00:00Z"])
        case .queue:
            #expect(fired.slots == ["2024-05-01T08:00:00Z", "2024-05-01T08:15:00Z"])
            #expect(lines.all.contains { $0.contains("fired from queue: the previous run finished") })
            #expect(try state.scheduleSlots(workflow: "wf")?.queuedSlot == nil)
        }
    }

    @Test(.timeLimit(.minutes(1))) func theLoopWakesWhenARunEndsWithASlotQueuedBehindIt() async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:05Z")
        let fired = FireLog()
        let lines = LineLog()
        let release = Event()
        let box = SchedulerBox()
        let sleeps = LineLog()
        var schedule = every15m
        schedule.overlap = .queue
        let scheduler = try Scheduler(
            workflows: [scheduled(schedule)], state: state, now: { clock.now },
            sleep: { _ in
                sleeps.append("sleep")
                switch sleeps.all.count {
                case 1: clock.set("2024-05-01T08:15:05Z")  // the 08:15 slot comes while 08:00 still runs
                case 2:
                    // Wait without time passing: only the end of the run can wake the loop now.
                    release.fire()
                    try await parkUntilCancelled(entered: Event())
                default:
                    await box.value?.waitForRuns()
                    throw StopDaemon()
                }
            },
            fire: { workflow, slot in
                fired.append(workflow.name, slot.instant)
                if fired.count == 1 { await release.wait() }
                return .succeeded
            }, log: { lines.append($0) })
        box.value = scheduler
        await scheduler.run()
        #expect(fired.slots == ["2024-05-01T08:00:00Z", "2024-05-01T08:15:00Z"])
        #expect(clock.now == utc("2024-05-01T08:15:05Z"))
        #expect(lines.all.contains { $0.contains("08:15:00Z) fired from queue: the previous run finished") })
        #expect(sleeps.all.count == 3)
    }

    @Test func aRunInAnotherProcessCountsAsOverlap() async throws {
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:00:05Z")
        let fired = FireLog()
        let lines = LineLog()
        // The lease a `cartflow run` of the same workflow holds (this process is alive, so the lease is live).
        #expect(
            try state.acquireLease(
                workflow: "wf", holder: "other", now: clock.now.timeIntervalSince1970, staleAfter: 60) == nil)
        let scheduler = try scheduler(
            [scheduled(every15m)], state: state, clock: clock, fire: counting(fired), lines: lines)
        _ = await scheduler.runOnce()
        #expect(fired.count == 0)
        #expect(lines.all.contains { $0.contains("skipped by overlap") })

        try state.releaseLease(workflow: "wf", holder: "other")
        clock.set("2024-05-01T08:15:05Z")
        _ = await scheduler.runOnce()
        #expect(fired.slots == ["2024-05-01T08:15:00Z"])
    }

    // MARK: Reloading

    @Test func anInvalidEditKeepsTheLastValidVersionAndIsReportedOnce() async throws {
        let directory = try CartflowProcess.temporaryDirectory("reload")
        let file = directory.appendingPathComponent("wf.yaml").path
        func write(_ every: String) throws {
            try """
            cartflow: 1
            name: wf
            collections:
              laptops: { id: 101 }
            schedule:
              every: \(every)
            """.write(toFile: file, atomically: true, encoding: .utf8)
        }
        try write("15m")
        let lines = LineLog()
        let loads = LineLog()  // the command's load closure prints the diagnostics: once per load
        let files = WorkflowFiles(
            paths: [directory.path],
            load: {
                loads.append($0)
                return WorkflowLoader.load(path: $0, environment: ["MULTICART_API_KEY": "k"]).workflow
            },
            log: { lines.append($0) })
        let initial = try #require(files.refresh())
        #expect(initial.map(\.schedule?.every) == [.interval(Seconds(900))])
        #expect(files.refresh() == nil)

        try write("fortnightly")
        #expect(files.refresh() == nil)
        #expect(files.refresh() == nil)
        #expect(
            lines.all.filter { $0.contains("the edit is invalid (see above); keeping the last valid version") }.count
                == 1)
        #expect(files.workflows.map(\.schedule?.every) == [.interval(Seconds(900))])
        #expect(loads.all.count == 2)
        // A touch with the same content is not an edit: no load, no report.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 0)], ofItemAtPath: file)
        #expect(files.refresh() == nil)
        #expect(loads.all.count == 2)

        try write("30m")
        let fixed = try #require(files.refresh())
        #expect(fixed.map(\.schedule?.every) == [.interval(Seconds(1800))])

        // The scheduler takes the new schedule from now on, without catching up its past slots.
        let (state, _) = try store()
        let clock = VirtualWallClock("2024-05-01T08:10:00Z")
        let fired = FireLog()
        let scheduler = try scheduler(initial, state: state, clock: clock, fire: counting(fired), lines: lines)
        _ = await scheduler.runOnce()
        clock.set("2024-05-01T08:20:00Z")
        await scheduler.update(fixed)
        _ = await scheduler.runOnce()
        #expect(fired.count == 0)
        #expect(lines.all.contains("wf schedule changed; slots from now on follow the new schedule"))
        clock.set("2024-05-01T08:30:10Z")
        _ = await scheduler.runOnce()
        #expect(fired.slots == ["2024-05-01T08:30:00Z"])
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Stopping

    @Test func cancellingTheDaemonLeavesTheRunResumableNotFailed() async throws {
        let h = try ExecutorHarness(completion: .never)
        let clock = VirtualWallClock("2024-05-04T08:00:05Z")
        var workflow = h.workflow()
        workflow.schedule = every15m
        let polling = Event()
        let client = MultiCartClient(
            baseURL: h.server.baseURL!, apiKey: h.key, retry: RetryPolicy(maxAttempts: 2), sleep: { _ in },
            random: { 0 })
        let parked = Event()
        let state = h.state
        let downloads = h.directory.appendingPathComponent("downloads").path
        let working = h.directory.path
        let lines = h.lines
        let scheduler = try Scheduler(
            workflows: [workflow], state: state, now: { clock.now },
            sleep: { _ in try await parkUntilCancelled(entered: parked) },
            fire: { workflow, _ in
                try await Executor(
                    workflow: workflow, client: client, state: state, clock: parkingClock(entered: polling),
                    options: Executor.Options(downloadsDirectory: downloads, workingDirectory: working)
                ).run().outcome
            }, log: { lines.append($0) })
        let daemon = Task { await scheduler.run() }
        await polling.wait()
        await parked.wait()
        daemon.cancel()
        await daemon.value

        #expect(h.triggers == 1)
        let run = try #require(try h.state.runs(workflow: "wf").first)
        #expect(run.status == "running")
        #expect(try h.state.liveLeaseHolder(workflow: "wf", now: Date().timeIntervalSince1970, staleAfter: 60) == nil)
        #expect(
            h.lines.all.contains("wf 2024-05-04T08:00:00Z run interrupted at a checkpoint; the next run resumes it"))
        #expect(h.lines.all.last == "stopped")
        // The next run resumes the same runner instead of paying again.
        let resumed = try await h.executor(workflow).run()
        #expect(resumed.resumed)
        #expect(h.triggers == 1)
    }
}
