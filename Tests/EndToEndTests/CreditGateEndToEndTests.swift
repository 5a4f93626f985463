import CartflowTestSupport
import Foundation
import MultiCartSandbox
import Testing

/// The API's own credit gate, not the workflow's rules: the workflow's check passes on a stale `items:` hint
/// (the item-count endpoint is down), the trigger is refused with code 402 inside HTTP 200, and nothing changes.
@Suite struct CreditGateEndToEndTests {
    @Test func theAPIsCreditGateRefusesAndNothingIsQueuedOrDeducted() async throws {
        var faults = SandboxFaults()
        faults.envelopeError = FaultRule(probability: 1, endpoints: [.asinList])
        let e = try EndToEnd(credits: 100, faults: faults)
        try """
        cartflow: 1
        name: gate
        collections:
          laptops: { id: 101, items: 10 }
        steps:
          - export: csv
            path: out/gate.csv
        """.write(to: e.directory.appendingPathComponent("workflows/gate.yaml"), atomically: true, encoding: .utf8)
        let before = e.server.snapshot()
        let result = try await e.run(["run", "workflows/gate.yaml"])
        #expect(result.exitCode == 4, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("Not enough credits — you need 250 but have 100 remaining."))
        let triggers = e.server.requestLog().filter { $0.endpoint == .trigger }
        #expect(triggers.count == 1)
        #expect(triggers.first?.envelopeCode == 402)
        #expect(triggers.first?.runnerID == nil)
        let after = e.server.snapshot()
        #expect(after.spendableCredits == before.spendableCredits, "balance unchanged")
        #expect(after.frozenCredits == 0 && after.usedCredits == 0)
        #expect(
            after.runners.mapValues { $0.map(\.id) } == before.runners.mapValues { $0.map(\.id) }, "no runner created")
        let logged = try String(contentsOfFile: e.logPath, encoding: .utf8)
        #expect(logged.contains("\"envelopeCode\":402") || logged.contains("\"envelope_code\":402"))
        #expect(e.files(under: "out").isEmpty)
    }
}
