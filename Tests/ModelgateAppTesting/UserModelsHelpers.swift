import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import Testing

extension TestApp {
    /// Charges one message as the chat path will.
    public func admit(_ user: UserID, persona: PersonaID = "career", explicit: ModelID? = nil) async throws -> Admission {
        let profile = try await services.profiles.findOrCreate(user, email: nil, at: clock.now())
        return try await services.access.admit(profile, persona: persona, explicit: explicit)
    }
}
