import Foundation
import Hummingbird
import ModelgateCore
import Mustache
import NIOCore

/// Renders the server-side pages from the bundled Mustache templates.
public struct PageRenderer: Sendable {
    public let library: MustacheLibrary

    public init() async throws {
        HTMLEscaping.register()
        library = try await MustacheLibrary(directory: Self.templateDirectory)
    }

    public static var templateDirectory: String {
        Bundle.module.resourceURL?.appendingPathComponent("templates").path ?? "templates"
    }

    public static var staticDirectory: String {
        Bundle.module.resourceURL?.appendingPathComponent("static").path ?? "static"
    }

    public func render(_ template: String, _ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                      .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"],
            body: .init(byteBuffer: ByteBuffer(string: html(template, object))))
    }

    public func html(_ template: String, _ object: Any) -> String {
        library.render(object, withTemplate: template) ?? "template \(template) is missing"
    }
}

/// The form bodies (`application/x-www-form-urlencoded`) the pages post, read with Hummingbird's
/// maintained decoder into a typed struct per form. Anything it cannot read is a 400, never a trap.
public enum PageForm {
    private static let decoder = URLEncodedFormDecoder()

    /// The body as text, refused unless it is UTF-8 made of `name=value` fields, as browsers send
    /// forms (a nameless or empty field is never sent by a page, so it is malformed here).
    public static func text(of body: ByteBuffer) throws -> String {
        guard let text = String(validating: body.readableBytesView, as: UTF8.self) else {
            throw ModelgateError.malformedForm(reason: "the body is not UTF-8")
        }
        guard !text.isEmpty else { return text }
        for field in text.split(separator: "&", omittingEmptySubsequences: false) {
            guard let equals = field.firstIndex(of: "="), equals != field.startIndex else {
                throw ModelgateError.malformedForm(reason: "every field needs a name and '='")
            }
        }
        return text
    }

    public static func decode<Fields: Decodable>(_ type: Fields.Type, from text: String) throws -> Fields {
        do {
            return try decoder.decode(type, from: text)
        } catch let error as URLEncodedFormError {
            throw ModelgateError.malformedForm(reason: reason(error))
        }
    }

    /// What was wrong, in words, quoting at most a short prefix of the offending text.
    private static func reason(_ error: URLEncodedFormError) -> String {
        let quoted = error.value.count > 40 ? "\(error.value.prefix(40))…" : error.value
        return switch error.code {
        case .duplicateKeys: "the field '\(quoted)' is sent twice"
        case .failedToPercentDecode: "'\(quoted)' is not valid percent-encoded UTF-8"
        case .corruptKeyValue, .invalidArrayIndex, .addingToInvalidType, .notSupported: "the field name '\(quoted)' is malformed"
        default: "the body is not a URL-encoded form"
        }
    }
}

/// The `_csrf` field every page form carries.
private struct CSRFField: Decodable {
    public let _csrf: String?
}

/// A form with nothing but its CSRF token (sign out).
public struct EmptyForm: Decodable {}

/// The CSRF rules shared by every page: a cookie session must send its token in `_csrf`.
public struct PageSession: Sendable {
    /// The CSRF token of a session, and whether a token is the session's.
    public let csrfToken: @Sendable (_ session: String) -> String
    public let isValidCSRFToken: @Sendable (_ token: String?, _ session: String) -> Bool
    public let maxBodyBytes: Int

    public init(csrfToken: @escaping @Sendable (String) -> String, isValidCSRFToken: @escaping @Sendable (String?, String) -> Bool, maxBodyBytes: Int) {
        self.csrfToken = csrfToken
        self.isValidCSRFToken = isValidCSRFToken
        self.maxBodyBytes = maxBodyBytes
    }

    public func csrf(_ context: AppRequestContext) -> String {
        context.sessionToken.map(csrfToken) ?? ""
    }

    /// The form's fields, once its CSRF token is checked: a malformed body is a 400, a foreign token a 403.
    public func verifiedForm<Fields: Decodable>(_ type: Fields.Type, _ request: Request, _ context: AppRequestContext) async throws -> Fields {
        let text = try PageForm.text(of: try await request.collectBody(limit: maxBodyBytes))
        let csrf = try PageForm.decode(CSRFField.self, from: text)._csrf
        if let session = context.sessionToken, !isValidCSRFToken(csrf, session) {
            throw ModelgateError.forbidden(reason: "the form's CSRF token is missing or stale; reload the page and try again")
        }
        return try PageForm.decode(type, from: text)
    }
}
