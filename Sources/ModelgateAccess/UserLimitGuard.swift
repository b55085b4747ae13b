import Foundation
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

/// Per-user abuse limits on what costs money; `nil` turns one off.
public struct UserLimits: Sendable, Equatable {
    /// Chat requests a user may send per minute (`/api/chat`, `/v1/chat/completions`).
    public var requestsPerMinute: Int?
    /// Chat calls a user may have open at once.
    public var maxStreams: Int?
    /// Stripe checkout sessions a user may start per hour.
    public var checkoutsPerHour: Int?
    /// The total text of one chat request (every message), in UTF-8 bytes.
    public var maxPromptBytes: Int?

    public init(requestsPerMinute: Int? = 60, maxStreams: Int? = 4, checkoutsPerHour: Int? = 10, maxPromptBytes: Int? = 256 * 1024) {
        self.requestsPerMinute = requestsPerMinute
        self.maxStreams = maxStreams
        self.checkoutsPerHour = checkoutsPerHour
        self.maxPromptBytes = maxPromptBytes
    }

    public static let off = UserLimits(requestsPerMinute: nil, maxStreams: nil, checkoutsPerHour: nil, maxPromptBytes: nil)
}

/// The one place per-user abuse limits are decided. Counts live in the database, so they are exact
/// across instances; a refusal is a 429 with `Retry-After` that costs nothing and writes one
/// `request_limit_hit` event.
public struct UserLimitGuard: Sendable {
    /// A slot of a crashed instance frees itself after this.

    let limits: UserLimits
    let repository: UserLimitRepository
    let database: Database
    let outbox: AnalyticsOutbox
    let clock: any WallClock
    let makeID: @Sendable () -> UUID
    /// This instance's open calls: a user already at the limit here is refused without the database.
    let gate: OpenCallGate

    public init(limits: UserLimits, repository: UserLimitRepository, database: Database, outbox: AnalyticsOutbox, clock: any WallClock, makeID: @escaping @Sendable () -> UUID, gate: OpenCallGate) {
        self.limits = limits
        self.repository = repository
        self.database = database
        self.outbox = outbox
        self.clock = clock
        self.makeID = makeID
        self.gate = gate
    }

    /// Admits a chat call: one request of the minute and one open slot. Returns what frees the
    /// slot, to run when the answer has been written (nil when streams are not limited). A call
    /// refused by this instance's own count is not counted in the minute (it never reached it).
    public func admitChat(_ user: UserID) async throws -> (@Sendable () async -> Void)? {
        guard limits.requestsPerMinute != nil || limits.maxStreams != nil else { return nil }
        var pass: OpenCallGate.Pass?
        if let maxStreams = limits.maxStreams {
            let now = clock.now()
            pass = gate.enter([OpenCallGate.Place(subject: "user:\(user)", limit: maxStreams)],
                              expiresAt: now.addingTimeInterval(OpenCallGate.callLifetime), at: now)
            if pass == nil { try await refuse(.concurrentStreams, allowed: maxStreams, retryAfter: 1, user: user) }
        }
        do {
            guard let release = try await admit(user) else {
                pass?.leave()
                return nil
            }
            return { [pass] in
                await release()
                pass?.leave()
            }
        } catch {
            pass?.leave()
            throw error
        }
    }

    private func admit(_ user: UserID) async throws -> (@Sendable () async -> Void)? {
        let now = clock.now()
        let window = limits.requestsPerMinute.map { perMinute in
            UserLimitRepository.RequestWindow(start: String(Int(Self.windowStart(now, length: 60))), limit: perMinute)
        }
        let slot = limits.maxStreams.map { maxStreams in
            UserLimitRepository.StreamSlot(
                id: makeID().uuidString.lowercased(), limit: maxStreams, expiresAt: now.addingTimeInterval(OpenCallGate.callLifetime))
        }
        switch try await repository.admitChat(user, window: window, stream: slot, at: now) {
        case .admitted:
            guard let slot else { return nil }
            return { [repository, clock] in try? await repository.closeStream(id: slot.id, user: user, at: clock.now()) }
        case .windowFull:
            let perMinute = window?.limit ?? 0
            try await refuse(.requestsPerMinute, allowed: perMinute, retryAfter: Self.secondsLeft(of: 60, at: now), user: user)
        case .tooManyStreams:
            try await refuse(.concurrentStreams, allowed: slot?.limit ?? 0, retryAfter: 1, user: user)
        }
    }

    func admitCheckout(_ user: UserID) async throws {
        guard let perHour = limits.checkoutsPerHour else { return }
        try await take(.checkout, for: user, limit: perHour, window: 3600, refused: .checkoutsPerHour)
    }

    /// Refuses a request whose messages together are longer than the limit (before any charge).
    public func checkPromptSize(_ bytes: Int) throws {
        if let limit = limits.maxPromptBytes, bytes > limit { throw ModelgateError.promptTooLarge(bytes: bytes, limit: limit) }
    }

    private func take(_ scope: UserLimitRepository.Scope, for user: UserID, limit: Int, window: TimeInterval, refused: RequestLimit) async throws {
        let now = clock.now()
        guard try await repository.take(scope, user: user, window: String(Int(Self.windowStart(now, length: window))), limit: limit) else {
            try await refuse(refused, allowed: limit, retryAfter: Self.secondsLeft(of: window, at: now), user: user)
        }
    }

    private static func windowStart(_ now: Date, length: TimeInterval) -> TimeInterval {
        floor(now.timeIntervalSince1970 / length) * length
    }

    private static func secondsLeft(of length: TimeInterval, at now: Date) -> Int {
        max(1, Int((windowStart(now, length: length) + length - now.timeIntervalSince1970).rounded(.up)))
    }

    private func refuse(_ limit: RequestLimit, allowed: Int, retryAfter: Int, user: UserID) async throws -> Never {
        let now = clock.now()
        try await database.write { db in
            _ = try await outbox.enqueue([.requestLimitHit(limit: limit, retryAfterSeconds: retryAfter)], for: user, at: now, in: db)
        }
        throw ModelgateError.userLimitReached(limit, allowed: allowed, retryAfterSeconds: retryAfter)
    }
}
