import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct OpenAPITests {
    /// `METHOD /path/{param}` for every operation the spec lists.
    static func specRoutes(_ yaml: String) -> Set<String> {
        var routes: Set<String> = []
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            if inPaths, let first = line.first, first != " " { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "patch", "delete"].contains(method) { routes.insert("\(method.uppercased()) \(path)") }
            }
        }
        return routes
    }

    @Test func theSpecListsExactlyTheRoutesTheRouterHas() async throws {
        let routerRoutes = Set(try await TestApp.routerRoutes().map { route in
            let path = route.path.split(separator: "/").map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }.joined(separator: "/")
            return "\(route.method.rawValue) /\(path)"
        })
        let spec = Self.specRoutes(OpenAPIDocument.yaml)
        #expect(spec.count > 5)
        #expect(routerRoutes.subtracting(spec).sorted() == [], "routes missing from openapi.yaml")
        #expect(spec.subtracting(routerRoutes).sorted() == [], "routes in openapi.yaml that the router lacks")
    }

    @Test func theSpecIsServedAndIsTheRepositorysFile() async throws {
        try await TestApp.run { _, client in
            let reply = try await client.call(.get, "/openapi.yaml", token: nil)
            #expect(reply.status == .ok)
            let served = reply.json.stringValue ?? ""
            let file = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/ModelgateServerTests/OpenAPITests.swift", with: "openapi.yaml"), encoding: .utf8)
            #expect(served == file)
        }
    }
}
