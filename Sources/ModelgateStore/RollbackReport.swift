/// What a rollback step changes, line by line: the dry run prints it, the real run returns the
/// same lines for what it did.
public struct RollbackReport: Sendable, Equatable {
    public var lines: [String]

    public init(lines: [String]) { self.lines = lines }
}
