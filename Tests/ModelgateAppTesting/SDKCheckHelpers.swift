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

/// Suites that need a tool from outside Swift (Python with the SDKs, Chromium, promtool) skip, and
/// say so, under a plain `swift test`; under `scripts/test` (which sets
/// `MODELGATE_TEST_REQUIRE_TOOLS`) they run, and a missing tool fails them.
public enum ExternalTools {
    public static var required: Bool { ProcessInfo.processInfo.environment["MODELGATE_TEST_REQUIRE_TOOLS"] == "1" }
}

public struct MissingTool: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "\(name) is missing: scripts/test installs it" }
}

/// The official Python SDKs, in the venv `scripts/test` makes, against our fakes and against Modelgate.
public enum PythonSDK {
    public static var python: String? { ProcessInfo.processInfo.environment["MODELGATE_TEST_PYTHON"] }
    public static var available: Bool { python != nil || ExternalTools.required }

    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs a script of the repository (the SDK checks by default) without blocking a cooperative
    /// thread (the server under test needs them); returns its exit code and output.
    public static func run(_ arguments: [String], script: String = "scripts/sdk_checks.py") async throws -> (status: Int32, output: String) {
        guard let python else { throw MissingTool(name: "MODELGATE_TEST_PYTHON") }
        return try await runProgram(python, [repository.appendingPathComponent(script).path] + arguments)
    }
}
