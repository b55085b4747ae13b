import Foundation
import Hummingbird
import ModelgateBilling
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

    init(_ request: Request, limit: Int) async throws {
        fields = FormEncoding.decode(String(buffer: try await request.body.collect(upTo: limit)))
    }

    subscript(_ key: String) -> String? { fields[key] }
}
