import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

extension CatalogAdministration {
    /// Replaces `model`'s stand-ins after checking them against the catalog and the other groups; audited.
    public func setStandIns(_ standIns: [StandIn], of model: ModelID, by actor: Actor, at now: Date) async throws {
        try await database.transaction { db in
            let catalog = try await CatalogRepository.snapshot(in: db)
            let problems = FailoverRules.problems(of: standIns, for: model, in: catalog, groups: catalog.standIns)
            guard problems.isEmpty else {
                if catalog.model(model) == nil { throw ModelgateError.notFound(what: "model", id: model.rawValue) }
                throw ModelgateError.validationFailed(problems)
            }
            let before = catalog.standIns[model] ?? []
            try await StandIns.replace(model, with: standIns, in: db)
            try await AuditLog.record(actor: actor.id, action: .modelFailoverChanged, targetType: "model", targetID: model.rawValue,
                                      before: try JSONValue(encoding: before), after: try JSONValue(encoding: standIns), at: now, in: db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }
}
