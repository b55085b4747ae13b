import Foundation
import Logging
import ModelgateAccess
import ModelgateCore
import ModelgateKeys
import ModelgateStore

/// Returns what calls held and never gave back — budget holds past their expiry, open-call slots
/// of instances that died — every 30 seconds, so nothing held outlives its call by more than
/// `OpenCallGate.callLifetime` plus an interval. Every instance sweeps; a hold is returned once.
struct HoldSweeper: Sendable {
    let spend: SpendLedger
    let userSlots: UserLimitRepository
    let keySlots: ApiKeyRepository
    let clock: any WallClock
    let logger: Logger

    init(database: Database, clock: any WallClock, logger: Logger) {
        spend = SpendLedger(database: database)
        userSlots = UserLimitRepository(database: database)
        keySlots = ApiKeyRepository(database: database)
        self.clock = clock
        self.logger = logger
    }

    func sweepOnce() async {
        let now = clock.now()
        do {
            let returned = try await spend.sweep(at: now)
            if returned > 0 { logger.notice("expired budget holds returned", metadata: ["holds": "\(returned)"]) }
            try await userSlots.sweepSlots(at: now)
            try await keySlots.sweepSlots(at: now)
        } catch {
            logger.warning("hold sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
