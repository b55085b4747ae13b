import Hummingbird
import ModelgateCore
import ModelgateStore

/// The caller of a request, once authenticated.
public struct Identity: Sendable {
    public let profile: Profile
    public let isAdmin: Bool
    public var user: UserID { profile.id }

    public init(profile: Profile, isAdmin: Bool) {
        self.profile = profile
        self.isAdmin = isAdmin
    }
}

public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// The session token when the caller signed in with the page cookie (pages need it for CSRF).
    public var sessionToken: String?
    /// The API key the caller used, if any.
    public var apiKey: ApiKey?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.sessionToken = nil
    }

    /// The authenticated caller; routes behind `AuthMiddleware` always have one.
    public func requireIdentity() throws(ModelgateError) -> Identity {
        guard let identity else { throw .unauthenticated(reason: "no credentials") }
        return identity
    }
}
