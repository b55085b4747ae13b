import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import Testing

/// Another local user reading the development signing secret could mint any token: the file is
/// created owner-only, never replaced, and refused once others can read it.
@Suite(.timeLimit(.minutes(5))) struct DevelopmentSecretTests {
    @Test func theSecretFileIsOwnerOnlyAndRefusedWhenOthersCanReadIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("modelgate-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("modelgate.sqlite").path
        let file = database + ".jwt-secret"
        let configuration = ServerConfiguration(databaseURL: .sqliteFile(path: database))
        var warnings: [String] = []

        _ = try configuration.resolveJWTSecret { warnings.append($0) }
        let mode = try #require(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber).intValue
        #expect(mode == 0o600 && warnings.count == 1)
        let stored = try String(contentsOfFile: file, encoding: .utf8)
        // A restart reuses it, silently.
        _ = try configuration.resolveJWTSecret { warnings.append($0) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == stored && warnings.count == 1)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        #expect(throws: ConfigurationError.self) { try configuration.resolveJWTSecret { _ in } }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == stored)
    }
}
