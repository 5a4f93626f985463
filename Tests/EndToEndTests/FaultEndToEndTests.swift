import CartflowRuntime
import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// Every sandbox fault against the built binary: a transient fault ends in success, a permanent one in a clear
/// message and the right exit code, and the state database stays consistent (one trigger at most, runner kept).
@Suite(.serialized) struct FaultEndToEndTests {
    func faults(_ edit: (inout SandboxFaults) -> Void) -> SandboxFaults {
        var faults = SandboxFaults()
        edit(&faults)
        return faults
    }

    /// Faults the run rides out: exit 0, one trigger, the export complete.
    @Test(arguments: [
        "5xx on reads", "5xx on the trigger (answer lost)", "429 with Retry-After", "envelope error", "latency",
        "truncated download", "trickled download", "trigger answered late", "rival runner",
        "connection dropped after the trigger",
    ])
    func transientFaultStillSucceeds(name: String) async throws {
        let faults: SandboxFaults =
            switch name {
            case "5xx on reads": faults { $0.httpError = FaultRule(first: 2, endpoints: [.credits, .history, .file]) }
            case "5xx on the trigger (answer lost)":
                faults { $0.httpError = FaultRule(first: 1, endpoints: [.trigger]) }
            case "429 with Retry-After": faults { $0.rateLimit = FaultRule(first: 1, endpoints: [.history]) }
            case "envelope error": faults { $0.envelopeError = FaultRule(first: 2, endpoints: [.credits, .asinList]) }
            case "latency": faults { $0.latency = .milliseconds(30) }
            case "truncated download": faults { $0.truncate = FaultRule(first: 2) }
            case "trickled download":
                faults {
                    $0.trickle = FaultRule(first: 1)
                    $0.trickleBytes = 4_096
                    $0.trickleInterval = .milliseconds(5)
                }
            case "trigger answered late": faults { $0.triggerDelay = .milliseconds(500) }
            case "connection dropped after the trigger": faults { $0.dropConnection = .always }
            default: faults { $0.rivalRunner = .always }
            }
        let h = try CrashHarness(faults: faults)
        let result = try await h.run(["run", "crash.yaml", "--verbose"])
        #expect(result.exitCode == 0, "\(name): \(result.stderr)")
        #expect(h.triggers.count == 1)
        let runner = try #require(h.triggers.first?.runnerID)
        let record = try #require(try h.collection())
        #expect(record.phase == "fetched")
        #expect(record.runnerID == runner)
        try h.expectCompleteExport(runner: runner)
        if name == "rival runner" {
            #expect(record.attribution == "ambiguous")
            #expect(record.candidates == [runner, runner + 1])
            let status = try await h.run(["status", "crash.yaml"])
            #expect(status.stdout.contains("AMBIGUOUS, candidates \(runner), \(runner + 1)"))
        }
        if name == "5xx on the trigger (answer lost)" || name == "connection dropped after the trigger" {
            #expect(record.attribution == "adopted_after_lost_answer")
        }
    }

    @Test func permanentServerErrorsFailClearlyBeforeAnyTrigger() async throws {
        let h = try CrashHarness(faults: faults { $0.httpError = FaultRule(probability: 1, endpoints: [.credits]) })
        let result = try await h.run()
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("answered HTTP 503"))
        #expect(h.triggers.isEmpty)
    }

    @Test func permanentEnvelopeErrorsOnTheHistoryFailBeforeTheIntent() async throws {
        let h = try CrashHarness(faults: faults { $0.envelopeError = FaultRule(probability: 1, endpoints: [.history]) })
        let result = try await h.run()
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("error code 500"))
        #expect(h.triggers.isEmpty)
        #expect(try h.collection()?.intentAt == nil)
    }

    /// Downloads that never arrive whole: exit 1, the runner kept, no file recorded; a rerun resumes (no trigger).
    @Test func permanentlyTruncatedDownloadsFailAndResume() async throws {
        let h = try CrashHarness(faults: faults { $0.truncate = .always })
        let result = try await h.run()
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("cut short") || result.stdout.contains("could not reach"))
        let record = try #require(try h.collection())
        #expect(record.phase == "failed")
        #expect(record.runnerID == h.triggers.first?.runnerID)
        #expect(try h.state().files(collectionRunID: record.id).isEmpty)
        #expect(h.downloadedNames().isEmpty)
        let again = try await h.run()
        #expect(again.exitCode == 1)
        #expect(again.stdout.contains("(resumed)"))
        #expect(h.triggers.count == 1)
    }

    /// C18: the runner never finishes: exit 5 with the runner kept; after it finishes, `run` resumes.
    @Test func neverFinishingRunnerTimesOutWithExitFiveAndResumes() async throws {
        let h = try CrashHarness(
            faults: faults { $0.neverFinish = FaultRule(first: 1) },
            poll: "{ interval: 1s, max_interval: 1s, timeout: 2s, attribution_grace: 2s }")
        let result = try await h.run()
        #expect(result.exitCode == 5, "stderr: \(result.stderr)")
        let runner = try #require(h.triggers.first?.runnerID)
        #expect(try h.collection()?.phase == "timed_out")
        #expect(try h.collection()?.runnerID == runner)
        let status = try await h.run(["status", "crash.yaml"])
        #expect(status.stdout.contains("poll timed out"))
        // The real plan resumes it; a sandbox plan never does (`run --sandbox` starts afresh, in its own database).
        let plan = try await h.run(["plan", "crash.yaml"])
        #expect(plan.stdout.contains("resumes run #1"), "stdout: \(plan.stdout)")
        let sandboxPlan = try await h.run(["plan", "crash.yaml", "--sandbox"])
        #expect(sandboxPlan.exitCode == 0, "stderr: \(sandboxPlan.stderr)")
        #expect(!sandboxPlan.stdout.contains("resumes run"), "stdout: \(sandboxPlan.stdout)")
        #expect(sandboxPlan.stdout.contains(".cartflow/sandbox/state.db"), "stdout: \(sandboxPlan.stdout)")
        h.server.finishRunner(runner)
        let again = try await h.run()
        #expect(again.exitCode == 0, "stderr: \(again.stderr)")
        #expect(h.triggers.count == 1)
        try h.expectCompleteExport(runner: runner)
    }

    /// C14: API calls redirected to another origin are refused, and nothing reaches the other listener.
    @Test func redirectedAPICallsAreRefused() async throws {
        let h = try CrashHarness(faults: faults { $0.redirect = .always })
        let result = try await h.run()
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("redirected (HTTP 302) to another origin"))
        #expect(h.server.requestLog().filter { $0.listener == "other" }.isEmpty)
        #expect(h.triggers.isEmpty)
    }

    /// C14 with concurrent downloads: every page download is redirected to an origin that is not allowed, so
    /// several refusals (and the cancellation of their sibling downloads) come at once. The run fails cleanly —
    /// no FoundationNetworking trap for a redirect answered after its task was cancelled — and nothing reaches
    /// the other origin, so the key stays home.
    @Test func concurrentRefusedDownloadRedirectsFailCleanly() async throws {
        for round in 1...3 {
            let h = try CrashHarness(
                faults: faults { $0.redirect = FaultRule(probability: 1, endpoints: [.file]) }, concurrency: 4)
            let result = try await h.run()
            #expect(result.exitCode == 1, "round \(round): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "round \(round)")
            #expect(result.stdout.contains("redirected (HTTP 302) to another origin"), "round \(round)")
            #expect(h.server.requestLog().filter { $0.listener == "other" }.isEmpty)
            #expect(h.triggers.count == 1)
            #expect(h.downloadedNames().isEmpty)
        }
    }

    /// C14: download links on another host: refused unless allowed; allowed, fetched without the key.
    @Test func foreignDownloadLinksNeedPermissionAndNeverGetTheKey() async throws {
        let refused = try CrashHarness(faults: faults { $0.foreignLinks = true })
        let first = try await refused.run()
        #expect(first.exitCode == 1)
        #expect(first.stdout.contains("allow_download_hosts"))
        #expect(refused.server.requestLog().filter { $0.listener == "other" }.isEmpty)

        let allowed = try CrashHarness(
            faults: faults { $0.foreignLinks = true }, api: "api: { allow_download_hosts: [localhost] }")
        let second = try await allowed.run()
        #expect(second.exitCode == 0, "stderr: \(second.stderr)")
        let other = allowed.server.requestLog().filter { $0.listener == "other" }
        #expect(other.count == 3)
        #expect(other.allSatisfy { !$0.keyPresent })
        try allowed.expectCompleteExport(runner: try #require(allowed.triggers.first?.runnerID))
    }

    /// C22: a hostile ZIP is refused whole; nothing is written.
    @Test func hostileZipFailsTheRunAndWritesNothing() async throws {
        let h = try CrashHarness(faults: faults { $0.hostileZipEntry = .traversal }, from: "zip")
        let result = try await h.run()
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("ZIP entry '../../escaped.json' refused"))
        #expect(h.downloadedNames().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: h.directory.appendingPathComponent("escaped.json").path))
        #expect(h.triggers.count == 1)
    }
}
