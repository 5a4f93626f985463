import CartflowCore
import CartflowRuntime
import Foundation
import MultiCart

/// Maps any error to the message shown on stderr and the exit code — the one place that does.
func report(_ error: any Error, output: Output) -> ExitCode {
    switch error {
    case let error as UsageError:
        output.error("cartflow: \(error.message)")
        return .usage
    case is InvalidWorkflow:
        return .invalidWorkflow
    case let error as MultiCartError:
        output.error("cartflow: error: \(error.description)")
        if case .creditGate = error { return .blockedByCredits }
        return .failure
    case let error as RunError:
        output.error("cartflow: error: \(error.description)")
        switch error {
        case .creditGate: return .blockedByCredits
        case .pollTimeout: return .pollTimeout
        default: return .failure
        }
    default:
        output.error("cartflow: error: \(describe(error))")
        return .failure
    }
}

/// A readable description of an error; never a bare `localizedDescription` (useless on Linux).
func describe(_ error: any Error) -> String {
    if let localized = error as? LocalizedError, let text = localized.errorDescription { return text }
    return String(describing: error)
}
