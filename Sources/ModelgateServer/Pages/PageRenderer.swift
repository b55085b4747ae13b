import Foundation
import Hummingbird
import ModelgateBilling
import ModelgateCore
import Mustache
import NIOCore

/// Renders the server-side pages from the bundled Mustache templates.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    public init() async throws {
        guard let directory = Bundle.module.resourceURL?.appendingPathComponent("templates").path else {
            throw HTTPError(.internalServerError, message: "page templates are missing from the bundle")
        }
        library = try await MustacheLibrary(directory: directory)
    }

    static var staticDirectory: String {
        Bundle.module.resourceURL?.appendingPathComponent("static").path ?? "static"
    }

    func render(_ template: String, _ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(object, withTemplate: template) ?? "template \(template) is missing"
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                      .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// A form body (`application/x-www-form-urlencoded`) as the pages post it.
struct PageForm {
    let fields: [String: String]
    private let pairs: [(String, String)]

    init(_ request: Request, limit: Int) async throws {
        let text = String(buffer: try await request.body.collect(upTo: limit))
        fields = FormEncoding.decode(text)
        pairs = text.split(separator: "&").map { FormEncoding.decode(String($0)).first ?? ("", "") }
    }

    subscript(_ key: String) -> String? { fields[key] }

    /// Every value of a repeated field (checkboxes), in order.
    func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }
}

/// The CSRF rules shared by every page: a cookie session must send its token in `_csrf`.
struct PageSession {
    let tokens: TokenAuthority
    let maxBodyBytes: Int

    func csrf(_ context: AppRequestContext) -> String {
        context.sessionToken.map(tokens.csrfToken(forSession:)) ?? ""
    }

    func verifiedForm(_ request: Request, _ context: AppRequestContext) async throws -> PageForm {
        let form = try await PageForm(request, limit: maxBodyBytes)
        if let session = context.sessionToken, !tokens.isValidCSRFToken(form["_csrf"], forSession: session) {
            throw ModelgateError.forbidden(reason: "the form's CSRF token is missing or stale; reload the page and try again")
        }
        return form
    }
}
