import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateStore
import SQLKit

extension CatalogAdministration {
    /// Maps a client's name to a catalog model; audited with what it mapped before.
    public func save(_ alias: ModelAlias, by actor: Actor, at now: Date) async throws {
        guard alias.problems.isEmpty else { throw ModelgateError.validationFailed(alias.problems) }
        try await database.transaction { db in
            let catalog = try await CatalogRepository.snapshot(in: db)
            guard catalog.model(alias.modelId) != nil else { throw ModelgateError.validationFailed([FieldError("modelId", "is not a model of the catalog")]) }
            guard catalog.model(ModelID(alias.name)) == nil else {
                throw ModelgateError.validationFailed([FieldError("name", "is a catalog model's own id")])
            }
            let before = catalog.aliases.first { $0.name == alias.name }
            try await ModelAliases.save(alias, at: now, in: db)
            try await AuditLog.record(actor: actor.id, action: .modelAliasSaved, targetType: "model_alias", targetID: alias.name,
                                      before: try before.map { try JSONValue(encoding: $0) }, after: try JSONValue(encoding: alias), at: now, in: db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }

    public func removeAlias(_ name: String, by actor: Actor, at now: Date) async throws {
        try await database.transaction { db in
            let before = try await CatalogRepository.snapshot(in: db).aliases.first { $0.name == name }
            guard let before, try await ModelAliases.remove(name, in: db) else { throw ModelgateError.notFound(what: "model alias", id: name) }
            try await AuditLog.record(actor: actor.id, action: .modelAliasRemoved, targetType: "model_alias", targetID: name,
                                      before: try JSONValue(encoding: before), after: nil, at: now, in: db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }
}

extension AdminService {
    func save(_ alias: ModelAlias, by actor: Actor) async throws {
        try await administration.save(alias, by: actor, at: clock.now())
        try await cache.refresh()
    }

    func removeAlias(_ name: String, by actor: Actor) async throws {
        try await administration.removeAlias(name, by: actor, at: clock.now())
        try await cache.refresh()
    }
}

/// The admin page's alias form: a name, its model and how it matches (`exact` or `prefix`).
struct AliasForm: Decodable {
    let name: String
    let modelId: String?
    let match: String?
}

/// `/api/admin/model-aliases`: the names clients send, mapped to catalog models.
struct ModelAliasRoutes: Sendable {
    struct Body: Decodable {
        let modelId: ModelID
        let match: ModelAlias.Match?
    }

    let admin: AdminService
    let maxBodyBytes: Int

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("model-aliases", use: list)
        group.put("model-aliases/:name", use: save)
        group.delete("model-aliases/:name", use: remove)
    }

    @Sendable func list(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<ModelAlias>> {
        JSONBody(DataList(data: admin.cache.catalog.aliases))
    }

    @Sendable func save(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ModelAlias> {
        let body = try await request.decodeJSON(Body.self, limit: maxBodyBytes)
        let alias = ModelAlias(name: try context.parameters.require("name"), modelId: body.modelId, match: body.match ?? .exact)
        try await admin.save(alias, by: try context.actor())
        return JSONBody(alias)
    }

    @Sendable func remove(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await admin.removeAlias(try context.parameters.require("name"), by: try context.actor())
        return Response(status: .noContent)
    }
}
