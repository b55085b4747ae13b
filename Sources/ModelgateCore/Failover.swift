import Foundation

/// A model that answers for another when that one's provider fails before the first token.
public struct StandIn: Sendable, Equatable, Codable {
    public let modelId: ModelID
    /// The admin allows this stand-in although its tier is higher than the model it stands in for.
    public let allowHigherTier: Bool

    public init(modelId: ModelID, allowHigherTier: Bool = false) {
        self.modelId = modelId
        self.allowHigherTier = allowHigherTier
    }

    enum CodingKeys: String, CodingKey { case modelId, allowHigherTier }

    /// `allowHigherTier` may be left out (false).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        modelId = try container.decode(ModelID.self, forKey: .modelId)
        allowHigherTier = try container.decodeIfPresent(Bool.self, forKey: .allowHigherTier) ?? false
    }
}

/// The rules for a model's ordered stand-ins, checked against the catalog; every failure is reported
/// at once, each naming its entry.
public enum FailoverRules {
    /// The problems of giving `model` the stand-ins `standIns`, with `groups` the other models' stand-ins.
    public static func problems(of standIns: [StandIn], for model: ModelID, in catalog: CatalogSnapshot,
                                groups: [ModelID: [StandIn]]) -> [FieldError] {
        guard let standingFor = catalog.model(model) else { return [FieldError("modelId", "is not in the catalog")] }
        var errors: [FieldError] = []
        var seen: Set<ModelID> = []
        for (index, standIn) in standIns.enumerated() {
            let field = "standIns.\(index).modelId"
            guard let candidate = catalog.model(standIn.modelId) else {
                errors.append(FieldError(field, "'\(standIn.modelId)' is not in the catalog"))
                continue
            }
            if candidate.id == model { errors.append(FieldError(field, "a model cannot stand in for itself")) }
            if !seen.insert(candidate.id).inserted { errors.append(FieldError(field, "'\(candidate.id)' is listed twice")) }
            if !candidate.enabled { errors.append(FieldError(field, "'\(candidate.id)' is disabled")) }
            // Embeddings never fail over (another model's vectors live in another space), and a chat
            // message cannot go to an embedding model.
            if candidate.kind != .chat || standingFor.kind != .chat { errors.append(FieldError(field, "only chat models stand in for chat models")) }
            if candidate.tier == .premium, standingFor.tier == .free, !standIn.allowHigherTier {
                errors.append(FieldError(field, "'\(candidate.id)' is premium and \(model) is free: mark allowHigherTier to allow it"))
            }
        }
        var proposed = groups
        proposed[model] = standIns.filter { $0.modelId != model }  // a model naming itself is reported above
        if let cycle = cycle(in: proposed, from: model) {
            errors.append(FieldError("standIns", "would make a cycle: \(cycle.map(\.rawValue).joined(separator: " → "))"))
        }
        return errors
    }

    /// A path from `start` back to itself through the groups, if there is one.
    static func cycle(in groups: [ModelID: [StandIn]], from start: ModelID) -> [ModelID]? {
        var path: [ModelID] = [start]
        var visited: Set<ModelID> = []
        func walk(_ model: ModelID) -> Bool {
            for next in groups[model]?.map(\.modelId) ?? [] {
                if next == start { path.append(next); return true }
                guard visited.insert(next).inserted else { continue }
                path.append(next)
                if walk(next) { return true }
                path.removeLast()
            }
            return false
        }
        return walk(start) ? path : nil
    }
}
