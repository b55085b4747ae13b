import Foundation
import Hummingbird
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
import NIOCore
import Testing

/// The series of a Prometheus text exposition: `name{labels}` → value.
public func series(_ exposition: String) -> [String: Double] {
    var values: [String: Double] = [:]
    for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        values[String(line[..<space])] = value
    }
    return values
}

/// Runs a program without blocking a cooperative thread; its exit code and output (stdout and
/// stderr together). `posix_spawn`, not Foundation's `Process`: on Linux `Process.run` over-reads
/// the entries of /proc/self/fd and now and then crashes the whole test run when many descriptors
/// are open, as under the concurrency tests (swift-corelibs-foundation PR #5472, after Swift 6.3.1).
public func runProgram(_ path: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).log")
    defer { try? FileManager.default.removeItem(at: log) }
    let output = open(log.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard output >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, output, 1)
    posix_spawn_file_actions_adddup2(&actions, output, 2)
    closeInheritedDescriptors(&actions)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    var pid = pid_t()
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
    argv.forEach { free($0) }
    posix_spawn_file_actions_destroy(&actions)
    close(output)
    guard spawned == 0 else { throw POSIXError(.init(rawValue: spawned) ?? .EIO) }
    let child = pid
    // The wait blocks, so it gets a thread of its own: on Linux Swift's tasks run on dispatch's
    // global queues, and waits parked there stalled every test for seconds.
    let status: Int32 = await withCheckedContinuation { continuation in
        Thread {
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) < 0, errno == EINTR {}
            // WIFEXITED / WEXITSTATUS, else 128 + the signal, as a shell reports it.
            continuation.resume(returning: raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f))
        }.start()
    }
    return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}

/// The child gets only its standard streams. Sockets of the test process are not all close-on-exec,
/// and a child holding one keeps a connection open after the test closed it (a peer never sees it
/// end). glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+) is not in Swift's Glibc module,
/// so it is looked up; without it every descriptor open now is closed one by one.
private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        return
    }
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
    for descriptor in open where descriptor > 2 { posix_spawn_file_actions_addclose(&actions, descriptor) }
}

public enum Promtool {
    public static var installed: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/promtool")
        }
    }

    public static var available: Bool { installed || ExternalTools.required }
}
