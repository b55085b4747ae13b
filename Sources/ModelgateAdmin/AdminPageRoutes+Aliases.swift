import Hummingbird
import ModelgateCore
import ModelgateHTTP

/// The models page's alias forms: map a name clients send to a model, or remove it.
extension AdminPageRoutes {
    func registerAliases(on group: RouterGroup<AppRequestContext>) {
        group.post("model-aliases", use: saveAlias)
        group.post("model-aliases/remove", use: removeAlias)
    }

    @Sendable func saveAlias(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(AliasForm.self, request, context)
        return try await act(request, context) {
            let match = ModelAlias.Match(rawValue: form.match ?? "exact") ?? .exact
            try await admin.save(ModelAlias(name: form.name.trimmingCharacters(in: .whitespaces), modelId: ModelID(form.modelId ?? ""), match: match),
                                 by: try context.actor())
            return "notice=alias-saved"
        }
    }

    @Sendable func removeAlias(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(AliasForm.self, request, context)
        return try await act(request, context) {
            try await admin.removeAlias(form.name, by: try context.actor())
            return "notice=alias-removed"
        }
    }
}
