import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import NIOConcurrencyHelpers

/// Per provider, shared by the requests of this instance (and, on PostgreSQL, with the other
/// instances through `CircuitSync`): after `threshold` failures (before the first token) within
/// `window`, the provider is skipped — its requests go straight to a stand-in — for `cooldown`; then
/// one request is let through as a probe, and its answer closes the circuit or opens it again.
final class CircuitBreaker: Sendable {
    struct Settings: Sendable {
        var threshold = 5
        var window: TimeInterval = 30
        var cooldown: TimeInterval = 15
    }

    private enum State {
        case closed(failures: [Date])
        /// `shared`: another instance opened it (it closes when that one says so, or at `until`).
        case open(until: Date, shared: Bool)
        /// A probe is out: everyone else still skips the provider until it answers.
        case probing
    }

    /// What this instance decided and the others should learn: open until a time, or closed.
    struct Change: Sendable, Equatable {
        let provider: Provider
        let openUntil: Date?
    }

    private struct Circuits {
        var states: [Provider: State] = [:]
        var unpublished: [Provider: Date?] = [:]
    }

    private let settings: Settings
    private let clock: any WallClock
    private let circuits = NIOLockedValueBox(Circuits())

    init(settings: Settings = .init(), clock: any WallClock) {
        self.settings = settings
        self.clock = clock
    }

    /// Whether a request may go to `provider` now; after the cooldown the first asker becomes the probe.
    func allows(_ provider: Provider) -> Bool {
        let now = clock.now()
        return circuits.withLockedValue { circuits in
            switch circuits.states[provider] ?? .closed(failures: []) {
            case .closed: return true
            case .probing: return false
            case .open(let until, _) where now >= until:
                circuits.states[provider] = .probing
                return true
            case .open: return false
            }
        }
    }

    /// An answer (the first token arrived, or a refusal that shows the provider is up): it closes.
    func succeeded(_ provider: Provider) {
        circuits.withLockedValue { circuits in
            if case .closed = circuits.states[provider] ?? .closed(failures: []) {} else { circuits.unpublished[provider] = .some(nil) }
            circuits.states[provider] = .closed(failures: [])
        }
    }

    /// A call that ended without telling whether the provider is up (the client left): a probe's turn
    /// passes to the next request; nothing else changes.
    func abandoned(_ provider: Provider) {
        let now = clock.now()
        circuits.withLockedValue { circuits in
            if case .probing = circuits.states[provider] { circuits.states[provider] = .open(until: now, shared: false) }
        }
    }

    /// Changes that could not be published go out with the next round (newer ones for the same provider win).
    func requeue(_ changes: [Change]) {
        circuits.withLockedValue { circuits in
            for change in changes where circuits.unpublished[change.provider] == nil { circuits.unpublished[change.provider] = .some(change.openUntil) }
        }
    }

    /// A failure before the first token; returns true when it opened the circuit.
    @discardableResult
    func failed(_ provider: Provider) -> Bool {
        let now = clock.now()
        let until = now.addingTimeInterval(settings.cooldown)
        return circuits.withLockedValue { circuits in
            if case .closed(let failures) = circuits.states[provider] ?? .closed(failures: []) {
                let recent = failures.filter { now.timeIntervalSince($0) < settings.window } + [now]
                guard recent.count >= settings.threshold else {
                    circuits.states[provider] = .closed(failures: recent)
                    return false
                }
            }
            circuits.states[provider] = .open(until: until, shared: false)
            circuits.unpublished[provider] = .some(until)
            return true
        }
    }

    /// The changes made here since the last call, for the other instances.
    func takeChanges() -> [Change] {
        circuits.withLockedValue { circuits in
            defer { circuits.unpublished = [:] }
            return circuits.unpublished.map { Change(provider: $0.key, openUntil: $0.value) }.sorted { $0.provider.rawValue < $1.provider.rawValue }
        }
    }

    /// Takes in the circuits other instances have open: a closed circuit here opens until theirs
    /// closes; one opened by them closes when they no longer publish it.
    func adopt(_ open: [Provider: Date]) {
        circuits.withLockedValue { circuits in
            for provider in Provider.allCases where circuits.unpublished[provider] == nil {
                switch (circuits.states[provider] ?? .closed(failures: []), open[provider]) {
                case (.closed, let until?): circuits.states[provider] = .open(until: until, shared: true)
                case (.open(_, true), nil): circuits.states[provider] = .closed(failures: [])
                case (.open(_, true), let until?): circuits.states[provider] = .open(until: until, shared: true)
                default: break
                }
            }
        }
    }

    /// The providers whose circuit is open (or probing) now.
    var openProviders: [Provider] {
        circuits.withLockedValue { circuits in
            Provider.allCases.filter { provider in
                switch circuits.states[provider] {
                case .open, .probing: true
                case .closed, nil: false
                }
            }
        }
    }
}
