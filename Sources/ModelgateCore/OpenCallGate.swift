import Foundation
import Synchronization

/// The chat calls this instance holds per subject (a user, a key, one end user of a key): open, or
/// on their way to the database's decision. The database's count stays the one that decides, exact
/// across instances; this one spares it a burst. A call that finds its subject with as many calls
/// here as the limit allows is refused at once, without a pooled connection or a row lock: were
/// every one of them admitted, it would be refused there too. So a burst of one user sends at most
/// `limit` calls per instance to the database, each answered in the time of a few short
/// transactions, instead of queueing hundreds on one row until the pool's timeout; and it never
/// admits more than the database would. At the edge of a burst it refuses a call that, a moment
/// later, might have found a slot freed by a refusal there: as if it had come a moment earlier.
public final class OpenCallGate: Sendable {
    /// How long a call holds what it took (its open-call slots, its budget hold) at the most: an
    /// instance that died, or a write that never came, frees them by then.
    public static let callLifetime: TimeInterval = 15 * 60

    /// A place of one subject under its limit.
    public struct Place: Sendable, Hashable {
        let subject: String
        let limit: Int

        public init(subject: String, limit: Int) {
            self.subject = subject
            self.limit = limit
        }
    }

    /// Each subject's places, by pass, with when each stops counting: a pass whose call never gave
    /// it back (an answer that was never written) expires with its slot in the database.
    private let held = Mutex([String: [ObjectIdentifier: Date]]())

    public init() {}

    /// Takes one place under each limit, all or none, until `expiresAt` at the latest; nil when any
    /// subject is at its limit at `now`. The returned pass gives them back once.
    public func enter(_ places: [Place], expiresAt: Date, at now: Date) -> Pass? {
        let pass = Pass(gate: self, subjects: places.map(\.subject))
        let entered = held.withLock { held in
            for place in places { held[place.subject] = held[place.subject]?.filter { $0.value > now } }
            guard places.allSatisfy({ (held[$0.subject]?.count ?? 0) < $0.limit }) else { return false }
            for place in places { held[place.subject, default: [:]][ObjectIdentifier(pass)] = expiresAt }
            return true
        }
        return entered ? pass : nil
    }

    fileprivate func leave(_ pass: Pass, _ subjects: [String]) {
        held.withLock { held in
            for subject in subjects {
                held[subject]?[ObjectIdentifier(pass)] = nil
                if held[subject]?.isEmpty == true { held[subject] = nil }
            }
        }
    }

    /// The places one call holds; `leave()` gives them back (a second call does nothing).
    public final class Pass: Sendable {
        private let gate: OpenCallGate
        private let subjects: Mutex<[String]?>

        fileprivate init(gate: OpenCallGate, subjects: [String]) {
            self.gate = gate
            self.subjects = Mutex(subjects)
        }

        public func leave() {
            guard let subjects = subjects.withLock({ value -> [String]? in defer { value = nil }; return value }) else { return }
            gate.leave(self, subjects)
        }
    }
}
