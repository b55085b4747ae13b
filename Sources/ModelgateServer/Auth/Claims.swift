import JWTKit
import ModelgateCore

/// A token in the shape Supabase Auth issues, so an app on Supabase can point its tokens here.
public struct SupabaseClaims: JWTPayload, Equatable {
    public struct AppMetadata: Codable, Sendable, Equatable {
        public var role: String?
        public init(role: String?) { self.role = role }
    }

    public var sub: SubjectClaim
    public var email: String?
    /// `authenticated` or `service_role`.
    public var role: String
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim?
    public var appMetadata: AppMetadata?

    enum CodingKeys: String, CodingKey {
        case sub, email, role, exp, iat
        case appMetadata = "app_metadata"
    }

    public init(sub: String, email: String?, role: String = "authenticated", exp: ExpirationClaim, iat: IssuedAtClaim?, appMetadata: AppMetadata?) {
        self.sub = SubjectClaim(value: sub)
        self.email = email
        self.role = role
        self.exp = exp
        self.iat = iat
        self.appMetadata = appMetadata
    }

    /// The signature is JWTKit's to check; expiry is checked by `TokenAuthority` against the app's
    /// clock, so time is injected like everywhere else.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    public var claimsAdmin: Bool { appMetadata?.role == "admin" }
}
