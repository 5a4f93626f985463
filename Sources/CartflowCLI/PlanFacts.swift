import CartflowCore
import CartflowRuntime
import Foundation
import MultiCart

/// The read-only part of the MultiCart API: everything `cartflow plan` may ask. The plan's fact gatherer takes
/// only this protocol, so no code path of a dry run can reach `MultiCartClient.triggerRun`.
protocol PlanFactSource: Sendable {
    func credits() async throws -> CreditBalance
    func itemCount(collectionID: Int) async throws -> Int
    func runHistory(collectionID: Int, skip: Int, limit: Int) async throws -> [RunnerRecord]
}

extension MultiCartClient: PlanFactSource {}

/// Gathers the facts a plan needs: the balance, item counts and newest runners from the API (read-only), and the
/// unfinished run from the state database (which it never creates).
enum PlanFactGatherer {
    /// Asks `source` (nil = offline) and reads the state database at `statePath` (`shownPath` is how the plan
    /// names it). Throws when the balance cannot be read (unreachable API, refused key): a plan without it
    /// would guess, and `--offline` is the honest way to plan without the API.
    static func gather(
        _ workflow: Workflow, source: (any PlanFactSource)?, mode: PlanFacts.Mode, statePath: String, shownPath: String
    ) async throws -> PlanFacts {
        // `run --sandbox` always starts afresh (an emulator cannot know an earlier run's runners): nothing resumes.
        let state =
            mode == .sandbox
            ? (FileManager.default.fileExists(atPath: statePath)
                ? .noUnfinishedRun(path: shownPath) : .absent(path: shownPath))
            : readState(workflow, path: statePath, shownPath: shownPath)
        var facts = PlanFacts(mode: mode, state: state)
        guard let source else { return facts }
        facts.balance = try await source.credits()
        for spec in workflow.collections {
            do {
                facts.itemCounts[spec.name] = .checked(try await source.itemCount(collectionID: spec.id))
            } catch let error as MultiCartError {
                if case .authentication = error { throw error }
                facts.itemCounts[spec.name] = .unavailable(reason: error.description)
            }
            do {
                let newest = try await source.runHistory(collectionID: spec.id, skip: 0, limit: 1).first
                facts.newestRunners[spec.name] =
                    newest.map { .runner(id: $0.id, generated: $0.isDownloadGenerated, createdAt: $0.createdAt) }
                    ?? .noRunner
            } catch let error as MultiCartError {
                if case .authentication = error { throw error }
                facts.newestRunners[spec.name] = .unavailable(reason: error.description)
            }
        }
        return facts
    }

    /// The unfinished run of the workflow, without creating a database that is not there.
    static func readState(_ workflow: Workflow, path: String, shownPath: String) -> PlanFacts.State {
        guard FileManager.default.fileExists(atPath: path) else { return .absent(path: shownPath) }
        do {
            let store = try StateStore(path: path)
            guard let run = try store.unfinishedRun(workflow: workflow.name) else {
                return .noUnfinishedRun(path: shownPath)
            }
            let collections = try store.collectionRuns(runID: run.id).map {
                PlanFacts.ResumableCollection(
                    name: $0.collection, collectionID: $0.collectionID, phase: $0.phase, runnerID: $0.runnerID,
                    attribution: $0.attribution, items: $0.items, baselineRunner: $0.baselineRunner)
            }
            return .unfinished(
                path: shownPath,
                run: PlanFacts.UnfinishedRun(
                    id: run.id, status: run.status, startedAt: run.startedAt, collections: collections))
        } catch {
            return .unreadable(path: shownPath, reason: describe(error))
        }
    }
}
