import Foundation
import ModelgateCore
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
struct UserLimitGuard: Sendable {
    /// A slot of a crashed instance frees itself after this.
    static let streamSlotLifetime: TimeInterval = 15 * 60

    let limits: UserLimits
    let repository: UserLimitRepository
    let database: Database
    let outbox: AnalyticsOutbox
    let clock: any WallClock
    let makeID: @Sendable () -> UUID

    /// Admits a chat call: one request of the minute and one open slot. Returns what frees the
    /// slot, to run when the answer has been written (nil when streams are not limited).
    func admitChat(_ user: UserID) async throws -> (@Sendable () async -> Void)? {
        if let perMinute = limits.requestsPerMinute {
            try await take(.chat, for: user, limit: perMinute, window: 60, refused: .requestsPerMinute)
        }
        guard let maxStreams = limits.maxStreams else { return nil }
        let id = makeID().uuidString.lowercased()
        let now = clock.now()
        guard try await repository.openStream(id: id, user: user, limit: maxStreams, expiresAt: now.addingTimeInterval(Self.streamSlotLifetime), at: now) else {
            try await refuse(.concurrentStreams, allowed: maxStreams, retryAfter: 1, user: user)
        }
        return { [repository] in try? await repository.closeStream(id: id) }
    }

    func admitCheckout(_ user: UserID) async throws {
        guard let perHour = limits.checkoutsPerHour else { return }
        try await take(.checkout, for: user, limit: perHour, window: 3600, refused: .checkoutsPerHour)
    }

    /// Refuses a request whose messages together are longer than the limit (before any charge).
    func checkPromptSize(_ bytes: Int) throws {
        if let limit = limits.maxPromptBytes, bytes > limit { throw ModelgateError.promptTooLarge(bytes: bytes, limit: limit) }
    }

    private func take(_ scope: UserLimitRepository.Scope, for user: UserID, limit: Int, window: TimeInterval, refused: RequestLimit) async throws {
        let now = clock.now().timeIntervalSince1970
        let start = floor(now / window) * window
        guard try await repository.take(scope, user: user, window: String(Int(start)), limit: limit) else {
            try await refuse(refused, allowed: limit, retryAfter: max(1, Int((start + window - now).rounded(.up))), user: user)
        }
    }

    private func refuse(_ limit: RequestLimit, allowed: Int, retryAfter: Int, user: UserID) async throws -> Never {
        let now = clock.now()
        try await database.write { db in
            _ = try await outbox.enqueue([.requestLimitHit(limit: limit, retryAfterSeconds: retryAfter)], for: user, at: now, in: db)
        }
        throw ModelgateError.userLimitReached(limit, allowed: allowed, retryAfterSeconds: retryAfter)
    }
}
