import Foundation

/// A name clients send for a model (Claude Code's dated `claude-…` ids, Codex's own), mapped by an
/// admin to a catalog model: the whole name, or every name that starts with it.
public struct ModelAlias: Sendable, Equatable, Codable {
    public enum Match: String, Sendable, Codable {
        case exact, prefix
    }

    public let name: String
    public let modelId: ModelID
    public let match: Match

    public init(name: String, modelId: ModelID, match: Match) {
        self.name = name
        self.modelId = modelId
        self.match = match
    }

    public var problems: [FieldError] {
        let allowed = !name.isEmpty && name.count <= 128 && name.allSatisfy { $0.isASCII && !$0.isWhitespace && $0 != "/" }
        return allowed ? [] : [FieldError("name", "must be 1–128 characters without spaces or '/'")]
    }
}

extension CatalogSnapshot {
    /// The catalog model a client's name means: the model itself, else an exact alias, else the
    /// longest prefix alias; `nil` when nothing maps it (refused naming it, never guessed).
    public func resolve(_ name: String) -> ModelID? {
        if model(ModelID(name)) != nil { return ModelID(name) }
        if let exact = aliases.first(where: { $0.match == .exact && $0.name == name }) { return exact.modelId }
        return aliases.filter { $0.match == .prefix && name.hasPrefix($0.name) }.max { $0.name.count < $1.name.count }?.modelId
    }
}
