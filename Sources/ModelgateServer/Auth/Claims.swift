import JWTKit
import ModelgateCore
import ModelgateHTTP

/// A token in the shape Supabase Auth issues, so an app on Supabase can point its tokens here.
public struct SupabaseClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var email: String?
    /// `authenticated` or `service_role`.
    public var role: String
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim?
    public var aud: AudienceClaim?
    public var iss: IssuerClaim?
    /// Supabase's server-set metadata; Modelgate reads its own admin claim from it.
    public var appMetadata: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case sub, email, role, exp, iat, aud, iss
        case appMetadata = "app_metadata"
    }

    public init(
        sub: String, email: String?, role: String = "authenticated", exp: ExpirationClaim, iat: IssuedAtClaim?,
        aud: AudienceClaim? = nil, iss: IssuerClaim? = nil, appMetadata: [String: JSONValue]?
    ) {
        self.sub = SubjectClaim(value: sub)
        self.email = email
        self.role = role
        self.exp = exp
        self.iat = iat
        self.aud = aud
        self.iss = iss
        self.appMetadata = appMetadata
    }

    /// The signature is JWTKit's to check; expiry, audience and issuer are checked by
    /// `TokenAuthority` against the app's clock and settings, so time is injected like everywhere else.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// Whether `app_metadata.<claim>` says `admin`.
    func claimsAdmin(_ claim: String) -> Bool { appMetadata?[claim]?.stringValue == "admin" }
}
