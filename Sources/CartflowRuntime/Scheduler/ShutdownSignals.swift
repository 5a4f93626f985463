import Dispatch
import Foundation

/// Turns SIGTERM and SIGINT into a call of `handler` instead of killing the process, so the scheduler can stop
/// its runs at a checkpoint. Restores the default actions when cancelled.
public final class ShutdownSignals: @unchecked Sendable {
    private let sources: [(signal: Int32, source: any DispatchSourceSignal)]

    public init(signals: [Int32] = [SIGTERM, SIGINT], handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            // The default action would end the process before the dispatch source sees the signal.
            signal(number, SIG_IGN)
            // A global queue: the main thread of `cartflow` is blocked waiting for the command to finish.
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return (number, source)
        }
    }

    public func cancel() {
        for (number, source) in sources {
            source.cancel()
            signal(number, SIG_DFL)
        }
    }

    /// `SIGTERM`, `SIGINT` or the number, for the log.
    public static func name(_ number: Int32) -> String {
        switch number {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(number)"
        }
    }
}
