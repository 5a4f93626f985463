import CartflowCore
import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCart
import MultiCartSandbox
import Testing

/// What a resumed run does with what an earlier attempt left (docs/running.md).
@Suite struct ExecutorResumeTests {
    // MARK: Timeouts that are over

    /// A runner that timed out in one run and finished before the next, whose download then fails: the
    /// collection is failed with the download's error (exit 1), not still "timed out" (exit 5, "did not finish
    /// within …"); the run after that fetches it without a trigger.
    @Test func aTimeoutThatIsOverNoLongerReadsAsOneWhenTheFetchFails() async throws {
        var faults = SandboxFaults()
        faults.neverFinish = FaultRule(first: 1)
        // The client makes 4 attempts per file: the first file fails all of them, then the faults are used up.
        faults.httpError = FaultRule(first: 4, endpoints: [.file])
        let h = try ExecutorHarness(faults: faults)
        let workflow = h.workflow(fetch: FetchConfig(from: .pages, concurrency: 1))
        let first = try await h.executor(workflow).run()
        #expect(first.outcome == .timedOut)
        let runner = try #require(first.collections.first?.runnerID)

        h.server.finishRunner(runner)
        let second = try await h.executor(workflow).run()
        #expect(second.resumed)
        #expect(second.outcome == .failed)
        let result = try #require(second.collections.first)
        #expect(result.phase == "failed")
        #expect(result.detail?.contains("did not finish") == false)
        #expect(try h.state.run(id: second.runID)?.status == "failed")

        let third = try await h.executor(workflow).run()
        #expect(third.outcome == .succeeded)
        #expect(third.collections.first?.runnerID == runner)
        #expect(h.triggers == 1)
    }
}
