import Crypto
import Foundation
import JWTKit
import ModelgateCore
import ModelgateHTTP

/// The HS256 secret tokens are signed with. Kept apart from other strings so it cannot be
/// passed where an API key is expected, and never printed.
public struct JWTSecret: Sendable, CustomStringConvertible {
    public static let minimumBytes = 32
    let value: String

    public init(_ value: String) throws(ConfigurationError) {
        guard value.utf8.count >= Self.minimumBytes else {
            throw ConfigurationError(variable: "MODELGATE_JWT_SECRET", reason: "must be at least \(Self.minimumBytes) bytes long")
        }
        self.value = value
    }

    public var description: String { "<redacted>" }
}

/// What a token must say beyond its signature and expiry.
public struct TokenRules: Sendable {
    /// When set, the token's `aud` must contain it (`MODELGATE_JWT_AUDIENCE`; Supabase: `authenticated`).
    public var audience: String?
    /// When set, the token's `iss` must equal it (`MODELGATE_JWT_ISSUER`; Supabase: `https://<project>.supabase.co/auth/v1`).
    public var issuer: String?
    /// The key of `app_metadata` whose value `admin` makes a Modelgate admin (`MODELGATE_JWT_ADMIN_CLAIM`):
    /// Modelgate's own, so the identity project's other admins are not Modelgate's.
    public var adminClaim = "modelgate_role"

    public init(audience: String? = nil, issuer: String? = nil, adminClaim: String = "modelgate_role") {
        self.audience = audience
        self.issuer = issuer
        self.adminClaim = adminClaim
    }
}

/// Who a verified token says the caller is.
public struct TokenIdentity: Sendable {
    public let user: UserID
    public let email: String?
    public let claimsAdmin: Bool
    public let expiresAt: Date
}

/// Signs and verifies the bearer tokens of users and admins.
public struct TokenAuthority: Sendable {
    private let keys: JWTKeyCollection
    private let clock: any WallClock
    private let rules: TokenRules
    /// Derived from the secret, so CSRF tokens need no storage and die with the session token.
    private let csrfKey: SymmetricKey

    public init(secret: JWTSecret, clock: any WallClock = SystemClock(), rules: TokenRules = .init()) async {
        self.clock = clock
        self.rules = rules
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret.value), digestAlgorithm: .sha256)
        self.keys = keys
        csrfKey = SymmetricKey(data: HMAC<SHA256>.authenticationCode(
            for: Data("modelgate-csrf".utf8), using: SymmetricKey(data: Data(secret.value.utf8))))
    }

    /// The CSRF token of a session: an HMAC of its session token, sent back by pages in a form
    /// field or the `X-CSRF-Token` header.
    public func csrfToken(forSession token: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: csrfKey)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public func isValidCSRFToken(_ candidate: String?, forSession token: String) -> Bool {
        guard let candidate else { return false }
        let expected = csrfToken(forSession: token)
        // Constant time: compare digests of equal length.
        return SHA256.hash(data: Data(candidate.utf8)) == SHA256.hash(data: Data(expected.utf8))
    }

    public func verify(_ token: String) async throws(ModelgateError) -> TokenIdentity {
        let claims: SupabaseClaims
        do {
            claims = try await keys.verify(token, as: SupabaseClaims.self)
        } catch {
            throw .unauthenticated(reason: "the token is malformed or its signature is wrong")
        }
        guard claims.exp.value > clock.now() else { throw .unauthenticated(reason: "the token has expired") }
        if let audience = rules.audience, claims.aud?.value.contains(audience) != true {
            throw .unauthenticated(reason: "the token's aud claim does not name this service")
        }
        if let issuer = rules.issuer, claims.iss?.value != issuer {
            throw .unauthenticated(reason: "the token's iss claim is not the configured issuer")
        }
        guard claims.role == "authenticated" || claims.role == "service_role" else {
            throw .unauthenticated(reason: "the token's role claim is not authenticated")
        }
        guard let user = UserID(claims.sub.value) else {
            throw .unauthenticated(reason: "the token's sub claim is not a UUID")
        }
        return TokenIdentity(user: user, email: claims.email, claimsAdmin: claims.claimsAdmin(rules.adminClaim), expiresAt: claims.exp.value)
    }

    public func issue(user: UserID, email: String?, admin: Bool, ttl: TimeInterval, now: Date) async throws -> String {
        let claims = SupabaseClaims(
            sub: user.description, email: email, exp: ExpirationClaim(value: now.addingTimeInterval(ttl)),
            iat: IssuedAtClaim(value: now), aud: rules.audience.map { AudienceClaim(value: $0) }, iss: rules.issuer.map { IssuerClaim(value: $0) },
            appMetadata: admin ? [rules.adminClaim: .string("admin")] : nil)
        return try await keys.sign(claims)
    }

    /// A stable user id for an email (name-based, from SHA-256), so `modelgate token --email`
    /// names the same user each time.
    public static func userID(forEmail email: String) -> UserID {
        var bytes = Array(SHA256.hash(data: Data(("modelgate:" + email.lowercased()).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let uuid = bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
        return UserID(UUID(uuid: uuid))
    }
}
