import Foundation

/// When to try a provider again: only before the first token, only for rate limits, overloads,
/// 5xx and connection failures.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: TimeInterval
    /// A `retry-after` longer than this is not waited for: the error goes to the user.
    public var maxDelay: TimeInterval

    public init(maxAttempts: Int = 3, baseDelay: TimeInterval = 0.25, maxDelay: TimeInterval = 10) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    func delay(after error: ProviderError, attempt: Int) -> TimeInterval? {
        guard error.isRetryable, attempt < maxAttempts else { return nil }
        if case .rateLimited(let retryAfter?) = error { return (0...maxDelay).contains(retryAfter) ? retryAfter : nil }
        return min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
    }
}

extension RetryPolicy {
    /// `call`, tried again after a failure worth a retry while attempts are left.
    func run<Value>(_ call: () async throws -> Value) async throws -> Value {
        var attempt = 1
        while true {
            do {
                return try await call()
            } catch let error as ProviderError {
                guard let delay = delay(after: error, attempt: attempt) else { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }
}

struct RetryingProvider: ChatProvider {
    let base: any ChatProvider
    let policy: RetryPolicy

    func check(_ request: ProviderRequest) throws(UnsupportedFeature) { try base.check(request) }

    /// Counting is cheap and idempotent: retried like a stream that has delivered nothing.
    func countTokens(_ request: ProviderRequest) async throws -> Int? {
        try await policy.run { try await base.countTokens(request) }
    }

    func stream(_ request: ProviderRequest) -> ProviderStream {
        AsyncThrowingStream { continuation in
            let task = Task {
                var attempt = 1
                while true {
                    var delivered = false
                    do {
                        for try await event in base.stream(request) {
                            delivered = true
                            continuation.yield(event)
                        }
                        continuation.finish()
                        return
                    } catch let error as ProviderError where !delivered {
                        guard let delay = policy.delay(after: error, attempt: attempt) else {
                            continuation.finish(throwing: error)
                            return
                        }
                        attempt += 1
                        do { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) } catch {
                            continuation.finish(throwing: error)
                            return
                        }
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
